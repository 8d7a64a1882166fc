/**
 * Every example, applied the way kustomize-controller applies it (its own
 * fluxcd/pkg/ssa code and options, test/bed/go/gitops), with prune from an
 * inventory, against a real API server: the first install into an empty
 * cluster, a no-op re-apply, an image and config change that leaves Pods and
 * PVCs alone, a removed broker that keeps all its objects, a deleted Pod that
 * comes back. The Kustomization is examples/gitops/flux-kustomization.yaml's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadSpecFile } from '../../lib/spec/load.js';
import { synthCluster } from '../../lib/synth.js';
import { kubeRequest } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { fluxApply, type FluxApplyResult } from '../support/flux.js';

const examplesDir = new URL('../../examples/', import.meta.url).pathname;
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')).sort();
const kustomization = parse(readFileSync(join(examplesDir, 'gitops', 'flux-kustomization.yaml'), 'utf8'));

const REPLICATION_KEYS = [
  'default.replication.factor', 'offsets.topic.replication.factor', 'transaction.state.log.replication.factor',
  'share.coordinator.state.topic.replication.factor', 'min.insync.replicas', 'transaction.state.log.min.isr',
];

let kube: KubeApiServer;
let work: string;
before(async () => {
  kube = await startKubeApiServer();
  work = mkdtempSync(join(tmpdir(), 'kc-flux-'));
});
after(async () => {
  await kube?.close();
  rmSync(work, { recursive: true, force: true });
});

const actions = (result: FluxApplyResult, kinds?: readonly string[]) => Object.fromEntries(result.changeSet
  .filter((c) => !kinds || kinds.includes(c.kind)).map((c) => [`${c.kind}/${c.name}`, c.action]));
const nodeObjects = (yaml: string, node: string) => synthObjectsOf(yaml)
  .filter((o) => o.metadata.name === node || o.metadata.name.startsWith(`${node}-`))
  .map((o) => `${o.kind}/${o.metadata.name}`).sort();
function synthObjectsOf(yaml: string): any[] {
  return yaml.split(/^---\n/m).map((d) => parse(d));
}

for (const file of examples) {
  describe(`examples/${file} under Flux`, () => {
    const spec = loadSpecFile(join(examplesDir, file))[0]!.spec as any;
    const name = spec.name as string;
    const flux = () => ({
      inventoryFile: join(work, `${file}.inventory.json`),
      prune: kustomization.spec.prune as boolean,
      force: kustomization.spec.force as boolean,
      name: kustomization.metadata.name as string,
      namespace: kustomization.metadata.namespace as string,
    });
    const apply = (s: unknown) => fluxApply(kube, synthCluster(s).yaml, flux());
    const get = (path: string) => kubeRequest(kube.client, 'GET', path);
    const ns = spec.namespace as string;
    let uids: Map<string, string>;
    const liveUids = async () => {
      const out = new Map<string, string>();
      for (const kind of ['pods', 'persistentvolumeclaims']) {
        const list = await get(`/api/v1/namespaces/${ns}/${kind}`);
        for (const o of list.body.items) out.set(`${kind}/${o.metadata.name}`, `${o.metadata.uid}@${o.metadata.resourceVersion}`);
      }
      return out;
    };

    it('installs into an empty cluster on the first reconcile (no object needs another of its own stage)', async () => {
      assert.equal((await get(`/api/v1/namespaces/${ns}`)).statusCode, 404, 'the namespace does not exist yet');
      const result = await apply(spec);
      assert.equal(result.error, undefined);
      assert.deepEqual(result.stages.find((s) => s.name === 'definitions')?.entries.map((e) => e.kind), ['Namespace'],
        'the Namespace goes first, with the CRDs');
      assert.ok(Object.values(actions(result)).every((a) => a === 'created'), JSON.stringify(actions(result)));
      uids = await liveUids();
      assert.ok(uids.size > 0);
    });

    it('re-applying the same output changes nothing', async () => {
      const result = await apply(spec);
      const changed = Object.entries(actions(result)).filter(([, a]) => a !== 'unchanged' && a !== 'skipped');
      assert.deepEqual(changed, []);
      assert.deepEqual(await liveUids(), uids);
    });

    it('an image and config change updates the ConfigMaps and leaves every Pod and PVC untouched', async () => {
      const changed = structuredClone(spec);
      changed.kafka = { ...changed.kafka, image: 'apache/kafka:4.4.1' };
      changed.config = { ...changed.config, 'log.retention.hours': 72 };
      const result = await apply(changed);
      const podsAndClaims = actions(result, ['Pod', 'PersistentVolumeClaim']);
      assert.ok(Object.values(podsAndClaims).every((a) => a === 'skipped'), JSON.stringify(podsAndClaims));
      // Every node's ConfigMap; not the cluster document: neither the version nor the node set changed.
      const { [`ConfigMap/${name}-cluster`]: document, ...all } = actions(result, ['ConfigMap']);
      // The nodes' ConfigMaps; others (e.g. Envoy's routes) do not depend on the image or the config.
      const configMaps = Object.fromEntries(Object.entries(all).filter(([k]) => /-(broker|controller)-\d+$/.test(k)));
      assert.equal(document, 'unchanged');
      assert.ok(Object.values(configMaps).length > 0 && Object.values(configMaps).every((a) => a === 'configured'), JSON.stringify(configMaps));
      assert.deepEqual(await liveUids(), uids, 'same Pods and PVCs, not even updated');
      const cm = await get(`/api/v1/namespaces/${ns}/configmaps/${name}-broker-${spec.brokers[0].id}`);
      assert.match(cm.body.data['server.properties'], /^log\.retention\.hours=72$/m);
      const pod = await get(`/api/v1/namespaces/${ns}/pods/${name}-broker-${spec.brokers[0].id}`);
      assert.notEqual(pod.body.spec.containers[0].image, 'apache/kafka:4.4.1');
    });

    it('removing a broker from Git keeps every one of its objects', async () => {
      const removed = spec.brokers.at(-1).id as number;
      const node = `${name}-broker-${removed}`;
      const before = nodeObjects(synthCluster(spec).yaml, node);
      assert.ok(before.includes(`Service/${node}`) && before.includes(`ConfigMap/${node}`) && before.includes(`Pod/${node}`));
      const fewer = structuredClone(spec);
      fewer.brokers = fewer.brokers.filter((b: { id: number }) => b.id !== removed);
      if (fewer.controllers?.brokerIds) fewer.controllers.brokerIds = fewer.controllers.brokerIds.filter((id: number) => id !== removed);
      // Fewer brokers: every replication setting (Kafka's defaults included) must fit them.
      fewer.config = { ...fewer.config };
      for (const key of REPLICATION_KEYS) fewer.config[key] = Math.min(fewer.config[key] ?? 3, fewer.brokers.length);
      const result = await apply(fewer);
      assert.deepEqual(result.pruned.filter((c) => c.action === 'deleted').map((c) => `${c.kind}/${c.name}`), []);
      for (const key of before) {
        const [kind, objectName] = key.split('/') as [string, string];
        const path = {
          Pod: 'api/v1', ConfigMap: 'api/v1', Service: 'api/v1', PersistentVolumeClaim: 'api/v1', Certificate: 'apis/cert-manager.io/v1',
        }[kind] + `/namespaces/${ns}/${kind.toLowerCase()}s`;
        const live = await get(`/${path}/${objectName}`);
        assert.equal(live.statusCode, 200, `${key} is still there`);
        assert.equal(live.body.metadata.deletionTimestamp, undefined, `${key} is not being deleted`);
      }
    });

    it('a deleted Pod is created again by the next reconcile', async () => {
      const node = `${name}-broker-${spec.brokers[0].id}`;
      const del = await kubeRequest(kube.client, 'DELETE', `/api/v1/namespaces/${ns}/pods/${node}?gracePeriodSeconds=0`);
      assert.ok(del.statusCode < 300, del.text);
      const result = await apply(spec);
      assert.equal(actions(result, ['Pod'])[`Pod/${node}`], 'created');
      assert.equal((await get(`/api/v1/namespaces/${ns}/pods/${node}`)).statusCode, 200);
    });
  });
}
