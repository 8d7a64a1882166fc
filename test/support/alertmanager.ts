/**
 * A real Prometheus Alertmanager on 127.0.0.1 for integration tests.
 *
 *   const am = await startAlertmanager();
 *   try { await am.fire({ alertname: 'DiskFull', kafka_cdk8s_hold_roll: 'true' }); ... } finally { await am.close(); }
 *
 * The binary is Debian's prometheus-alertmanager, unpacked into the cache by
 * `bash test/bed/install-alertmanager.sh` (see alertmanagerBinary() for the lookup). It
 * runs with the root of its tree (<root>/usr/bin/prometheus-alertmanager) as working
 * directory: the install script made its compiled-in data path (default notification
 * templates) relative, so it reads them from its unpacked package; for an installed
 * /usr/bin one that root is "/".
 * Each instance: its own port from the test-port allocator, a minimal config (one route to
 * a receiver without integrations, so nothing is ever sent anywhere), storage in a temp
 * dir removed on close, HA clustering off. It runs in a process group of its own, killed
 * on close and when the test process exits, so a failing test leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { kafkaCacheDir, tailFile } from './kafka-process.js';
import { allocatePort } from './ports.js';
import { atExit, killGroup } from './process-groups.js';

/** Where install-alertmanager.sh unpacks the binary. */
export function cachedAlertmanagerBinary(): string {
  return join(kafkaCacheDir(), 'alertmanager', 'usr', 'bin', 'prometheus-alertmanager');
}

/** Debian's path for an Alertmanager installed with apt-get install (the script's fallback). */
export const SYSTEM_ALERTMANAGER_BINARY = '/usr/bin/prometheus-alertmanager';

/**
 * The binary tests run: $KAFKA_CDK8S_ALERTMANAGER, else the cached one (when its install
 * completed), else an installed /usr/bin/prometheus-alertmanager, the same order as
 * `bash test/bed/install-alertmanager.sh path`.
 */
export function alertmanagerBinary(): string {
  const explicit = process.env.KAFKA_CDK8S_ALERTMANAGER;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`KAFKA_CDK8S_ALERTMANAGER=${explicit} does not exist`);
    return explicit;
  }
  const cached = cachedAlertmanagerBinary();
  if (existsSync(cached) && existsSync(join(kafkaCacheDir(), 'alertmanager', '.complete'))) return cached;
  if (existsSync(SYSTEM_ALERTMANAGER_BINARY)) return SYSTEM_ALERTMANAGER_BINARY;
  throw new Error(`Alertmanager not found at ${cached} or ${SYSTEM_ALERTMANAGER_BINARY}: run bash test/bed/install-alertmanager.sh`);
}

/** An Alertmanager inhibit rule (config file syntax): alerts matching target_matchers are inhibited while one matching source_matchers fires. */
export interface InhibitRule {
  readonly source_matchers: readonly string[];
  readonly target_matchers: readonly string[];
  readonly equal?: readonly string[];
}

export interface StartAlertmanagerOptions {
  /** @default none */
  readonly inhibitRules?: readonly InhibitRule[];
  /** Serve everything under this path (`--web.route-prefix`), e.g. "/alertmanager"; `url` then ends with it. */
  readonly routePrefix?: string;
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
  /** Keep the temp dir (config, storage, log) after close, for debugging. @default false, or KAFKA_CDK8S_KEEP_ALERTMANAGER=1 */
  readonly keepDir?: boolean;
  /** @default alertmanagerBinary() */
  readonly binary?: string;
}

export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  /** @default false */
  readonly isRegex?: boolean;
  /** @default true */
  readonly isEqual?: boolean;
}

export interface Alertmanager {
  /** Base URL, including the route prefix when there is one (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Temp dir with alertmanager.yml, data/ and alertmanager.log. */
  readonly dir: string;
  /** Posts a firing alert (startsAt now, no endsAt: it stays active for resolve_timeout, 5 min). */
  fire(labels: Record<string, string>, annotations?: Record<string, string>): Promise<void>;
  /** Posts the same labels with endsAt now: the alert is resolved and no longer listed as active. */
  resolve(labels: Record<string, string>): Promise<void>;
  /** Creates a silence from now for `minutes`. A record means equality matchers. Returns the silence id. */
  silence(matchers: Record<string, string> | readonly SilenceMatcher[], minutes: number): Promise<string>;
  /** Alertmanager's log so far. */
  output(): string;
  /** SIGTERM to the process group, SIGKILL after 5 s; removes the temp dir. Idempotent. */
  close(): Promise<void>;
}


/** Minimal config: every alert goes to a receiver with no integrations; short group waits. */
function renderConfig(inhibitRules: readonly InhibitRule[]): string {
  const lines = [
    'route:',
    '  receiver: blackhole',
    "  group_by: ['...']",
    '  group_wait: 1s',
    '  group_interval: 1s',
    '  repeat_interval: 1h',
    'receivers:',
    '  - name: blackhole',
  ];
  if (inhibitRules.length) lines.push(`inhibit_rules: ${JSON.stringify(inhibitRules)}`); // JSON is YAML
  return lines.join('\n') + '\n';
}

/** Alertmanager's message when its web port is taken (Go's net.Listen). */
const ADDRESS_IN_USE = /address already in use/;

/** Starts Alertmanager and waits until `/-/ready` answers 200. Retries on a taken port (up to 3 times). */
export async function startAlertmanager(opts: StartAlertmanagerOptions = {}): Promise<Alertmanager> {
  const binary = opts.binary ?? alertmanagerBinary();
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const keep = opts.keepDir ?? process.env.KAFKA_CDK8S_KEEP_ALERTMANAGER === '1';
  const prefix = normalizePrefix(opts.routePrefix);
  const dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-alertmanager-'));
  const configFile = join(dir, 'alertmanager.yml');
  const logFile = join(dir, 'alertmanager.log');
  writeFileSync(configFile, renderConfig(opts.inhibitRules ?? []));
  for (let attempt = 0; ; attempt++) {
    const port = await allocatePort();
    const base = `http://127.0.0.1:${port}`;
    const url = `${base}${prefix}`;
    const args = [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}/`,
      `--web.route-prefix=${prefix || '/'}`,
      '--cluster.listen-address=', // no HA gossip: nothing else to listen on, nothing to wait for
      '--log.level=info',
    ];
    const out = openSync(logFile, 'w');
    let child: ChildProcess;
    try {
      child = spawn(binary, args, { detached: true, stdio: ['ignore', out, out], cwd: dirname(dirname(dirname(binary))) });
    } finally {
      closeSync(out);
    }
    child.once('error', () => undefined); // a failed spawn has no pid: thrown below
    // A test that never closes it must not keep the test process alive: the exit hook kills it.
    child.unref();
    const pid = child.pid;
    if (pid === undefined) {
      if (!keep) rmSync(dir, { recursive: true, force: true });
      throw new Error(`could not start ${binary}`);
    }
    const release = atExit(() => {
      killGroup(pid, 'SIGKILL');
      if (!keep) rmSync(dir, { recursive: true, force: true });
    });
    let running = true;
    const exited = new Promise<void>((res) => {
      child.once('exit', () => {
        running = false;
        res();
      });
    });
    const stopProcess = async (): Promise<void> => {
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      killGroup(pid, 'SIGKILL'); // anything the main process left in its group
      release();
    };

    try {
      await waitReady(`${url}/-/ready`, deadline, () => running);
    } catch (err) {
      await stopProcess();
      if (ADDRESS_IN_USE.test(readText(logFile)) && attempt < 3 && Date.now() < deadline) continue;
      const message = `Alertmanager (${binary}) on ${url}: ${(err as Error).message}\n--- ${logFile} (tail) ---\n${tailFile(logFile, 30)}`;
      if (!keep) rmSync(dir, { recursive: true, force: true });
      throw new Error(message);
    }

    let closed = false;
    return {
      url,
      port,
      pid,
      dir,
      fire: async (labels, annotations) => {
        await post(`${url}/api/v2/alerts`, [{ labels, annotations: annotations ?? {}, startsAt: new Date().toISOString() }]);
      },
      resolve: async (labels) => {
        await post(`${url}/api/v2/alerts`, [{ labels, endsAt: new Date().toISOString() }]);
      },
      silence: async (matchers, minutes) => {
        const list: SilenceMatcher[] = Array.isArray(matchers)
          ? (matchers as readonly SilenceMatcher[]).slice()
          : Object.entries(matchers as Record<string, string>).map(([name, value]) => ({ name, value }));
        const now = Date.now();
        const body = await post(`${url}/api/v2/silences`, {
          matchers: list.map((m) => ({ name: m.name, value: m.value, isRegex: m.isRegex ?? false, isEqual: m.isEqual ?? true })),
          startsAt: new Date(now).toISOString(),
          endsAt: new Date(now + minutes * 60_000).toISOString(),
          createdBy: 'kafka-cdk8s tests',
          comment: 'test silence',
        });
        const id = (JSON.parse(body) as { silenceID?: unknown }).silenceID;
        if (typeof id !== 'string') throw new Error(`POST /api/v2/silences answered without a silenceID: ${body}`);
        return id;
      },
      output: () => readText(logFile),
      close: async () => {
        if (closed) return;
        closed = true;
        await stopProcess();
        if (!keep) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/** "" for none, else "/x/y" (leading slash, no trailing one). */
function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/\/+$/, '');
  if (!p) return '';
  return p.startsWith('/') ? p : `/${p}`;
}

async function waitReady(readyUrl: string, deadline: number, running: () => boolean): Promise<void> {
  let last = 'no answer yet';
  for (;;) {
    if (!running()) throw new Error(`exited before ${readyUrl} answered`);
    try {
      const res = await fetch(readyUrl, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`not ready: ${readyUrl} (${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function post(url: string, body: unknown): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status}: ${text}`);
  return text;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
