/**
 * Format and run ONE Kafka node (broker, controller or both) as a local JVM process.
 *
 * Independent of the cluster helper on purpose: the pod runner reuses it to run Kafka pods
 * locally. Kafka is installed (jars only) by `bash test/bed/install-kafka.sh`: versions.json's
 * kafka and kafkaPrevious, each in its own home (kafkaHome(version)); nodes are started with
 * `java -cp '<home>/libs/*' kafka.Kafka <server.properties>` (the pinned kafka's home unless
 * `home` is given).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
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
  /** The older Kafka the bed also installs, for upgrade tests. */
  kafkaPrevious: string;
  scala: string;
}

export function readVersions(): Versions {
  const v = JSON.parse(readFileSync(join(REPO_ROOT, 'versions.json'), 'utf8')) as Record<string, unknown>;
  if (typeof v.kafka !== 'string' || typeof v.kafkaPrevious !== 'string' || typeof v.scala !== 'string') {
    throw new Error('versions.json: "kafka", "kafkaPrevious" and "scala" must be strings');
  }
  return { kafka: v.kafka, kafkaPrevious: v.kafkaPrevious, scala: v.scala };
}

/** The Kafka versions install-kafka.sh installs: versions.json's kafka, then kafkaPrevious. */
export function bedKafkaVersions(): string[] {
  const { kafka, kafkaPrevious } = readVersions();
  return [kafka, kafkaPrevious];
}

/** Cache root: $KAFKA_CDK8S_CACHE or ~/.cache/kafka-cdk8s (same rule as install-kafka.sh). */
export function kafkaCacheDir(): string {
  return process.env.KAFKA_CDK8S_CACHE || join(homedir(), '.cache', 'kafka-cdk8s');
}

export class KafkaNotInstalledError extends Error {
  constructor(readonly home: string, readonly version: string) {
    // install-kafka.sh installs versions.json's kafka and kafkaPrevious, or the versions it is given.
    super(`Kafka ${version} is not installed in ${home}: run bash test/bed/install-kafka.sh (or bash test/bed/install-kafka.sh ${version})`);
    this.name = 'KafkaNotInstalledError';
  }
}

/**
 * Install dir (contains libs/) of a Kafka version, by default the pinned one (versions.json
 * "kafka"). Throws KafkaNotInstalledError if absent.
 */
export function kafkaHome(version = readVersions().kafka): string {
  const home = join(kafkaCacheDir(), `kafka-${version}`);
  if (!isKafkaInstalled(version)) throw new KafkaNotInstalledError(home, version);
  return home;
}

/** True when install-kafka.sh has completed an install of this version (its marker is written last). */
export function isKafkaInstalled(version: string): boolean {
  const home = join(kafkaCacheDir(), `kafka-${version}`);
  return existsSync(join(home, '.complete')) && existsSync(join(home, 'libs'));
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
  b[0] = b[0]! & 0x7f; // never a leading '-' or '_': kafka-storage would read "-xyz" as an option
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
  /** Sends a signal (default SIGKILL, like a crash) and waits for exit. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** What this process (not an earlier one with the same log dir) wrote to stdout.log and server.log. */
  output(): string;
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
  // Both files are appended to by every start with this log dir: remember where ours begins.
  const offsets = [logFile, stdoutFile].map((f) => ({ file: f, from: fileSize(f) }));
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
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> => {
    if (running) child.kill(signal);
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
    output: () => offsets.map(({ file, from }) => readFrom(file, from)).join(''),
  };
}

/** Size of a file, 0 when it does not exist yet. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** A file's text from a byte offset on, '' when it does not exist yet. */
export function readFrom(path: string, offset: number): string {
  try {
    return readFileSync(path).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/** Kafka's SocketServer message when a listener port is taken ("Socket server failed to bind to ...: Address already in use"). */
const ADDRESS_IN_USE = /Address already in use/;

/** What KafkaRaftServer logs once the node has started, every listener bound (KafkaBroker.STARTED_MESSAGE). */
const STARTED = /Kafka Server started/;

/** True when the node has exited because one of its ports was taken. */
export function exitedOnBusyPort(handle: KafkaNodeHandle): boolean {
  return !handle.running && ADDRESS_IN_USE.test(handle.output());
}

export interface StartListeningOptions extends StartKafkaNodeOptions {
  /** Ports (on 127.0.0.1) the node must accept connections on before it counts as started. */
  readonly ports: readonly number[];
  /** For all ports together. */
  readonly timeoutMs: number;
  /** Starts again after a bind failure (default 3), 1 s apart, without formatting again. */
  readonly bindRetries?: number;
}

/**
 * startKafkaNode, then waits until every port accepts connections and Kafka says it has
 * started (a port answering alone could be another process holding it). When the JVM
 * exits because a port was taken, it starts again on the same ports: the test-port
 * allocator (ports.ts) keeps ports apart, so what remains is a brief holder (another
 * process' bind check, a port still being released), which a retry outlasts. Other
 * failures throw with the tail of the node's logs.
 */
export async function startKafkaNodeListening(opts: StartListeningOptions): Promise<KafkaNodeHandle> {
  const deadline = Date.now() + opts.timeoutMs;
  const retries = opts.bindRetries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const handle = await startKafkaNode(attempt === 0 ? opts : { ...opts, clusterId: undefined });
    try {
      for (const port of opts.ports) await waitForPort('127.0.0.1', port, Math.max(1, deadline - Date.now()), handle.exited);
      await waitForStarted(handle, deadline);
      return handle;
    } catch (err) {
      await handle.kill();
      const busy = exitedOnBusyPort(handle);
      if (busy && attempt < retries && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1_000));
        continue;
      }
      const why = busy ? `a port of ${opts.ports.join(', ')} is in use` : (err as Error).message;
      throw new Error(`${handle.name}: ${why}\n--- ${handle.logFile} (tail) ---\n${tailFile(handle.logFile)}\n--- stdout ---\n${tailFile(handle.stdoutFile)}`);
    }
  }
}

async function waitForStarted(handle: KafkaNodeHandle, deadline: number): Promise<void> {
  for (;;) {
    if (STARTED.test(handle.output())) return;
    if (!handle.running) throw new Error('process exited before Kafka had started');
    if (Date.now() > deadline) throw new Error('timed out waiting for "Kafka Server started"');
    await new Promise((r) => setTimeout(r, 200));
  }
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
