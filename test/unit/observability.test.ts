/** The controller's metrics, its /metrics + /healthz endpoint and its JSON logger. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { register as globalRegistry } from 'prom-client';
import {
  RECONCILE_BUCKETS,
  createControllerMetrics,
  createLogger,
  parseListen,
  startHttpServer,
  type Health,
} from '../../lib/controller/observability/index.js';

// --- Prometheus text exposition, parsed rather than grepped ---------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/y;
    let parsed = 0;
    for (let lm; (lm = re.exec(body)); parsed = re.lastIndex) {
      labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    assert.equal(parsed, body.length, `unparsed labels in: ${line}`);
    samples.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return samples;
}

const sameLabels = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

/** The value of the one series `name{labels}` (labels matched exactly), failing if absent. */
function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
  assert.equal(found.length, 1, `expected one series ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0]!.value;
}

const DEFAULTS = { namespace: 'kafka', cluster: 'demo' };
const L = (extra: Record<string, string> = {}) => ({ ...DEFAULTS, ...extra });

test('metrics: every series carries the default labels and the values of the calls', async () => {
  const m = createControllerMetrics(DEFAULTS);
  m.reconciled('ok', 0.002);
  m.reconciled('ok', 0.3);
  m.reconciled('error', 45);
  m.podRecreated('broker-1');
  m.podRecreated('broker-1');
  m.podRecreated('controller-0');
  m.nodeRestarted('broker-2');
  m.liveConfigChanged('broker', 3);
  m.liveConfigChanged('broker', 2);
  m.liveConfigChanged('cluster', 1);
  m.rollProgress({ total: 5, done: 2, node: 'broker-2', waitingFor: 'under-replicated partitions' });
  m.configDrift('broker-3', 4);
  m.configDrift('cluster-default', 0);
  m.leader(true);
  const s = parseExposition(await m.text());

  assert.equal(value(s, 'kafka_cdk8s_reconcile_total', L({ result: 'ok' })), 2);
  assert.equal(value(s, 'kafka_cdk8s_reconcile_total', L({ result: 'error' })), 1);
  assert.equal(value(s, 'kafka_cdk8s_reconcile_total', L({ result: 'waiting' })), 0, 'present before the first waiting');
  assert.equal(value(s, 'kafka_cdk8s_pods_recreated_total', L({ node: 'broker-1' })), 2);
  assert.equal(value(s, 'kafka_cdk8s_pods_recreated_total', L({ node: 'controller-0' })), 1);
  assert.equal(value(s, 'kafka_cdk8s_node_restarts_total', L({ node: 'broker-2' })), 1);
  assert.equal(value(s, 'kafka_cdk8s_live_config_changes_total', L({ scope: 'broker' })), 5, 'adds keys, not calls');
  assert.equal(value(s, 'kafka_cdk8s_live_config_changes_total', L({ scope: 'cluster' })), 1);
  assert.equal(value(s, 'kafka_cdk8s_roll_nodes_total', L()), 5);
  assert.equal(value(s, 'kafka_cdk8s_roll_nodes_done', L()), 2);
  assert.equal(value(s, 'kafka_cdk8s_roll_waiting', L()), 1);
  assert.equal(value(s, 'kafka_cdk8s_config_drift_keys', L({ resource: 'broker-3' })), 4);
  assert.equal(value(s, 'kafka_cdk8s_config_drift_keys', L({ resource: 'cluster-default' })), 0);
  assert.equal(value(s, 'kafka_cdk8s_leader', L()), 1);

  const ours = s.filter((x) => x.name.startsWith('kafka_cdk8s_'));
  assert.ok(ours.length > 20);
  for (const x of ours) assert.deepEqual({ namespace: x.labels.namespace, cluster: x.labels.cluster }, DEFAULTS, x.name);
});

test('metrics: the reconcile histogram counts, sums and buckets from 1 ms to 60 s', async () => {
  const m = createControllerMetrics();
  for (const seconds of [0.0005, 0.002, 0.3, 0.3, 45, 120]) m.reconciled('ok', seconds);
  const s = parseExposition(await m.text());
  const name = 'kafka_cdk8s_reconcile_duration_seconds';
  assert.equal(value(s, `${name}_count`, {}), 6);
  assert.ok(Math.abs(value(s, `${name}_sum`, {}) - 165.6025) < 1e-9);
  const buckets = s.filter((x) => x.name === `${name}_bucket`);
  assert.deepEqual(
    buckets.map((b) => b.labels.le),
    [...RECONCILE_BUCKETS.map(String), '+Inf'],
  );
  assert.equal(RECONCILE_BUCKETS[0], 0.001);
  assert.equal(RECONCILE_BUCKETS.at(-1), 60);
  const le = (bound: string) => value(s, `${name}_bucket`, { le: bound });
  assert.deepEqual(
    ['0.001', '0.005', '0.25', '0.5', '30', '60', '+Inf'].map(le),
    [1, 2, 2, 4, 4, 5, 6],
  );
});

test('metrics: rollProgress(undefined) resets the roll gauges; a roll not waiting shows 0', async () => {
  const m = createControllerMetrics();
  const roll = async () => {
    const s = parseExposition(await m.text());
    return ['total', 'done'].map((k) => value(s, `kafka_cdk8s_roll_nodes_${k}`, {})).concat(value(s, 'kafka_cdk8s_roll_waiting', {}));
  };
  assert.deepEqual(await roll(), [0, 0, 0], 'no roll at start');
  m.rollProgress({ total: 3, done: 1, waitingFor: 'broker-1 ready' });
  assert.deepEqual(await roll(), [3, 1, 1]);
  m.rollProgress({ total: 3, done: 2, node: 'broker-2' });
  assert.deepEqual(await roll(), [3, 2, 0]);
  m.rollProgress(undefined);
  assert.deepEqual(await roll(), [0, 0, 0]);
});

test('metrics: leader flips; default process metrics keep their names; registries are private', async () => {
  const a = createControllerMetrics({ cluster: 'a' });
  const b = createControllerMetrics({ cluster: 'b' });
  a.leader(true);
  a.reconciled('ok', 1);
  a.leader(false);
  const sa = parseExposition(await a.text());
  const sb = parseExposition(await b.text());
  assert.equal(value(sa, 'kafka_cdk8s_leader', { cluster: 'a' }), 0);
  assert.equal(value(sa, 'kafka_cdk8s_reconcile_total', { cluster: 'a', result: 'ok' }), 1);
  assert.equal(value(sb, 'kafka_cdk8s_reconcile_total', { cluster: 'b', result: 'ok' }), 0, 'b did not see a');
  assert.ok(value(sa, 'process_resident_memory_bytes', { cluster: 'a' }) > 0);
  assert.ok(sa.some((x) => x.name === 'nodejs_heap_size_used_bytes'));
  assert.ok(!sa.some((x) => x.name.startsWith('kafka_cdk8s_process_') || x.name.startsWith('kafka_cdk8s_nodejs_')));
  assert.doesNotMatch(await globalRegistry.metrics(), /kafka_cdk8s_|process_resident_memory_bytes/, 'the global registry is untouched');
  assert.match(a.contentType, /^text\/plain; version=0\.0\.4/);
});

// --- HTTP ------------------------------------------------------------------------------------

test('http: /metrics, /healthz 200 then 503, 404, 405 on a free port', async (t) => {
  const metrics = createControllerMetrics({ cluster: 'demo' });
  metrics.leader(true);
  let health: Health = { ok: true, detail: '' };
  const server = await startHttpServer({ listen: '127.0.0.1:0', metrics, health: () => health });
  t.after(() => server.close());
  assert.ok(server.port > 0);
  assert.equal(server.address, `127.0.0.1:${server.port}`);
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

  const m = await fetch(url('/metrics'));
  assert.equal(m.status, 200);
  assert.equal(m.headers.get('content-type'), metrics.contentType);
  assert.equal(value(parseExposition(await m.text()), 'kafka_cdk8s_leader', { cluster: 'demo' }), 1);

  const ok = await fetch(url('/healthz'));
  assert.deepEqual([ok.status, await ok.text()], [200, 'ok']);
  health = { ok: false, detail: 'reconcile loop stuck for 301s' };
  const down = await fetch(url('/healthz?verbose'));
  assert.deepEqual([down.status, await down.text()], [503, 'reconcile loop stuck for 301s']);
  health = { ok: true, detail: '' };
  assert.equal((await fetch(url('/healthz'))).status, 200);

  const missing = await fetch(url('/'));
  assert.deepEqual([missing.status, await missing.text()], [404, 'not found']);
  assert.equal((await fetch(url('/metrics/extra'))).status, 404);
  const post = await fetch(url('/metrics'), { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET');
  await post.text();
  assert.equal((await fetch(url('/healthz'), { method: 'DELETE' })).status, 405);
});

test('http: a throwing health check is a 503 with its message', async (t) => {
  const server = await startHttpServer({
    listen: '127.0.0.1:0',
    metrics: createControllerMetrics(),
    health: () => {
      throw new Error('state unknown');
    },
  });
  t.after(() => server.close());
  const res = await fetch(`http://127.0.0.1:${server.port}/healthz`);
  assert.deepEqual([res.status, await res.text()], [503, 'health check failed: state unknown']);
});

test('http: close() frees the port even after keep-alive requests', async () => {
  const server = await startHttpServer({ listen: ':0', metrics: createControllerMetrics(), health: () => ({ ok: true, detail: '' }) });
  const { port } = server;
  assert.match(server.address, new RegExp(`:${port}$`));
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    server.close(),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('close() hung')), 3000))),
  ]);
  clearTimeout(timer);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'nothing listens any more');
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, resolve));
  await new Promise((resolve) => probe.close(resolve));
});

test('http: a port in use rejects start', async (t) => {
  const first = await startHttpServer({ listen: '127.0.0.1:0', metrics: createControllerMetrics(), health: () => ({ ok: true, detail: '' }) });
  t.after(() => first.close());
  await assert.rejects(
    startHttpServer({ listen: `127.0.0.1:${first.port}`, metrics: createControllerMetrics(), health: () => ({ ok: true, detail: '' }) }),
    /EADDRINUSE/,
  );
});

test('http: --listen values', async () => {
  assert.deepEqual(parseListen(':9090'), { port: 9090 });
  assert.deepEqual(parseListen('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseListen('[::1]:65535'), { host: '::1', port: 65535 });
  for (const bad of ['9090', 'localhost', 'host:', 'host:http', 'host:65536', 'host:-1', '::1:9090', 'a b:1', '', ':']) {
    assert.throws(() => parseListen(bad), { message: `--listen must be host:port or :port, got ${JSON.stringify(bad)}` }, bad);
  }
  await assert.rejects(
    startHttpServer({ listen: 'metrics', metrics: createControllerMetrics(), health: () => ({ ok: true, detail: '' }) }),
    { message: '--listen must be host:port or :port, got "metrics"' },
  );
});

// --- logger ----------------------------------------------------------------------------------

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const lines = () => {
    const text = chunks.join('');
    assert.ok(text === '' || text.endsWith('\n'), 'every line ends with a newline');
    return text.split('\n').slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  return { stream, chunks, lines };
}

test('log: one JSON object per line: time, level, msg, then fields', () => {
  const out = capture();
  const log = createLogger({ stream: out.stream, base: { cluster: 'demo' } });
  const before = Date.now();
  log.info('Restarted broker', { node: 3, reason: 'config changed', big: 10n });
  log.warn('Waited for ISR', { topic: 'orders\nwith newline' });
  assert.equal(out.chunks.length, 2, 'written synchronously, one write per line');
  const [first, second] = out.lines();
  assert.deepEqual(Object.keys(first!), ['time', 'level', 'msg', 'cluster', 'node', 'reason', 'big']);
  assert.equal(new Date(first!.time as string).toISOString(), first!.time);
  assert.ok(Math.abs(Date.parse(first!.time as string) - before) < 5000);
  assert.deepEqual({ ...first, time: 0 }, { time: 0, level: 'info', msg: 'Restarted broker', cluster: 'demo', node: 3, reason: 'config changed', big: '10' });
  assert.deepEqual({ ...second, time: 0 }, { time: 0, level: 'warn', msg: 'Waited for ISR', cluster: 'demo', topic: 'orders\nwith newline' });
});

test('log: the minimum level drops lower lines (default info)', () => {
  const levels = (level?: 'debug' | 'info' | 'warn' | 'error') => {
    const out = capture();
    const log = createLogger({ stream: out.stream, ...(level ? { level } : {}) });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    log.child({ a: 1 }).debug('child d');
    return out.lines().map((l) => `${l.level as string}:${l.msg as string}`);
  };
  assert.deepEqual(levels(), ['info:i', 'warn:w', 'error:e']);
  assert.deepEqual(levels('debug'), ['debug:d', 'info:i', 'warn:w', 'error:e', 'debug:child d']);
  assert.deepEqual(levels('warn'), ['warn:w', 'error:e']);
  assert.deepEqual(levels('error'), ['error:e']);
  assert.throws(() => createLogger({ level: 'verbose' as 'info' }), {
    message: 'log level must be one of debug, info, warn, error, got "verbose"',
  });
});

test('log: child fields merge, the innermost wins, the parent is unchanged', () => {
  const out = capture();
  const root = createLogger({ stream: out.stream, base: { cluster: 'demo' } });
  const roll = root.child({ node: 3, phase: 'roll' }).child({ node: 4 });
  roll.info('Restarted broker', { phase: 'done' });
  root.info('Reconciled cluster');
  const [a, b] = out.lines().map((l) => ({ ...l, time: 0 }));
  assert.deepEqual(a, { time: 0, level: 'info', msg: 'Restarted broker', cluster: 'demo', node: 4, phase: 'done' });
  assert.deepEqual(b, { time: 0, level: 'info', msg: 'Reconciled cluster', cluster: 'demo' });
});

test('log: err renders type, message, stack, own props and cause; bad fields never throw', () => {
  const out = capture();
  const log = createLogger({ stream: out.stream });
  const err = Object.assign(new TypeError('broker 3 unreachable', { cause: new Error('ECONNREFUSED') }), { code: 7 });
  log.error('Failed to restart broker', { err, node: 3 });
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.doesNotThrow(() => log.info('Read state', { circular }));
  log.info('Kept envelope', { msg: 'field msg', level: 'field level' });
  const [e, c, k] = out.lines();
  const rendered = e!.err as Record<string, unknown>;
  assert.equal(rendered.type, 'TypeError');
  assert.equal(rendered.message, 'broker 3 unreachable');
  assert.match(rendered.stack as string, /^TypeError: broker 3 unreachable\n\s+at /);
  assert.equal(rendered.code, 7);
  assert.equal((rendered.cause as Record<string, unknown>).message, 'ECONNREFUSED');
  assert.equal(e!.node, 3);
  assert.equal(c!.msg, 'Read state');
  assert.match(c!.logError as string, /fields not serialisable: TypeError: .*circular/i);
  assert.deepEqual({ ...k, time: 0 }, { time: 0, level: 'info', msg: 'Kept envelope', 'fields.msg': 'field msg', 'fields.level': 'field level' });
});
