/**
 * Format and run ONE Kafka node (broker, controller or both) as a local JVM process.
 *
 * Independent of the cluster helper on purpose: the pod runner reuses it to run Kafka pods
 * locally. Kafka is installed (jars only) by `bash test/bed/install-kafka.sh`; nodes are
 * started with `java -cp '<home>/libs/*' kafka.Kafka <server.properties>`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in test/support/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** log4j2 config every test-bed node logs with (writes ${kafka.logs.dir}/server.log). */
export const LOG4J2_CONFIG = join(REPO_ROOT, 'test', 'bed', 'kafka', 'log4j2.xml');
/** Main class of the storage tool in Kafka 4.x (in the kafka_<scala> jar). */
export const STORAGE_TOOL_MAIN = 'kafka.tools.StorageTool';
export const KAFKA_MAIN = 'kafka.Kafka';

/**
 * JVM flags for test-bed nodes: small heap (6-7 JVMs share a 2-core machine), serial GC,
 * C1 only (faster start, lower peak speed, fine for tests).
 */
export const DEFAULT_KAFKA_JVM_OPTS: readonly string[] = [
  '-Xms128m',
  '-Xmx384m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
];
/**
 * Class-data-sharing archive of the Kafka classes, written by install-kafka.sh (a dynamic
 * AppCDS archive recorded while a node starts). Used when present: cuts JVM start CPU.
 */
export function cdsArchive(home: string): string | undefined {
  const f = join(home, 'kafka.jsa');
  return existsSync(f) ? f : undefined;
}

function cdsOpts(home: string): string[] {
  const f = cdsArchive(home);
  return f && process.env.KAFKA_CDK8S_NO_CDS !== '1' ? [`-XX:SharedArchiveFile=${f}`, '-Xlog:cds=off', '-Xlog:cds+dynamic=off'] : [];
}

/** JVM flags for the short-lived storage tool. */
export const TOOL_JVM_OPTS: readonly string[] = ['-Xms32m', '-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto'];

export interface Versions {
  kafka: string;
  scala: string;
}

export function readVersions(): Versions {
  const v = JSON.parse(readFileSync(join(REPO_ROOT, 'versions.json'), 'utf8')) as Record<string, unknown>;
  if (typeof v.kafka !== 'string' || typeof v.scala !== 'string') throw new Error('versions.json: "kafka" and "scala" must be strings');
  return { kafka: v.kafka, scala: v.scala };
}

/** Cache root: $KAFKA_CDK8S_CACHE or ~/.cache/kafka-cdk8s (same rule as install-kafka.sh). */
export function kafkaCacheDir(): string {
  return process.env.KAFKA_CDK8S_CACHE || join(homedir(), '.cache', 'kafka-cdk8s');
}

export class KafkaNotInstalledError extends Error {
  constructor(readonly home: string, readonly version: string) {
    super(`Kafka ${version} is not installed in ${home}: run bash test/bed/install-kafka.sh`);
    this.name = 'KafkaNotInstalledError';
  }
}

/** Install dir of the pinned Kafka (contains libs/). Throws KafkaNotInstalledError if absent. */
export function kafkaHome(): string {
  const { kafka } = readVersions();
  const home = join(kafkaCacheDir(), `kafka-${kafka}`);
  if (!existsSync(join(home, '.complete')) || !existsSync(join(home, 'libs'))) throw new KafkaNotInstalledError(home, kafka);
  return home;
}

/** The `-cp` value for a Kafka install (the JVM expands the wildcard). */
export function kafkaClasspath(home = kafkaHome()): string {
  return join(home, 'libs', '*');
}

export interface FormatStorageOptions {
  /** server.properties of the node (log.dirs / metadata.log.dir / controller.quorum.voters come from it). */
  propertiesFile: string;
  clusterId: string;
  /** Extra arguments for `format`, e.g. ['--release-version', '4.0-IV3']. */
  extraArgs?: string[];
  home?: string;
  /** Where to write format.log (tool output). Defaults to the properties file's directory. */
  logDir?: string;
}

/**
 * Format the node's storage (`format -t <id> -c <props> --ignore-formatted`; static quorum,
 * so no --standalone). Safe to call again on an already formatted node.
 */
export async function formatStorage(opts: FormatStorageOptions): Promise<void> {
  const home = opts.home ?? kafkaHome();
  const args = [
    ...TOOL_JVM_OPTS,
    ...cdsOpts(home),
    `-Dlog4j2.configurationFile=${LOG4J2_CONFIG}`,
    `-Dkafka.logs.dir=${opts.logDir ?? dirname(opts.propertiesFile)}`,
    '-cp',
    kafkaClasspath(home),
    STORAGE_TOOL_MAIN,
    'format',
    '-t',
    opts.clusterId,
    '-c',
    opts.propertiesFile,
    '--ignore-formatted',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res, rej) => {
    child.once('error', rej);
    child.once('close', (c, s) => res([c, s]));
  }).finally(() => clearTimeout(timer));
  if (code !== 0) {
    throw new Error(`kafka storage format failed for ${opts.propertiesFile} (exit ${code ?? signal}):\n${output}`);
  }
}

/** Generate a random KRaft cluster id (22 chars, base64url of 16 random bytes, like `kafka-storage random-uuid`). */
export function randomClusterId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Buffer.from(b).toString('base64url');
}

export interface StartKafkaNodeOptions {
  /** Path of the node's server.properties. */
  propertiesFile: string;
  /** Directory for server.log (log4j2) and stdout.log (JVM stdout/stderr). Created if missing. */
  logDir: string;
  /** Format storage first with this cluster id (skipped when undefined). */
  clusterId?: string;
  /** Extra args for the storage format step. */
  formatArgs?: string[];
  /** Replaces DEFAULT_KAFKA_JVM_OPTS. */
  jvmOpts?: readonly string[];
  /** Appended after the JVM opts (e.g. -D overrides). */
  extraJvmOpts?: readonly string[];
  /** Extra `--override key=value` arguments for kafka.Kafka. */
  overrides?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  /** A label for messages, e.g. "broker-1". */
  name?: string;
  home?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface KafkaNodeHandle {
  readonly name: string;
  readonly pid: number;
  /** log4j2 output of the node. */
  readonly logFile: string;
  /** JVM stdout + stderr. */
  readonly stdoutFile: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** True until the process has exited. */
  readonly running: boolean;
  /** SIGTERM (controlled shutdown), wait up to timeoutMs, then SIGKILL. Resolves after exit. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<ExitInfo>;
}

// Every node still running, so nothing leaks when a test fails or the runner exits.
const live = new Set<ChildProcess>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAll = (): void => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    live.clear();
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Kill every node started by this module in this process (synchronous, SIGKILL). */
export function killAllKafkaNodes(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

/** Format (optional) and start one node. Resolves once the JVM is spawned (not when ready). */
export async function startKafkaNode(opts: StartKafkaNodeOptions): Promise<KafkaNodeHandle> {
  const home = opts.home ?? kafkaHome();
  const name = opts.name ?? opts.propertiesFile;
  mkdirSync(opts.logDir, { recursive: true });
  if (opts.clusterId !== undefined) {
    await formatStorage({ propertiesFile: opts.propertiesFile, clusterId: opts.clusterId, extraArgs: opts.formatArgs, home, logDir: opts.logDir });
  }
  const logFile = join(opts.logDir, 'server.log');
  const stdoutFile = join(opts.logDir, 'stdout.log');
  const args = [
    ...(opts.jvmOpts ?? DEFAULT_KAFKA_JVM_OPTS),
    ...cdsOpts(home),
    `-Dlog4j2.configurationFile=${LOG4J2_CONFIG}`,
    `-Dkafka.logs.dir=${opts.logDir}`,
    ...(opts.extraJvmOpts ?? []),
    '-cp',
    kafkaClasspath(home),
    KAFKA_MAIN,
    opts.propertiesFile,
    ...Object.entries(opts.overrides ?? {}).flatMap(([k, v]) => ['--override', `${k}=${v}`]),
  ];
  const out = openSync(stdoutFile, 'a');
  installExitHooks();
  let child: ChildProcess;
  try {
    child = spawn('java', args, { stdio: ['ignore', out, out], env: { ...process.env, ...opts.env } });
  } finally {
    closeSync(out);
  }
  if (child.pid === undefined) {
    const err = await new Promise<Error>((res) => child.once('error', res));
    throw new Error(`could not start java for ${name}: ${err.message}`);
  }
  live.add(child);
  let running = true;
  const exited = new Promise<ExitInfo>((res) => {
    child.once('exit', (code, signal) => {
      running = false;
      live.delete(child);
      res({ code, signal });
    });
  });
  const pid = child.pid;
  const kill = async (): Promise<ExitInfo> => {
    if (running) child.kill('SIGKILL');
    return exited;
  };
  const stop = async (timeoutMs = 30_000): Promise<ExitInfo> => {
    if (!running) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (running) child.kill('SIGKILL');
    }, timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    name,
    pid,
    logFile,
    stdoutFile,
    exited,
    get running() {
      return running;
    },
    stop,
    kill,
  };
}

/** Resolve when a TCP connect to host:port succeeds; reject after timeoutMs. */
export async function waitForPort(host: string, port: number, timeoutMs: number, exited?: Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void exited?.then(() => {
    dead = true;
  });
  for (;;) {
    if (dead) throw new Error(`process exited before ${host}:${port} accepted connections`);
    const ok = await new Promise<boolean>((res) => {
      const s = new Socket();
      const done = (v: boolean): void => {
        s.destroy();
        res(v);
      };
      s.setTimeout(1000, () => done(false));
      s.once('error', () => done(false));
      s.connect(port, host, () => done(true));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Distinct free TCP ports on 127.0.0.1 (all held open at once while picking, so no duplicates).
 * There is a small race with other processes between release and use; fine for tests.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((res, rej) => {
          const srv = createServer();
          srv.once('error', rej);
          srv.listen(0, host, () => res(srv));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Render a Java properties file (keys sorted, values escaped for backslashes and newlines). */
export function renderProperties(props: Record<string, string | number | boolean>): string {
  return (
    Object.keys(props)
      .sort()
      .map((k) => `${k}=${String(props[k]).replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`)
      .join('\n') + '\n'
  );
}

/** Last `lines` lines of a file (for error messages), or '' when unreadable. */
export function tailFile(path: string, lines = 40): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
