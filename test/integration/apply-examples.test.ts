/**
 * Every example's full output, applied to a real kube-apiserver: created with
 * zero errors (strict field validation), and a second apply is a no-op.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { loadSpecFile } from '../../lib/spec/load.js';
import { synthClusters } from '../../lib/synth.js';
import { applyManifests } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';

const examplesDir = new URL('../../examples/', import.meta.url).pathname;
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')).sort();
let kube: KubeApiServer;

before(async () => { kube = await startKubeApiServer(); });
after(async () => { await kube?.close(); });

test('there are examples to apply', () => assert.ok(examples.length >= 2, examples.join()));

for (const file of examples) {
  test(`examples/${file}: output applies cleanly, and applying it again changes nothing`, async () => {
    const clusters = synthClusters(loadSpecFile(examplesDir + file));
    for (const cluster of clusters) {
      // The namespace is the GitOps tool's (Argo CD CreateNamespace=true) or the platform's.
      await applyManifests(kube.client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: cluster.namespace } }]);
      const first = await applyManifests(kube.client, cluster.yaml, { fieldManager: 'kafka-cdk8s' });
      assert.equal(first.length, cluster.objectCount);
      assert.deepEqual(first.filter((r) => r.action !== 'created').map((r) => `${r.kind}/${r.name}`), []);
      const second = await applyManifests(kube.client, cluster.yaml, { fieldManager: 'kafka-cdk8s' });
      assert.deepEqual(second.filter((r) => r.action !== 'unchanged').map((r) => `${r.kind}/${r.name} ${r.action}`), []);
    }
  });
}
