/**
 * The GitOps stand-ins of the test bed behave as the real controllers do, on generic
 * objects (ConfigMaps, Services, a ServiceAccount and a Pod), against a real
 * kube-apiserver:
 * - flux-apply (test/support/flux.ts): kustomize-controller v1.9.4's staged server-side
 *   apply + inventory + prune, with fluxcd/pkg/ssa;
 * - argocd-normalize (test/support/argocd.ts): Argo CD v3.5.1's ignoreDifferences
 *   normalizer (gojq, `del(expr)`).
 * The Kafka output itself is checked elsewhere with these tools.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyManifests, kubeRequest } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { fluxApply, FluxApplyError, readFluxInventory, type FluxApplyResult } from '../support/flux.js';
import { argoNormalize, ArgoNormalizeError } from '../support/argocd.js';
import { ONCE } from '../support/once.js';

const FLUX = 'kustomize.toolkit.fluxcd.io';
const IF_NOT_PRESENT = { [`${FLUX}/ssa`]: 'IfNotPresent' };
const PRUNE_DISABLED = { [`${FLUX}/prune`]: 'disabled' };
const KUSTOMIZATION = { name: 'apps', namespace: 'flux-system' };

function configMap(namespace: string, name: string, data: Record<string, string>, annotations?: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...(annotations ? { annotations } : {}) }, data };
}

function service(namespace: string, name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: 'client', port: 9092, targetPort: 9092 }] },
  };
}

function namespaceObject(name: string): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** subject -> action */
function actions(entries: { subject: string; action: string }[]): Record<string, string> {
  return Object.fromEntries(entries.map((e) => [e.subject, e.action]));
}

describe('flux-apply: kustomize-controller apply and prune', ONCE, () => {
  let kube: KubeApiServer;
  let dir: string;
  let n = 0;
  const inventory = (): string => join(dir, `inventory-${++n}.json`);
  const get = async (path: string) => await kubeRequest(kube.client, 'GET', path);
  const cmPath = (ns: string, name: string): string => `/api/v1/namespaces/${ns}/configmaps/${name}`;
  const apply = async (objects: object[], inv: string, opts: { prune?: boolean } = {}): Promise<FluxApplyResult> =>
    await fluxApply(kube, objects, { inventoryFile: inv, ...KUSTOMIZATION, ...opts });
  const createNamespace = async (name: string): Promise<void> => {
    await applyManifests(kube.client, [namespaceObject(name)], { fieldManager: 'platform' });
  };

  before(async () => {
    // Nothing here needs the controller-manager (no garbage collection, no namespace
    // deletion); the bare apiserver still runs the ServiceAccount admission plugin.
    kube = await startKubeApiServer({ installCrds: false, controllerManager: false });
    dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-gitops-'));
  });
  after(async () => {
    await kube?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('first apply creates, re-apply is unchanged, a change is configured, drift is reverted', async () => {
    await createNamespace('gt-basic');
    const inv = inventory();
    const v1 = [configMap('gt-basic', 'cfg', { a: '1' }), service('gt-basic', 'svc')];

    const first = await apply(v1, inv);
    assert.deepEqual(actions(first.changeSet), { 'ConfigMap/gt-basic/cfg': 'created', 'Service/gt-basic/svc': 'created' });
    assert.deepEqual(first.changeLog.split('\n').sort(), ['ConfigMap/gt-basic/cfg created', 'Service/gt-basic/svc created']);
    assert.deepEqual(
      readFluxInventory(inv)?.entries.map((e) => `${e.id} ${e.v}`).sort(),
      ['gt-basic_cfg__ConfigMap v1', 'gt-basic_svc__Service v1'],
    );
    const live = (await get(cmPath('gt-basic', 'cfg'))).body;
    assert.equal(live.metadata.labels[`${FLUX}/name`], 'apps');
    assert.equal(live.metadata.labels[`${FLUX}/namespace`], 'flux-system');
    assert.deepEqual(
      live.metadata.managedFields.map((m: any) => `${m.manager} ${m.operation}`),
      ['kustomize-controller Apply'],
    );

    const second = await apply(v1, inv);
    assert.deepEqual(actions(second.changeSet), { 'ConfigMap/gt-basic/cfg': 'unchanged', 'Service/gt-basic/svc': 'unchanged' });
    assert.equal(second.changeLog, '');

    const v2 = [configMap('gt-basic', 'cfg', { a: '2' }), service('gt-basic', 'svc')];
    const third = await apply(v2, inv);
    assert.deepEqual(actions(third.changeSet), { 'ConfigMap/gt-basic/cfg': 'configured', 'Service/gt-basic/svc': 'unchanged' });
    assert.equal((await get(cmPath('gt-basic', 'cfg'))).body.data.a, '2');

    // A hand edit (kubectl edit = Update by manager "kubectl") is reverted, and the
    // kubectl managed-fields entry is removed by the cleanup options.
    const edit = await kubeRequest(
      kube.client,
      'PATCH',
      `${cmPath('gt-basic', 'cfg')}?fieldManager=kubectl`,
      { data: { a: 'by-hand' } },
      'application/merge-patch+json',
    );
    assert.equal(edit.statusCode, 200, edit.text);
    const fourth = await apply(v2, inv);
    assert.equal(actions(fourth.changeSet)['ConfigMap/gt-basic/cfg'], 'configured');
    const reverted = (await get(cmPath('gt-basic', 'cfg'))).body;
    assert.equal(reverted.data.a, '2');
    assert.ok(!reverted.metadata.managedFields.some((m: any) => m.manager === 'kubectl'), JSON.stringify(reverted.metadata.managedFields));
  });

  test('ssa: IfNotPresent creates once, later changes are skipped; a deleted object is created again; it is still pruned', async () => {
    await createNamespace('gt-ifnp');
    const inv = inventory();
    const set = (v: string, withOnce = true): object[] => [
      ...(withOnce ? [configMap('gt-ifnp', 'once', { v }, IF_NOT_PRESENT)] : []),
      configMap('gt-ifnp', 'normal', { v }),
    ];

    const first = await apply(set('1'), inv);
    assert.deepEqual(actions(first.changeSet), { 'ConfigMap/gt-ifnp/once': 'created', 'ConfigMap/gt-ifnp/normal': 'created' });

    const second = await apply(set('2'), inv);
    assert.deepEqual(actions(second.changeSet), { 'ConfigMap/gt-ifnp/once': 'skipped', 'ConfigMap/gt-ifnp/normal': 'configured' });
    assert.equal(second.changeLog, 'ConfigMap/gt-ifnp/normal configured');
    assert.equal((await get(cmPath('gt-ifnp', 'once'))).body.data.v, '1');
    assert.equal((await get(cmPath('gt-ifnp', 'normal'))).body.data.v, '2');
    // skipped objects stay in the inventory
    assert.ok(readFluxInventory(inv)?.entries.some((e) => e.id === 'gt-ifnp_once__ConfigMap'));

    const del = await kubeRequest(kube.client, 'DELETE', cmPath('gt-ifnp', 'once'));
    assert.equal(del.statusCode, 200, del.text);
    const third = await apply(set('2'), inv);
    assert.equal(actions(third.changeSet)['ConfigMap/gt-ifnp/once'], 'created');
    assert.equal((await get(cmPath('gt-ifnp', 'once'))).body.data.v, '2');

    // IfNotPresent alone does not protect from garbage collection.
    const fourth = await apply(set('2', false), inv);
    assert.deepEqual(fourth.stale, ['gt-ifnp_once__ConfigMap']);
    assert.deepEqual(actions(fourth.pruned), { 'ConfigMap/gt-ifnp/once': 'deleted' });
    assert.equal((await get(cmPath('gt-ifnp', 'once'))).statusCode, 404);
  });

  test('an object removed from the set is pruned unless it carries prune: disabled; prune=false forgets it', async () => {
    await createNamespace('gt-prune');
    const inv = inventory();
    const first = await apply(
      [
        configMap('gt-prune', 'keep', { x: '1' }, PRUNE_DISABLED),
        configMap('gt-prune', 'gone', { x: '1' }),
        configMap('gt-prune', 'stay', { x: '1' }),
      ],
      inv,
    );
    assert.equal(first.changeSet.filter((e) => e.action === 'created').length, 3);

    const second = await apply([configMap('gt-prune', 'stay', { x: '1' })], inv);
    assert.deepEqual([...second.stale].sort(), ['gt-prune_gone__ConfigMap', 'gt-prune_keep__ConfigMap']);
    assert.deepEqual(actions(second.pruned), { 'ConfigMap/gt-prune/gone': 'deleted', 'ConfigMap/gt-prune/keep': 'skipped' });
    assert.equal((await get(cmPath('gt-prune', 'gone'))).statusCode, 404);
    assert.equal((await get(cmPath('gt-prune', 'keep'))).statusCode, 200);
    // A skipped prune is settled: the object leaves the inventory (Flux forgets it).
    assert.deepEqual(readFluxInventory(inv)?.entries.map((e) => e.id), ['gt-prune_stay__ConfigMap']);

    // spec.prune: false: nothing is deleted, and the new inventory no longer lists the
    // removed object, so turning prune back on later does not delete it either.
    const third = await apply([], inv, { prune: false });
    assert.deepEqual(third.stale, ['gt-prune_stay__ConfigMap']);
    assert.deepEqual(third.pruned, []);
    assert.deepEqual(readFluxInventory(inv)?.entries, []);
    const fourth = await apply([], inv, { prune: true });
    assert.deepEqual(fourth.stale, []);
    assert.equal((await get(cmPath('gt-prune', 'stay'))).statusCode, 200);
  });

  test('a Namespace of the set is applied (and waited for) in the first stage, so objects in it apply in the same run', async () => {
    const inv = inventory();
    const r = await apply([configMap('gt-staged', 'cfg', { a: '1' }), service('gt-staged', 'svc'), namespaceObject('gt-staged')], inv);
    assert.deepEqual(
      r.stages.map((s) => `${s.name}: ${s.entries.map((e) => `${e.subject} ${e.action}`).join(', ')}`),
      [
        'definitions: Namespace/gt-staged created',
        'resources: ConfigMap/gt-staged/cfg created, Service/gt-staged/svc created',
      ],
    );
    assert.ok(readFluxInventory(inv)?.entries.some((e) => e.id === '_gt-staged__Namespace'));

    // Without the Namespace (and none in the cluster) the dry-run fails.
    const missing = inventory();
    await assert.rejects(
      fluxApply(kube, [configMap('gt-missing', 'cfg', { a: '1' })], { inventoryFile: missing, ...KUSTOMIZATION }),
      (e: unknown) => {
        assert.ok(e instanceof FluxApplyError);
        assert.match(e.message, /^ConfigMap\/gt-missing\/cfg not found: namespaces "gt-missing" not found/);
        return true;
      },
    );
    assert.equal(existsSync(missing), false);
  });

  test('the input is built as Flux builds a source directory (kustomize: YAML 1.2 strings, duplicates fail, kustomization.yaml honoured)', async () => {
    await createNamespace('gt-src');
    const src = join(dir, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    // Unquoted on/y/yes are strings to kustomize's YAML parser (they would be booleans
    // to a YAML 1.1 parser, and the ConfigMap would be rejected).
    writeFileSync(join(src, 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\n  namespace: gt-src\ndata:\n  enabled: on\n  short: y\n  answer: yes\n');
    writeFileSync(join(src, 'b.yml'), JSON.stringify(service('gt-src', 'svc')));
    writeFileSync(join(src, 'sub', 'c.yaml'), JSON.stringify(configMap('gt-src', 'nested', { a: '1' })));
    writeFileSync(join(src, 'notes.txt'), 'not a manifest');
    const r = await fluxApply(kube, src, { inventoryFile: inventory(), ...KUSTOMIZATION });
    assert.deepEqual(actions(r.changeSet), {
      'ConfigMap/gt-src/flags': 'created',
      'ConfigMap/gt-src/nested': 'created',
      'Service/gt-src/svc': 'created',
    });
    assert.deepEqual((await get(cmPath('gt-src', 'flags'))).body.data, { enabled: 'on', short: 'y', answer: 'yes' });

    const dup = configMap('gt-src', 'dup', { a: '1' });
    await assert.rejects(fluxApply(kube, [dup, dup], { inventoryFile: inventory(), ...KUSTOMIZATION }), (e: unknown) => {
      assert.ok(e instanceof FluxApplyError);
      assert.match(e.message, /^kustomize build failed: .*already registered id/);
      return true;
    });

    const withKustomization = join(dir, 'src-k');
    mkdirSync(withKustomization);
    writeFileSync(join(withKustomization, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: gt-src\nresources: [x.yaml]\n');
    writeFileSync(join(withKustomization, 'x.yaml'), JSON.stringify(configMap('elsewhere', 'listed', { a: '1' })));
    writeFileSync(join(withKustomization, 'y.yaml'), JSON.stringify(configMap('gt-src', 'unlisted', { a: '1' })));
    const k = await fluxApply(kube, withKustomization, { inventoryFile: inventory(), ...KUSTOMIZATION });
    assert.deepEqual(actions(k.changeSet), { 'ConfigMap/gt-src/listed': 'created' });
  });

  test('a Pod naming a ServiceAccount of the same apply fails the dry-run, every time, and nothing of the stage is written (flux2#2772)', async () => {
    await createNamespace('gt-sa');
    const inv = inventory();
    const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'broker', namespace: 'gt-sa' } };
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'broker-0', namespace: 'gt-sa' },
      spec: { serviceAccountName: 'broker', containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] },
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(apply([sa, pod], inv), (e: unknown) => {
        assert.ok(e instanceof FluxApplyError);
        assert.match(e.message, /^Pod\/gt-sa\/broker-0 dry-run failed \(Forbidden\): .*service ?account.*"broker" not found/i);
        return true;
      });
      assert.equal((await get('/api/v1/namespaces/gt-sa/serviceaccounts/broker')).statusCode, 404);
      assert.equal(existsSync(inv), false, 'a failed apply leaves the inventory as it was');
    }

    // Once the ServiceAccount exists (applied by an earlier run), the same set applies.
    const saFirst = await apply([sa], inv);
    assert.deepEqual(actions(saFirst.changeSet), { 'ServiceAccount/gt-sa/broker': 'created' });
    const both = await apply([sa, pod], inv);
    assert.deepEqual(actions(both.changeSet), { 'ServiceAccount/gt-sa/broker': 'unchanged', 'Pod/gt-sa/broker-0': 'created' });
    const again = await apply([sa, pod], inv);
    assert.deepEqual(actions(again.changeSet), { 'ServiceAccount/gt-sa/broker': 'unchanged', 'Pod/gt-sa/broker-0': 'unchanged' });
  });
});

describe('argocd-normalize: Argo CD ignoreDifferences', ONCE, () => {
  const CREATE_ONLY = 'kafka-cdk8s.io/create-only';
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'b-0', namespace: 'kafka', labels: { [CREATE_ONLY]: 'true' }, annotations: { a: '1', b: '2' } },
    spec: { containers: [{ name: 'kafka', image: 'kafka:1', env: [{ name: 'X', value: '1' }] }, { name: 'side', image: 's:1' }] },
  };
  const labelledConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'b-0', namespace: 'kafka', labels: { [CREATE_ONLY]: 'true' }, annotations: { a: '1' } },
    data: { k: 'v' },
  };
  const plainService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'svc', namespace: 'kafka' },
    spec: { ports: [{ port: 9092 }] },
  };
  const statefulSet = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'ss', namespace: 'kafka' }, spec: { replicas: 1 } };
  const objects = [pod, labelledConfigMap, plainService];
  const clone = <T>(o: T): T => structuredClone(o);
  const hasJq = spawnSync('jq', ['--version']).status === 0;

  test('select(): matching objects lose the selected path, the others are unchanged', async () => {
    const expr = `select(.metadata.labels["${CREATE_ONLY}"] == "true") | .spec`;
    const r = await argoNormalize([expr], objects);
    const { spec: _spec, ...podWithoutSpec } = clone(pod);
    assert.deepEqual(r.objects, [podWithoutSpec, labelledConfigMap, plainService]);
    assert.deepEqual(r.skippedPatches, []);
  });

  test('removes exactly the paths del(expr) removes (checked against jq when installed)', async () => {
    const exprs = ['.metadata.annotations.a', '.spec.containers[]?.env', '.data.missing'];
    const r = await argoNormalize(exprs, objects);
    const podExpected = clone(pod) as any;
    delete podExpected.metadata.annotations.a;
    delete podExpected.spec.containers[0].env;
    const cmExpected = clone(labelledConfigMap) as any;
    delete cmExpected.metadata.annotations.a;
    assert.deepEqual(r.objects, [podExpected, cmExpected, plainService]);
    assert.deepEqual(r.skippedPatches, []);
    if (hasJq) {
      for (const [i, o] of objects.entries()) {
        let doc: unknown = o;
        for (const e of exprs) {
          const jq = spawnSync('jq', ['-c', `del(${e})`], { input: JSON.stringify(doc), encoding: 'utf8' });
          assert.equal(jq.status, 0, jq.stderr);
          doc = JSON.parse(jq.stdout);
        }
        assert.deepEqual(r.objects[i], doc, `object ${i} vs jq`);
      }
    }
  });

  test('an expression that errors on an object is skipped for it (Argo CD logs it and goes on)', async () => {
    const r = await argoNormalize(['.spec.containers[].env', '.metadata.annotations.b'], objects);
    const podExpected = clone(pod) as any;
    delete podExpected.spec.containers[0].env;
    delete podExpected.metadata.annotations.b;
    // On the ConfigMap and the Service, `.spec.containers[]` iterates over null: error,
    // patch skipped; the second expression still applies.
    assert.deepEqual(r.objects, [podExpected, labelledConfigMap, plainService]);
    assert.deepEqual(
      r.skippedPatches.map((s) => `${s.object} ${s.subject} ${s.expression}`),
      ['1 ConfigMap/kafka/b-0 .spec.containers[].env', '2 Service/kafka/svc .spec.containers[].env'],
    );
    for (const s of r.skippedPatches) assert.match(s.error, /^JQ patch returned error: /);
  });

  test('ignoreDifferences entries match by group/kind globs and by name', async () => {
    const r = await argoNormalize(
      [
        { group: '', kind: 'Pod', jqPathExpressions: ['.spec'] },
        { group: 'apps', kind: '*', jqPathExpressions: ['.spec.replicas'] },
        { kind: 'ConfigMap', name: 'other', jqPathExpressions: ['.data'] },
        { group: '*', kind: 'Service', jsonPointers: ['/spec/ports', '/spec/missing'] },
      ],
      [...objects, statefulSet],
    );
    const { spec: _spec, ...podWithoutSpec } = clone(pod);
    assert.deepEqual(r.objects, [
      podWithoutSpec,
      labelledConfigMap,
      { ...plainService, spec: {} },
      { ...statefulSet, spec: {} },
    ]);
    // The missing JSON pointer is skipped, and Argo CD would not even log it.
    assert.deepEqual(
      r.skippedPatches.map((s) => `${s.subject} ${s.jsonPointer} logged=${s.logged}`),
      ['Service/kafka/svc /spec/missing logged=false'],
    );
  });

  test('an expression that does not compile fails the whole normalization', async () => {
    await assert.rejects(argoNormalize(['.spec['], objects), (e: unknown) => {
      assert.ok(e instanceof ArgoNormalizeError);
      return true;
    });
  });

  test('an expression selecting a whole object deletes it to null, which fails the normalization', async () => {
    // del(select(...)) on the object itself yields null, which is no Kubernetes object:
    // Argo CD's comparison errors. Expressions must select a path below the object.
    await assert.rejects(argoNormalize([`select(.metadata.labels["${CREATE_ONLY}"] == "true")`], objects), (e: unknown) => {
      assert.ok(e instanceof ArgoNormalizeError);
      assert.match(e.message, /^object 0 \(Pod\/kafka\/b-0\): /);
      return true;
    });
    // ...while on objects it does not select, it changes nothing.
    const r = await argoNormalize([`select(.metadata.labels["${CREATE_ONLY}"] == "true")`], [plainService]);
    assert.deepEqual(r.objects, [plainService]);
  });
});
