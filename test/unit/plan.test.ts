/** kafka-cdk8s plan: what applying a spec change does to each node, said before it is committed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { stringify } from 'yaml';
import { classifyKey, kafkaKey } from '../../lib/config/kafka-keys.js';
import {
  buildPlanReport, formatJson, formatMarkdown, formatText, HIDDEN, isSensitiveKey, type PlanNode, type PlanReport,
} from '../../lib/plan/plan-report.js';
import { quorumChange } from '../../lib/plan/quorum-change.js';
import { ANNOTATION_DESIRED_HASH } from '../../lib/render/metadata.js';
import { ANNOTATION_POD_FIELDS } from '../../lib/render/pod-fields.js';
import { resolveSpec } from '../../lib/spec/resolve.js';
import { synthCluster } from '../../lib/synth.js';

const CLI = new URL('../../bin/kafka-cdk8s.js', import.meta.url).pathname;

/** 3 dedicated controllers (9000..9002) and brokers 0..3 (one can leave with replication factor 3). */
function baseSpec(): any {
  return {
    name: 'demo',
    namespace: 'kafka',
    controllers: { mode: 'dedicated', replicas: 3 },
    brokers: [{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3 }],
    config: { 'default.replication.factor': 3, 'min.insync.replicas': 2, 'auto.create.topics.enable': false, 'log.retention.hours': 168 },
  };
}

const CONTROLLERS = ['demo-controller-9000', 'demo-controller-9001', 'demo-controller-9002'];
const BROKERS = ['demo-broker-0', 'demo-broker-1', 'demo-broker-2', 'demo-broker-3'];

/** Synthesizes `before` as the previous output (optionally tampered with), and plans `after` against it. */
function plan(before: any, after: any, tamper?: (objects: any[]) => void): PlanReport {
  const previous = loadAll(synthCluster(before).yaml) as any[];
  tamper?.(previous);
  return buildPlanReport({ previous, previousSource: 'test', next: synthCluster(after), model: resolveSpec(after) });
}

const actions = (r: PlanReport): Record<string, string> => Object.fromEntries(r.nodes.map((n) => [n.name, n.action]));
const node = (r: PlanReport, name: string): PlanNode => {
  const n = r.nodes.find((x) => x.name === name);
  assert.ok(n, `no node ${name} in the report`);
  return n;
};
const only = (r: PlanReport, action: string, names: readonly string[]): Record<string, string> =>
  Object.fromEntries(r.nodes.map((n) => [n.name, names.includes(n.name) ? action : 'unchanged']));

/** Changes the desired Pod stored in a node's ConfigMap of a parsed output. */
function editStoredPod(objects: any[], name: string, edit: (pod: any) => void): void {
  const cm = objects.find((o) => o?.kind === 'ConfigMap' && o.metadata.name === name);
  assert.ok(cm, `no ConfigMap ${name}`);
  const pod = JSON.parse(cm.data['pod.json']);
  edit(pod);
  cm.data['pod.json'] = JSON.stringify(pod);
}

test('no change: every node unchanged, controllers first then brokers, nothing to restart', () => {
  const r = plan(baseSpec(), baseSpec());
  assert.deepEqual(r.nodes.map((n) => n.name), [...CONTROLLERS, ...BROKERS]);
  assert.deepEqual(actions(r), only(r, 'unchanged', []));
  assert.deepEqual(r.restartOrder, []);
  assert.deepEqual(r.clusterWide, []);
  assert.deepEqual(r.quorum, []);
  assert.deepEqual(r.summary, { restart: 0, live: 0, annotate: 0, create: 0, remove: 0, unchanged: 7 });
  assert.match(formatText(r), /^Plan for cluster kafka\/demo: 7 unchanged\n/);
});

test('a read-only key changed on one broker restarts exactly that broker, naming the key', () => {
  assert.equal(kafkaKey('auto.create.topics.enable')?.dynamic, 'read-only');
  const after = baseSpec();
  after.brokers[1].config = { 'auto.create.topics.enable': true };
  const r = plan(baseSpec(), after);
  assert.deepEqual(actions(r), only(r, 'restart', ['demo-broker-1']));
  assert.deepEqual(node(r, 'demo-broker-1').reasons, [
    { kind: 'read-only-key', key: 'auto.create.topics.enable', text: 'auto.create.topics.enable is read-only' },
  ]);
  assert.deepEqual(r.restartOrder, ['demo-broker-1']);
});

test('a read-only key changed for the cluster restarts every node: brokers by id, then the controllers', () => {
  assert.equal(classifyKey('log.retention.hours'), 'read-only');
  const after = baseSpec();
  after.config['log.retention.hours'] = 72;
  const r = plan(baseSpec(), after);
  assert.deepEqual(actions(r), only(r, 'restart', [...CONTROLLERS, ...BROKERS]));
  for (const n of r.nodes) assert.deepEqual(n.reasons.map((x) => x.text), ['log.retention.hours is read-only'], n.name);
  assert.deepEqual(r.restartOrder, [...BROKERS, ...CONTROLLERS]);
  assert.match(formatText(r), /Restart order \(.*the active controller last\):\n {2}1\. demo-broker-0\n {2}2\. demo-broker-1\n/);
});

test('a per-broker key set on each broker changes live on each broker; the controllers are untouched', () => {
  const key = 'cordoned.log.dirs';
  assert.equal(classifyKey(key), 'per-broker');
  const suite = (id: number) => (id % 2 ? '/var/lib/kafka/data-0/kafka-log' : '*');
  const after = baseSpec();
  for (const b of after.brokers) b.config = { [key]: suite(b.id) };
  const r = plan(baseSpec(), after);
  assert.deepEqual(actions(r), only(r, 'live', BROKERS));
  for (const id of [0, 1, 2, 3]) {
    const to = suite(id);
    assert.deepEqual(node(r, `demo-broker-${id}`).perBroker, [{ key, from: null, to, op: 'SET', value: to }]);
    assert.deepEqual(node(r, `demo-broker-${id}`).clusterWide, []);
  }
  assert.deepEqual(r.clusterWide, []);
  assert.deepEqual(r.restartOrder, []);
});

test('a per-broker key set for the whole cluster: live on brokers, a restart of dedicated controllers', () => {
  const key = 'cordoned.log.dirs';
  const after = baseSpec();
  after.config[key] = '*';
  const r = plan(baseSpec(), after);
  assert.deepEqual(actions(r), Object.fromEntries([...CONTROLLERS.map((c) => [c, 'restart']), ...BROKERS.map((b) => [b, 'live'])]));
  assert.deepEqual(node(r, 'demo-controller-9000').reasons, [
    { kind: 'controller-key', key, text: `${key} is per-broker and this is a dedicated controller` },
  ]);
  assert.deepEqual(r.restartOrder, CONTROLLERS);
});

test('a cluster-wide key: one op on "" and a live change on every node', () => {
  assert.equal(classifyKey('min.insync.replicas'), 'cluster-wide');
  const after = baseSpec();
  after.config['min.insync.replicas'] = 1;
  const r = plan(baseSpec(), after);
  assert.deepEqual(r.clusterWide, [{ key: 'min.insync.replicas', op: 'SET', value: '1' }]);
  assert.deepEqual(actions(r), only(r, 'live', [...CONTROLLERS, ...BROKERS]));
  for (const n of r.nodes) {
    assert.deepEqual(n.clusterWide, [{ key: 'min.insync.replicas', from: '2', to: '1', op: 'SET', value: '1' }], n.name);
    assert.deepEqual(n.perBroker, [], n.name);
  }
  const text = formatText(r);
  assert.equal(text.match(/SET min\.insync\.replicas = 1/g)?.length, 1, 'the "" op is listed once');
  assert.match(text, /Cluster-wide, once, on the default broker resource "":\n {2}SET min\.insync\.replicas = 1\n/);
});

test('a key removed from the spec is set live to Kafka\'s default from the table', () => {
  const dflt = kafkaKey('min.insync.replicas')?.default;
  assert.equal(dflt, '1');
  const after = baseSpec();
  delete after.config['min.insync.replicas'];
  const r = plan(baseSpec(), after);
  assert.deepEqual(r.clusterWide, [{ key: 'min.insync.replicas', op: 'SET', value: dflt }]);
  assert.deepEqual(node(r, 'demo-broker-0').clusterWide, [{ key: 'min.insync.replicas', from: '2', to: null, op: 'SET', value: dflt }]);
  assert.match(formatText(r), /cluster-wide +min\.insync\.replicas: 2 → \(not set\) +\[SET 1 on "", Kafka's default\]/);
});

test('a removed key Kafka has no default for restarts every node, saying so', () => {
  assert.equal(kafkaKey('log.retention.ms')?.default, null);
  const before = baseSpec();
  before.config['log.retention.ms'] = 3_600_000;
  const r = plan(before, baseSpec());
  assert.deepEqual(actions(r), only(r, 'restart', [...CONTROLLERS, ...BROKERS]));
  assert.deepEqual(node(r, 'demo-broker-2').reasons, [
    { kind: 'no-live-default', key: 'log.retention.ms', text: 'log.retention.ms left the spec and Kafka has no default to set live' },
  ]);
  assert.deepEqual(r.clusterWide, []);
});

test('an image change restarts the nodes that run it, naming spec.containers[kafka].image', () => {
  const all = baseSpec();
  all.kafka = { image: 'apache/kafka:4.4.1' };
  const r = plan(baseSpec(), all);
  assert.deepEqual(actions(r), only(r, 'restart', [...CONTROLLERS, ...BROKERS]));
  for (const n of r.nodes) {
    assert.deepEqual(n.reasons, [{ kind: 'pod-field', field: 'spec.containers[kafka].image', text: 'Pod field spec.containers[kafka].image changed' }], n.name);
  }
  const one = baseSpec();
  one.brokers[0].image = 'apache/kafka:4.4.1';
  assert.deepEqual(actions(plan(baseSpec(), one)), only(r, 'restart', ['demo-broker-0']));
});

test('a previous output without Pod field fingerprints restarts a changed node as the controller would', () => {
  const after = baseSpec();
  after.config['min.insync.replicas'] = 1;
  const r = plan(baseSpec(), after, (objects) => editStoredPod(objects, 'demo-broker-0', (pod) => delete pod.metadata.annotations[ANNOTATION_POD_FIELDS]));
  assert.equal(node(r, 'demo-broker-0').action, 'restart');
  assert.deepEqual(node(r, 'demo-broker-0').reasons.map((x) => x.kind), ['pod-unknown']);
  assert.equal(node(r, 'demo-broker-1').action, 'live');
});

test('only the hash differs: annotate', () => {
  const r = plan(baseSpec(), baseSpec(), (objects) => editStoredPod(objects, 'demo-broker-2', (pod) => {
    pod.metadata.annotations[ANNOTATION_DESIRED_HASH] = 'an-older-hash';
  }));
  assert.deepEqual(actions(r), only(r, 'annotate', ['demo-broker-2']));
  assert.deepEqual(r.restartOrder, []);
  assert.match(formatText(r), /demo-broker-2 +broker 2 +annotate +nothing effective changes: only the Pod's hash annotation is updated/);
  assert.match(formatText(r), /: 1 annotation only, 6 unchanged\n/);
});

test('a new broker is created; a removed one is kept until drained', () => {
  const added = baseSpec();
  added.brokers.push({ id: 4 });
  const r = plan(baseSpec(), added);
  assert.deepEqual(r.nodes.map((n) => [n.name, n.action]), [
    ...CONTROLLERS.map((c) => [c, 'unchanged']), ...BROKERS.map((b) => [b, 'unchanged']), ['demo-broker-4', 'create'],
  ]);
  assert.match(formatText(r), /demo-broker-4 +broker 4 +create +new in the spec: its Pod is created/);

  const removed = baseSpec();
  removed.brokers.pop();
  const gone = plan(baseSpec(), removed);
  assert.deepEqual(actions(gone), only(gone, 'remove', ['demo-broker-3']));
  assert.deepEqual(node(gone, 'demo-broker-3').roles, ['broker']);
  assert.match(formatText(gone), /demo-broker-3 +broker 3 +remove +not in the spec any more: its Pod, PVCs, ConfigMap and Service are kept until the controller has drained it/);
  assert.deepEqual(gone.summary, { restart: 0, live: 0, annotate: 0, create: 0, remove: 1, unchanged: 6 });
});

test('a removed node still counts, as in the controller: its kept ConfigMap makes a cluster-wide change non-uniform', () => {
  // The reconciler takes the desired state from every node ConfigMap of the cluster; a removed
  // node's ConfigMap stays (prune-proof) with its old values until the node is drained.
  const after = baseSpec();
  after.brokers.pop();
  after.config['min.insync.replicas'] = 1;
  const r = plan(baseSpec(), after);
  assert.equal(node(r, 'demo-broker-3').action, 'remove');
  assert.deepEqual(node(r, 'demo-broker-0').reasons.map((x) => x.text), ['min.insync.replicas is cluster-wide but nodes want different values']);
  assert.deepEqual(r.clusterWide, []);
  assert.deepEqual(r.restartOrder, ['demo-broker-0', 'demo-broker-1', 'demo-broker-2', ...CONTROLLERS]);
});

test('more controllers: created, with the quorum findings of quorum-change.ts', () => {
  const after = baseSpec();
  after.controllers.replicas = 5;
  const r = plan(baseSpec(), after);
  assert.equal(node(r, 'demo-controller-9003').action, 'create');
  assert.equal(node(r, 'demo-controller-9004').action, 'create');
  assert.deepEqual(r.nodes.slice(0, 5).map((n) => n.name), [...CONTROLLERS, 'demo-controller-9003', 'demo-controller-9004']);
  const expected = quorumChange([9000, 9001, 9002], resolveSpec(after)).notes;
  assert.ok(expected.length > 0);
  assert.deepEqual(r.quorum, expected);
  assert.match(formatText(r), /\nControllers:\n {2}- controllers 9003, 9004 will be created and join the quorum as observers/);
  // Every running node's bootstrap servers change (and the controllers' quorum env), but a
  // running node has no use for them: no restart, the new ones come with its next start.
  for (const name of ['demo-broker-0', ...CONTROLLERS]) {
    assert.equal(node(r, name).action, 'annotate', name);
    assert.deepEqual(node(r, name).reasons, [], name);
  }
});

test('values of sensitive keys are hidden in every format', () => {
  assert.equal(isSensitiveKey('ssl.keystore.password'), true);
  assert.equal(isSensitiveKey('sasl.jaas.config'), true, 'PASSWORD in the key table');
  assert.equal(isSensitiveKey('listener.name.internal.ssl.keystore.key'), true, 'a listener override of a PASSWORD key');
  assert.equal(isSensitiveKey('listener.name.sasl_ssl.plain.sasl.jaas.config'), true, 'a listener and mechanism override');
  assert.equal(isSensitiveKey('my.plugin.Password.file'), true, 'any name saying password');
  assert.equal(isSensitiveKey('ssl.keystore.location'), false);
  assert.equal(isSensitiveKey('num.io.threads'), false);

  // A listener that is not kafka-cdk8s's (whose TLS keys are its own): e.g. a plugin's.
  const password = 'listener.name.client.ssl.keystore.password';
  const pem = 'listener.name.client.ssl.keystore.key';
  const before = baseSpec();
  before.brokers[0].config = { [password]: 'old-secret-1' };
  const after = baseSpec();
  after.brokers[0].config = { [password]: 'new-secret-2', [pem]: 'PEM-secret-3' };
  after.brokers[1].config = { [password]: 'new-secret-4' };
  const r = plan(before, after);
  assert.deepEqual(node(r, 'demo-broker-0').perBroker, [
    { key: pem, from: null, to: HIDDEN, op: 'SET', value: HIDDEN },
    { key: password, from: HIDDEN, to: HIDDEN, op: 'SET', value: HIDDEN },
  ]);
  assert.deepEqual(node(r, 'demo-broker-1').perBroker, [{ key: password, from: null, to: HIDDEN, op: 'SET', value: HIDDEN }]);
  for (const [format, out] of [['text', formatText(r)], ['markdown', formatMarkdown(r)], ['json', formatJson(r)]] as const) {
    assert.doesNotMatch(out, /secret-\d/, format);
    assert.match(out, /\(hidden\)/, format);
  }
});

test('TLS on the internal listener of a running cluster: plan says it is no rolling change; on the external one it is', () => {
  const withTls = baseSpec();
  withTls.tls = { mode: 'provisioned' };
  const r = plan(baseSpec(), withTls);
  assert.deepEqual(actions(r), Object.fromEntries(BROKERS.map((b) => [b, 'restart']).concat(CONTROLLERS.map((c) => [c, 'restart']))));
  assert.equal(r.listeners.length, 1);
  assert.match(r.listeners[0]!, /^listener INTERNAL PLAINTEXT → SSL: not a rolling change\. .*the roll stops at the first broker/);
  assert.match(formatText(r), /\nListeners:\n {2}- listener INTERNAL PLAINTEXT → SSL/);
  assert.match(formatMarkdown(r), /\*\*Listeners\*\*\n\n- listener INTERNAL/);

  const external = baseSpec();
  external.externalAccess = { type: 'envoy', host: 'kafka.example.com' };
  const externalTls = structuredClone(external);
  externalTls.tls = { mode: 'provisioned' };
  externalTls.listeners = { internal: { tls: false } };
  assert.deepEqual(plan(external, externalTls).listeners, ['listener EXTERNAL PLAINTEXT → SSL: every broker restarts, one at a time; clients outside must switch to SSL as their brokers do']);
  assert.deepEqual(plan(baseSpec(), baseSpec()).listeners, []);
});

test('json: the documented shape', () => {
  const after = baseSpec();
  after.config['min.insync.replicas'] = 1;
  after.brokers[1].config = { 'auto.create.topics.enable': true };
  const r = plan(baseSpec(), after);
  const json = JSON.parse(formatJson(r));
  assert.deepEqual(Object.keys(json), ['cluster', 'namespace', 'summary', 'clusterWide', 'restartOrder', 'nodes', 'quorum', 'upgrade', 'listeners']);
  const change = { key: 'min.insync.replicas', from: '2', to: '1', op: 'SET', value: '1' };
  const live = (name: string, id: number, roles: string[]) => ({ name, id, roles, action: 'live', reasons: [], perBroker: [], clusterWide: [change] });
  assert.deepEqual(json, {
    cluster: 'demo',
    namespace: 'kafka',
    summary: { restart: 1, live: 6, annotate: 0, create: 0, remove: 0, unchanged: 0 },
    clusterWide: [{ key: 'min.insync.replicas', op: 'SET', value: '1' }],
    restartOrder: ['demo-broker-1'],
    nodes: [
      live('demo-controller-9000', 9000, ['controller']),
      live('demo-controller-9001', 9001, ['controller']),
      live('demo-controller-9002', 9002, ['controller']),
      live('demo-broker-0', 0, ['broker']),
      {
        name: 'demo-broker-1', id: 1, roles: ['broker'], action: 'restart',
        reasons: [{ kind: 'read-only-key', key: 'auto.create.topics.enable', text: 'auto.create.topics.enable is read-only' }],
        perBroker: [],
        clusterWide: [change],
      },
      live('demo-broker-2', 2, ['broker']),
      live('demo-broker-3', 3, ['broker']),
    ],
    quorum: [],
    upgrade: [],
    listeners: [],
  });
  assert.ok(Array.isArray(JSON.parse(formatJson([r, r]))), 'several clusters: an array');
});

test('markdown: a summary line, a table, details; the same bytes every time', () => {
  const after = () => {
    const s = baseSpec();
    s.config['min.insync.replicas'] = 1;
    s.brokers[1].config = { 'auto.create.topics.enable': true };
    s.brokers.push({ id: 4 });
    return s;
  };
  const md = formatMarkdown(plan(baseSpec(), after()));
  assert.equal(formatMarkdown(plan(baseSpec(), after())), md);
  const lines = md.split('\n');
  assert.equal(lines[0], '### kafka-cdk8s plan: `kafka/demo`');
  assert.equal(lines[2], '**1 node restarts, 6 change live, 1 created**');
  const table = lines.indexOf('| node | action | why |');
  assert.ok(table > 0);
  assert.deepEqual(lines.slice(table, table + 11), [
    '| node | action | why |',
    '| --- | --- | --- |',
    '| `demo-controller-9000` | live | changes `min.insync.replicas` |',
    '| `demo-controller-9001` | live | changes `min.insync.replicas` |',
    '| `demo-controller-9002` | live | changes `min.insync.replicas` |',
    '| `demo-broker-0` | live | changes `min.insync.replicas` |',
    '| `demo-broker-1` | restart | auto.create.topics.enable is read-only |',
    '| `demo-broker-2` | live | changes `min.insync.replicas` |',
    '| `demo-broker-3` | live | changes `min.insync.replicas` |',
    '| `demo-broker-4` | create | new in the spec: its Pod is created |',
    '',
  ]);
  assert.ok(lines.includes('- SET `min.insync.replicas` = `1`'));
  assert.ok(lines.includes('**Restart order** (one node at a time, each when its health gates pass; brokers by id, then controllers, the active controller last): `demo-broker-1`'));
  const details = lines.indexOf('<details><summary>Details per node</summary>');
  assert.ok(details > table);
  assert.ok(lines.indexOf('</details>') > details);
  assert.deepEqual(lines.slice(lines.indexOf('- `demo-broker-1` (broker 1): restart'), lines.indexOf('- `demo-broker-1` (broker 1): restart') + 3), [
    '- `demo-broker-1` (broker 1): restart',
    '  - auto.create.topics.enable is read-only',
    '  - cluster-wide `min.insync.replicas`: `2` → `1` (SET `1` on `""`)',
  ]);
  assert.ok(!lines.some((l) => l.startsWith('- `demo-broker-4`')), 'a created node has no details');
});

test('text: aligned columns; DELETE ops and unchanged nodes read well', () => {
  const report: PlanReport = {
    cluster: 'c',
    namespace: 'ns',
    summary: { restart: 0, live: 1, annotate: 0, create: 0, remove: 0, unchanged: 1 },
    clusterWide: [{ key: 'log.cleaner.threads', op: 'DELETE', value: null }],
    restartOrder: [],
    nodes: [
      { name: 'c-broker-10', id: 10, roles: ['broker'], action: 'unchanged', reasons: [], perBroker: [], clusterWide: [] },
      {
        name: 'c-broker-9', id: 9, roles: ['broker', 'controller'], action: 'live', reasons: [],
        perBroker: [{ key: 'a.b', from: '2', to: '1', op: 'DELETE', value: null }],
        clusterWide: [{ key: 'log.cleaner.threads', from: '3', to: '2', op: 'DELETE', value: null }],
      },
    ],
    quorum: [],
    upgrade: [],
    listeners: [],
  };
  const lines = formatText(report).split('\n');
  assert.equal(lines[0], 'Plan for cluster ns/c: 1 changes live, 1 unchanged');
  assert.ok(lines.includes('  DELETE log.cleaner.threads'));
  const unchanged = lines.find((l) => l.includes('c-broker-10'))!;
  const live = lines.find((l) => l.includes('c-broker-9 '))!;
  assert.equal(unchanged, '  c-broker-10  broker 10            unchanged');
  assert.equal(live.indexOf('live'), unchanged.indexOf('unchanged'), 'the action column is aligned');
  assert.match(live, /per-broker {4}a\.b: 2 → 1 +\[DELETE the override: the value the Pod started with applies\]$/);
  const next = lines[lines.indexOf(live) + 1]!;
  assert.match(next, /^ +cluster-wide {2}log\.cleaner\.threads: 3 → 2 {2}\[DELETE the override on "": the value the Pod started with applies\]$/);
  assert.equal(next.indexOf('['), live.indexOf('['), 'the op column is aligned');
  assert.equal(next.indexOf('cluster-wide'), live.indexOf('per-broker'));
});

test('a previous output without this cluster is an error naming what was looked for', () => {
  const other = baseSpec();
  other.name = 'other';
  assert.throws(() => plan(other, baseSpec()),
    /no node ConfigMaps of cluster kafka\/demo in the previous output test: looked for ConfigMaps in namespace kafka labelled kafka-cdk8s\.io\/cluster=demo with a pod\.json key; found node ConfigMaps of kafka\/other/);
  const elsewhere = baseSpec();
  elsewhere.namespace = 'streaming';
  assert.throws(() => plan(elsewhere, baseSpec()), /cluster kafka\/demo .*found node ConfigMaps of streaming\/demo/);
});

// ---------------------------------------------------------------------------------------
// The command, as a user runs it (bin/kafka-cdk8s.js runs build/ when it exists: `tsc -p .` first).

const run = (args: string[], cwd?: string) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd });

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kc-plan-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('plan --previous <dir>: every *.yaml / *.yml under it, recursively', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'out', 'clusters'), { recursive: true });
  writeFileSync(join(dir, 'out', 'clusters', 'demo.k8s.yml'), synthCluster(baseSpec()).yaml);
  const other = baseSpec();
  other.name = 'other';
  writeFileSync(join(dir, 'out', 'other.k8s.yaml'), synthCluster(other).yaml);
  const after = baseSpec();
  after.brokers[1].config = { 'auto.create.topics.enable': true };
  writeFileSync(join(dir, 'cluster.yaml'), stringify(after));

  const json = run(['plan', '-f', join(dir, 'cluster.yaml'), '--previous', join(dir, 'out'), '--json']);
  assert.equal(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.equal(report.cluster, 'demo');
  assert.deepEqual(report.restartOrder, ['demo-broker-1']);
  assert.equal(report.nodes.length, 7, 'only the nodes of this cluster');
  const long = run(['plan', '-f', join(dir, 'cluster.yaml'), '--previous', join(dir, 'out'), '--format', 'json']);
  assert.equal(long.stdout, json.stdout, '--json is --format json');
  const text = run(['plan', '-f', join(dir, 'cluster.yaml'), '--previous', join(dir, 'out')]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^Plan for cluster kafka\/demo: 1 node restarts, 6 unchanged\n/);
});

test('plan --previous-ref reads the output committed at a git ref, in the repository of the spec file', (t) => {
  const repo = tempDir(t);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: repo, encoding: 'utf8' });
  git('init', '--quiet');
  const spec = join(repo, 'cluster.yaml');
  writeFileSync(spec, stringify(baseSpec()));
  const synth = run(['synth', '-f', spec, '-o', join(repo, 'dist')]);
  assert.equal(synth.status, 0, synth.stderr);
  git('add', '.');
  git('commit', '--quiet', '-m', 'first');
  git('tag', 'v1');
  mkdirSync(join(repo, 'deploy', 'prod'), { recursive: true });
  git('mv', 'dist/demo.k8s.yaml', 'deploy/prod/demo.k8s.yaml');
  git('commit', '--quiet', '-m', 'moved');
  const after = baseSpec();
  after.config['min.insync.replicas'] = 1;
  writeFileSync(spec, stringify(after)); // not committed: plan compares the work tree's spec with the ref
  const elsewhere = tempDir(t); // cwd outside the repository: the repository is the spec file's

  const md = run(['plan', '-f', spec, '--previous-ref', 'v1', '--format', 'markdown'], elsewhere);
  assert.equal(md.status, 0, md.stderr);
  assert.match(md.stdout, /\*\*7 change live\*\*/);
  assert.match(md.stdout, /- SET `min\.insync\.replicas` = `1`/);
  const moved = run(['plan', '-f', spec, '--previous-ref', 'HEAD', '--previous-path', 'deploy/prod', '--json'], elsewhere);
  assert.equal(moved.status, 0, moved.stderr);
  assert.deepEqual(JSON.parse(moved.stdout).clusterWide, [{ key: 'min.insync.replicas', op: 'SET', value: '1' }]);

  const noPath = run(['plan', '-f', spec, '--previous-ref', 'HEAD'], elsewhere);
  assert.equal(noPath.status, 1);
  assert.match(noPath.stderr, /error: nothing at dist\/ in HEAD \(repository .*\); give the output directory from the repository root with --previous-path/);
  const noRef = run(['plan', '-f', spec, '--previous-ref', 'no-such-branch'], elsewhere);
  assert.equal(noRef.status, 1);
  assert.match(noRef.stderr, /error: no commit no-such-branch in the git repository /);
  const notRepo = tempDir(t);
  writeFileSync(join(notRepo, 'cluster.yaml'), stringify(after));
  const outside = run(['plan', '-f', join(notRepo, 'cluster.yaml'), '--previous-ref', 'HEAD'], notRepo);
  assert.equal(outside.status, 1);
  assert.match(outside.stderr, /error: --previous-ref needs a git repository/);
});

test('plan: bad input exits 1 with a clear message; a plan with restarts still exits 0', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'demo.k8s.yaml'), synthCluster(baseSpec()).yaml);
  const spec = join(dir, 'cluster.yaml');
  const restarting = baseSpec();
  restarting.config['log.retention.hours'] = 1;
  writeFileSync(spec, stringify(restarting));
  assert.equal(run(['plan', '-f', spec, '--previous', dir]).status, 0);

  const cases: Array<[string[], RegExp]> = [
    [['plan', '-f', spec], /error: plan compares with the output synthesized before: give --previous <dir> or --previous-ref <git-ref>/],
    [['plan', '-f', spec, '--previous', dir, '--previous-ref', 'HEAD'], /error: give either --previous or --previous-ref, not both/],
    [['plan', '-f', spec, '--previous', dir, '--previous-path', 'x'], /error: --previous-path goes with --previous-ref/],
    [['plan', '-f', spec, '--previous', join(dir, 'missing')], /error: cannot read the previous output .*missing: no such file or directory/],
    [['plan', '-f', spec, '--previous', dir, '--json', '--format', 'markdown'], /error: --json and --format markdown disagree/],
    [['plan', '-f', spec, '--previous', dir, '--format', 'html'], /argument 'html' is invalid/],
  ];
  for (const [args, message] of cases) {
    const result = run(args);
    assert.equal(result.status, 1, args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
  }

  const renamed = baseSpec();
  renamed.name = 'renamed';
  writeFileSync(spec, stringify(renamed));
  const missing = run(['plan', '-f', spec, '--previous', dir]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /error: no node ConfigMaps of cluster kafka\/renamed in the previous output .*: looked for ConfigMaps in namespace kafka labelled kafka-cdk8s\.io\/cluster=renamed/);

  writeFileSync(spec, 'name: b\nbrokers: [ { id: 0 }, { id: 0 } ]\n');
  const invalid = run(['plan', '-f', spec, '--previous', dir]);
  assert.equal(invalid.status, 1);
  assert.match(invalid.stderr, /error: invalid cluster spec in .*cluster\.yaml \(\d+ problems?\):\n {2}- brokers\[1\]\.id: duplicate broker id 0/);
});

test('an upgrade: every node restarts, then metadata.version is finalized, one-way; plan says how to keep a way back', () => {
  const before = { ...baseSpec(), kafka: { version: '4.3.1' } };
  const after = { ...baseSpec(), kafka: { version: '4.4.0' } };
  const r = plan(before, after);
  assert.equal(r.summary.restart, 7);
  assert.deepEqual(r.restartOrder.slice(0, 4), BROKERS, 'brokers first');
  assert.match(r.upgrade[0]!, /^kafka.version 4\.3\.1 → 4\.4\.0: every node restarts into the new image, one at a time/);
  assert.match(r.upgrade[1]!, /finalizes metadata.version to 4\.4-IV\d \(level \d+\).*This is one-way: afterwards Kafka older than 4\.4 cannot run this cluster\. To keep a way back, set kafka.metadataVersion: '4\.3' first/);
  assert.match(formatText(r), /\nKafka version:\n {2}- kafka.version 4\.3\.1 → 4\.4\.0/);
  assert.match(formatMarkdown(r), /\*\*Kafka version\*\*/);

  const held = plan(before, { ...after, kafka: { version: '4.4.0', metadataVersion: '4.3' } });
  assert.match(held.upgrade[1]!, /^metadata.version stays at most 4\.3-IV\d \(level \d+\): kafka.metadataVersion holds it/);
  const lifted = plan({ ...after, kafka: { version: '4.4.0', metadataVersion: '4.3' } }, after);
  assert.equal(lifted.summary.restart, 0, 'lifting the hold restarts nothing');
  assert.match(lifted.upgrade[0]!, /kafka.metadataVersion 4\.3 → \(none\): the controller finalizes metadata.version to 4\.4-IV\d.*one-way/);
  const down = plan(after, before);
  assert.match(down.upgrade[0]!, /^kafka.version 4\.4\.0 → 4\.3\.1 is a downgrade: the controller refuses it, restarting nothing, if metadata.version is finalized above 4\.3-IV\d/);
  assert.deepEqual(plan(after, after).upgrade, [], 'no version change, nothing to say');
});

test('the previous Kafka version comes from the cluster document, or from a node\'s server.properties header in older output', () => {
  const before = { ...baseSpec(), kafka: { version: '4.3.1' } };
  const after = { ...baseSpec(), kafka: { version: '4.4.0' } };
  const withoutDocument = plan(before, after, (objects) => objects.splice(objects.findIndex((o) => o?.metadata?.name === 'demo-cluster'), 1));
  assert.match(withoutDocument.upgrade[0]!, /^kafka.version 4\.3\.1 → 4\.4\.0/);
});
