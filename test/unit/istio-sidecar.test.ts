/**
 * The Istio sidecar bash of the start script, run for real against
 * a stand-in for the istio-proxy: a Node HTTP server answering the readiness
 * URL as told and recording quit calls. The script is composed the way the
 * start script composes it, under `set -euo pipefail`. Every case runs twice: with
 * curl, and with a PATH that has no curl (as in the apache/kafka image), where the
 * requests go through bash's /dev/tcp.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { execFileSync, spawn as spawnChild } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ISTIO_DEFAULTS, ISTIO_ENV, sidecarQuitFunction, sidecarWaitFunction, superviseWithSidecar } from '../../lib/render/istio-sidecar.js';
import { allocatePort } from '../support/ports.js';

interface QuitCall {
  readonly method: string;
  /** Whether the child had ended (its marker file existed) when the quit call came. */
  readonly childEnded: boolean;
}

/** The stand-in istio-proxy: readiness answers `readyStatus()`, quit calls are recorded. */
class FakeProxy {
  readonly quits: QuitCall[] = [];
  readyStatus: () => number = () => 200;
  private server?: Server;

  constructor(readonly port: number, private readonly childEndedFile: string) {}

  get readyUrl(): string { return `http://127.0.0.1:${this.port}/healthz/ready`; }
  get quitUrl(): string { return `http://127.0.0.1:${this.port}/quitquitquit`; }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url === '/healthz/ready' && req.method === 'GET') {
        res.writeHead(this.readyStatus()).end();
      } else if (req.url === '/quitquitquit') {
        this.quits.push({ method: req.method ?? '', childEnded: existsSync(this.childEndedFile) });
        res.writeHead(200).end('OK');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((res) => this.server!.listen(this.port, '127.0.0.1', res));
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }
}

interface Run {
  readonly proc: ChildProcess;
  /** stdout and stderr, interleaved as they came. */
  log(): string;
  /** Resolves once the log matches. */
  until(pattern: RegExp): Promise<void>;
  readonly exit: Promise<{ code: number | null; elapsedMs: number }>;
}

/** A PATH with only what the script and the test's children use: no curl. */
function pathWithoutCurl(): string {
  const dir = mkdtempSync(join(tmpdir(), 'no-curl-'));
  for (const tool of ['bash', 'sh', 'sleep', 'timeout', 'touch']) {
    symlinkSync(execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(dir, tool));
  }
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const HTTP_CLIENTS = [
  { name: 'curl', env: {} as Record<string, string> },
  { name: 'bash /dev/tcp (no curl in the image)', env: { PATH: pathWithoutCurl() } },
];
let clientEnv: Record<string, string> = {};

/** Runs the composed script: wait for the sidecar, then supervise `child`. */
function runScript(env: Record<string, string>, child: string): Run {
  const script = `set -euo pipefail
trap 'exit 143' TERM
${sidecarWaitFunction()}
${sidecarQuitFunction()}
wait_for_sidecar || exit 1
${superviseWithSidecar(child)}
`;
  const started = Date.now();
  const proc = spawnChild('bash', ['-c', script], { env: { ...process.env, ...env, ...clientEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    for (const w of waiters.splice(0)) {
      if (w.pattern.test(out)) w.resolve();
      else waiters.push(w);
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exit = new Promise<{ code: number | null; elapsedMs: number }>((res) => proc.on('close', (code) => res({ code, elapsedMs: Date.now() - started })));
  return {
    proc,
    exit,
    log: () => out,
    until: (pattern) => new Promise((resolve, reject) => {
      if (pattern.test(out)) return resolve();
      waiters.push({ pattern, resolve });
      void exit.then(() => (pattern.test(out) ? resolve() : reject(new Error(`script exited before ${pattern}; log:\n${out}`))));
    }),
  };
}

/** A fresh proxy port and a temp dir for the child's marker files. */
async function setup(): Promise<{ proxy: FakeProxy; dir: string; ran: string; ended: string; done: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'istio-sidecar-'));
  const ended = join(dir, 'child-ended');
  const proxy = new FakeProxy(await allocatePort(), ended);
  return {
    proxy, dir, ended, ran: join(dir, 'child-ran'),
    done: async () => { await proxy.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** The env pointing the functions at the stand-in. */
function proxyEnv(proxy: FakeProxy, timeoutSeconds = 30): Record<string, string> {
  return { [ISTIO_ENV.readyUrl]: proxy.readyUrl, [ISTIO_ENV.quitUrl]: proxy.quitUrl, [ISTIO_ENV.readyTimeoutSeconds]: String(timeoutSeconds) };
}

/** A child that records it ran and ended, exiting with `status`. */
const exitingChild = (ran: string, ended: string, status: number): string =>
  `bash -c 'touch "$1"; echo child-ran; touch "$2"; exit ${status}' child ${JSON.stringify(ran)} ${JSON.stringify(ended)}`;

for (const client of HTTP_CLIENTS) describe(`Istio sidecar start-script functions, requests by ${client.name}`, { concurrency: true, timeout: 30_000 }, () => {
  before(() => { clientEnv = client.env; });
  test('defaults are Istio\'s endpoints, and the env var names carry the start script\'s prefix', () => {
    assert.equal(ISTIO_DEFAULTS.readyUrl, 'http://127.0.0.1:15021/healthz/ready');
    assert.equal(ISTIO_DEFAULTS.quitUrl, 'http://127.0.0.1:15020/quitquitquit');
    for (const name of Object.values(ISTIO_ENV)) assert.match(name, /^KAFKA_CDK8S_/);
    assert.match(sidecarWaitFunction(), new RegExp(`\\$\\{${ISTIO_ENV.readyUrl}:-${ISTIO_DEFAULTS.readyUrl}\\}`));
  });

  test('sidecar ready late (503 for ~2 s): the script waits, then runs the child; its status comes back', async () => {
    const s = await setup();
    try {
      const readyAt = Date.now() + 2000;
      s.proxy.readyStatus = () => (Date.now() < readyAt ? 503 : 200);
      await s.proxy.listen();
      const run = runScript(proxyEnv(s.proxy), exitingChild(s.ran, s.ended, 0));
      const { code, elapsedMs } = await run.exit;
      assert.equal(code, 0, run.log());
      assert.ok(elapsedMs >= 2000, `waited ${elapsedMs} ms`);
      assert.match(run.log(), /waiting up to 30s for the istio-proxy sidecar to be ready \(http:\/\/127\.0\.0\.1:\d+\/healthz\/ready\)/);
      assert.match(run.log(), /the istio-proxy sidecar is ready after [2-4]s\n/);
      assert.ok(run.log().indexOf('ready after') < run.log().indexOf('child-ran'), run.log());
      assert.ok(existsSync(s.ran));
    } finally { await s.done(); }
  });

  test('sidecar never ready: after the timeout the script fails, naming URL and timeout, and the child never runs', async () => {
    const s = await setup();
    try {
      s.proxy.readyStatus = () => 503;
      await s.proxy.listen();
      const run = runScript(proxyEnv(s.proxy, 2), exitingChild(s.ran, s.ended, 0));
      const { code, elapsedMs } = await run.exit;
      assert.equal(code, 1, run.log());
      assert.ok(elapsedMs >= 2000 && elapsedMs < 8000, `gave up after ${elapsedMs} ms`);
      assert.match(run.log(), new RegExp(`not ready after 2s: ${s.proxy.readyUrl.replace(/[./]/g, '\\$&')} gave HTTP 503; not starting Kafka`));
      assert.ok(!existsSync(s.ran), 'the child never ran');
      assert.doesNotMatch(run.log(), /child-ran/);
      assert.deepEqual(s.proxy.quits, [], 'no quit: the container restarts and the sidecar stays');
    } finally { await s.done(); }
  });

  test('sidecar not listening at first (connection refused), then ready: the script proceeds', async () => {
    const s = await setup();
    try {
      const run = runScript(proxyEnv(s.proxy), exitingChild(s.ran, s.ended, 0));
      await run.until(/waiting up to/);
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(!existsSync(s.ran), 'the child waits for the sidecar');
      await s.proxy.listen();
      const { code } = await run.exit;
      assert.equal(code, 0, run.log());
      assert.ok(existsSync(s.ran));
      assert.match(run.log(), /the istio-proxy sidecar is ready after [1-4]s/);
    } finally { await s.done(); }
  });

  test('child exits by itself with 3: the sidecar is told to quit afterwards (POST), and the script exits 3', async () => {
    const s = await setup();
    try {
      await s.proxy.listen();
      const run = runScript(proxyEnv(s.proxy), exitingChild(s.ran, s.ended, 3));
      const { code } = await run.exit;
      assert.equal(code, 3, run.log());
      assert.deepEqual(s.proxy.quits, [{ method: 'POST', childEnded: true }]);
      assert.match(run.log(), /Kafka exited with status 3\n/);
      assert.match(run.log(), /told the istio-proxy sidecar to quit \(http:\/\/127\.0\.0\.1:\d+\/quitquitquit: HTTP 200\)/);
    } finally { await s.done(); }
  });

  // SIGTERM: the child takes 0.7 s to shut down, so the script's first wait is cut short by the
  // trapped signal and must wait again. SIGINT: a background child ignores it, so it goes on as SIGTERM.
  for (const { signal, shutdown, status } of [
    { signal: 'SIGTERM', shutdown: 'sleep 0.7; ', status: 0 },
    { signal: 'SIGINT', shutdown: '', status: 7 },
  ] as const) {
    test(`${signal} to the script reaches the child as SIGTERM; once the child has ended the sidecar quits, and the status is the child's (${status})`, async () => {
      const s = await setup();
      try {
        await s.proxy.listen();
        const child = `bash -c 'trap "echo child-got-term; ${shutdown}touch \\"\\$1\\"; exit ${status}" TERM; echo child-started; while :; do sleep 0.1; done' child ${JSON.stringify(s.ended)}`;
        const run = runScript(proxyEnv(s.proxy), child);
        await run.until(/child-started/);
        run.proc.kill(signal);
        const { code } = await run.exit;
        assert.equal(code, status, run.log());
        assert.match(run.log(), /child-got-term/);
        assert.deepEqual(s.proxy.quits, [{ method: 'POST', childEnded: true }], 'quit once, after the child ended');
      } finally { await s.done(); }
    });
  }

  test('quit endpoint down: the script still exits with the child\'s status and says it could not reach the sidecar', async () => {
    const s = await setup();
    try {
      await s.proxy.listen();
      const deadPort = await allocatePort(); // nothing listens there
      const deadUrl = `http://127.0.0.1:${deadPort}/quitquitquit`;
      const run = runScript({ ...proxyEnv(s.proxy), [ISTIO_ENV.quitUrl]: deadUrl }, exitingChild(s.ran, s.ended, 3));
      const { code } = await run.exit;
      assert.equal(code, 3, run.log());
      assert.ok(run.log().includes(`could not tell the istio-proxy sidecar to quit: no answer from ${deadUrl}`), run.log());
    } finally { await s.done(); }
  });

  test('a timeout that is not a number is refused by name, before any wait', async () => {
    const s = await setup();
    try {
      const run = runScript({ ...proxyEnv(s.proxy), [ISTIO_ENV.readyTimeoutSeconds]: '5m' }, exitingChild(s.ran, s.ended, 0));
      const { code } = await run.exit;
      assert.equal(code, 1);
      assert.match(run.log(), new RegExp(`${ISTIO_ENV.readyTimeoutSeconds}=5m is not a whole number of seconds`));
      assert.ok(!existsSync(s.ran));
    } finally { await s.done(); }
  });
});
