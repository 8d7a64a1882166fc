/**
 * Every example's full output, applied to a real kube-apiserver: created with
 * zero errors (strict field validation), and a second apply is a no-op. The
 * output's own Namespace enforces Pod Security "restricted", so the API
 * server's PodSecurity admission checks every Pod, and warns about a
 * Deployment whose Pod template would fail it (checked: no warning).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import https from 'node:https';
import { loadSpecFile } from '../../lib/spec/load.js';
import { synthClusters } from '../../lib/synth.js';
import { applyManifests, kubeRequest, toObjects } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';

const examplesDir = new URL('../../examples/', import.meta.url).pathname;
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')).sort();
let kube: KubeApiServer;

before(async () => { kube = await startKubeApiServer(); });
after(async () => { await kube?.close(); });

test('there are examples to apply', () => assert.ok(examples.length >= 2, examples.join()));

for (const file of examples) {
  test(`examples/${file}: output applies cleanly into an empty cluster under Pod Security "restricted", and applying it again changes nothing`, async () => {
    const clusters = synthClusters(loadSpecFile(examplesDir + file));
    for (const cluster of clusters) {
      assert.ok(cluster.createsNamespace, 'the examples create their namespace');
      const first = await applyManifests(kube.client, cluster.yaml, { fieldManager: 'kafka-cdk8s' });
      assert.equal(first.length, cluster.objectCount);
      assert.deepEqual(first.filter((r) => r.action !== 'created').map((r) => `${r.kind}/${r.name}`), []);
      const ns = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${cluster.namespace}`);
      assert.equal(ns.body.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
      // The control: the same namespace refuses a Pod that is not "restricted".
      const loose = await kubeRequest(kube.client, 'POST', `/api/v1/namespaces/${cluster.namespace}/pods?dryRun=All`, {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'loose' }, spec: { containers: [{ name: 'c', image: 'busybox' }] },
      });
      assert.equal(loose.statusCode, 403, loose.text);
      assert.match(loose.body.message, /violates PodSecurity "restricted/);
      // A Deployment is admitted whatever its Pod template; PodSecurity only warns (and its Pods are
      // refused later). Its warnings come back as HTTP headers, on a dry-run create under a new name.
      const deployments = toObjects(cluster.yaml).filter((o) => o.kind === 'Deployment');
      assert.ok(deployments.length > 0, 'the runtime controller');
      for (const d of deployments) {
        const check = await dryRunCreate(`/apis/apps/v1/namespaces/${cluster.namespace}/deployments`, { ...d, metadata: { ...d.metadata, name: `${d.metadata.name}-check` } });
        assert.equal(check.statusCode, 201, check.text);
        assert.deepEqual(check.warnings, [], `Deployment/${d.metadata.name}: its Pod template passes Pod Security "restricted"`);
      }
      const looseDeployment = await dryRunCreate(`/apis/apps/v1/namespaces/${cluster.namespace}/deployments`, {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'loose' },
        spec: { selector: { matchLabels: { app: 'loose' } }, template: { metadata: { labels: { app: 'loose' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
      });
      assert.equal(looseDeployment.statusCode, 201, looseDeployment.text);
      assert.match(looseDeployment.warnings.join('\n'), /would violate PodSecurity \\"restricted/, 'the control: a template that fails does warn');
      const second = await applyManifests(kube.client, cluster.yaml, { fieldManager: 'kafka-cdk8s' });
      assert.deepEqual(second.filter((r) => r.action !== 'unchanged').map((r) => `${r.kind}/${r.name} ${r.action}`), []);
    }
  });
}

/** POST with dryRun=All; returns the status and the server's Warning headers. */
async function dryRunCreate(path: string, body: object): Promise<{ statusCode: number; warnings: string[]; text: string }> {
  const url = new URL(`${path}?dryRun=All&fieldValidation=Strict`, kube.client.getCurrentCluster()!.server);
  const opts: https.RequestOptions = { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/json' } };
  await kube.client.applyToHTTPSOptions(opts);
  return await new Promise((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => {
        // rawHeaders alternates names and values; a server may send several Warning headers.
        const warnings: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() === 'warning') warnings.push(res.rawHeaders[i + 1]!);
        resolve({ statusCode: res.statusCode ?? 0, warnings, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
