/**
 * The example Argo CD Application's ignoreDifferences, evaluated the way Argo
 * CD evaluates them (its normalizer: gojq, each expression wrapped in
 * `del(...)`, test/bed/go/gitops) on live objects read back from a real API
 * server, and on the desired objects of a changed spec: what is ignored on the
 * create-only Pods and PVCs is exactly what a change may differ in, and
 * nothing else is touched.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { LABEL_CREATE_ONLY } from '../../lib/render/metadata.js';
import { synthCluster } from '../../lib/synth.js';
import { applyManifests, kubeRequest } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { argoNormalize } from '../support/argocd.js';
import { exampleSpec } from '../support/synth.js';

const app = parse(readFileSync(new URL('../../examples/gitops/argocd-application.yaml', import.meta.url), 'utf8'));
let kube: KubeApiServer;
before(async () => { kube = await startKubeApiServer(); });
after(async () => { await kube?.close(); });

const objectsOf = (yaml: string): any[] => parseAllDocuments(yaml).map((d) => d.toJS());
const key = (o: any) => `${o.kind}/${o.metadata.name}`;

test("the Application's ignoreDifferences hide every change of a create-only Pod or PVC, and only of those", async () => {
  const spec = exampleSpec();
  const output = synthCluster(spec).yaml;
  await applyManifests(kube.client, output, { fieldManager: 'argocd-controller' });
  const desired = objectsOf(output);
  const live = await Promise.all(desired.map(async (o) => {
    const path = o.kind === 'Namespace' ? `/api/v1/namespaces/${o.metadata.name}`
      : `/${o.apiVersion.includes('/') ? `apis/${o.apiVersion}` : `api/${o.apiVersion}`}/namespaces/${o.metadata.namespace}/${plural(o.kind)}/${o.metadata.name}`;
    const res = await kubeRequest(kube.client, 'GET', path);
    assert.equal(res.statusCode, 200, `${key(o)}: ${res.text}`);
    return res.body;
  }));

  const normalizedLive = await argoNormalize(app.spec.ignoreDifferences, live);
  assert.deepEqual(normalizedLive.skippedPatches, [], 'every expression evaluates on every live object');

  // A change in Git that the create-only objects must not be synced to: image, config, resources.
  const changed = exampleSpec();
  changed.kafka = { image: 'apache/kafka:4.4.1' };
  changed.brokerGroups.default.resources = { requests: { cpu: '1', memory: '3Gi' }, limits: { memory: '3Gi' } };
  changed.config['log.retention.hours'] = 24;
  const normalizedDesired = await argoNormalize(app.spec.ignoreDifferences, objectsOf(synthCluster(changed).yaml));
  assert.deepEqual(normalizedDesired.skippedPatches, []);

  const liveByKey = new Map(normalizedLive.objects.map((o) => [key(o), o]));
  let createOnly = 0;
  for (const d of normalizedDesired.objects) {
    const l = liveByKey.get(key(d))!;
    const original = desired.find((o) => key(o) === key(d))!;
    if (original.metadata.labels?.[LABEL_CREATE_ONLY] === 'true') {
      createOnly++;
      // Argo CD compares what is left: nothing of the spec, labels or annotations remains on either side.
      for (const side of [d, l]) {
        assert.equal(side.spec, undefined, `${key(d)} spec ignored`);
        assert.equal(side.metadata.labels, undefined, `${key(d)} labels ignored`);
        assert.equal(side.metadata.annotations, undefined, `${key(d)} annotations ignored`);
      }
    } else {
      assert.deepEqual(d, original.kind === 'ConfigMap' ? objectsOf(synthCluster(changed).yaml).find((o) => key(o) === key(d)) : d,
        `${key(d)} is compared in full`);
      const content = d.spec ?? d.data ?? d.rules ?? d.roleRef;
      assert.ok(content !== undefined || d.kind === 'Namespace' || d.kind === 'ServiceAccount', `${key(d)} keeps its content`);
    }
  }
  assert.equal(createOnly, 6 + 7, 'six Pods and seven PVCs');
});

function plural(kind: string): string {
  return { ConfigMap: 'configmaps', Service: 'services', Pod: 'pods', PersistentVolumeClaim: 'persistentvolumeclaims', PodDisruptionBudget: 'poddisruptionbudgets' }[kind]
    ?? `${kind.toLowerCase()}s`;
}
