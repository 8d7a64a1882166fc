/**
 * Every example's full output, applied to a real kube-apiserver: created with
 * zero errors (strict field validation), and a second apply is a no-op. The
 * output's own Namespace enforces Pod Security "restricted", so the API
 * server's PodSecurity admission checks every Pod.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { loadSpecFile } from '../../lib/spec/load.js';
import { synthClusters } from '../../lib/synth.js';
import { applyManifests, kubeRequest } from '../support/kube-apply.js';
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
      const second = await applyManifests(kube.client, cluster.yaml, { fieldManager: 'kafka-cdk8s' });
      assert.deepEqual(second.filter((r) => r.action !== 'unchanged').map((r) => `${r.kind}/${r.name} ${r.action}`), []);
    }
  });
}
