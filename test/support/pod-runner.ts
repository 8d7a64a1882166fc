/**
 * A stand-in for the kubelet, for tests only. It registers its Node (Ready), watches
 * the API server for the Pods our output creates and runs each one as a local Kafka
 * process:
 *
 *  1. Bind: sets spec.nodeName (like a scheduler), so a delete is graceful and
 *     waits for us, as it would with a real kubelet.
 *  2. Run: takes server.properties from the Pod's own copy (the env var the
 *     start script writes to a file), maps it onto loopback (see LoopbackMap,
 *     the one place where addresses and data dirs are translated), formats
 *     storage as the start script decides (lib/render/start-script.ts: a broker
 *     plainly; a controller with an empty metadata log bootstraps the quorum
 *     when it is a first controller and no quorum answers, else joins as an
 *     observer) and starts Kafka. JVM options come from the test bed (small
 *     heaps), not the Pod's env; so the log cleaner's dedupe buffer is shrunk
 *     to fit them.
 *  3. Status: phase Running, podIP 127.0.0.1, Ready when the port of the Pod's
 *     tcpSocket probe accepts connections (its exec in-sync check is not run).
 *  4. Crash: a process that exits is started again (restartPolicy Always, the
 *     kubelet's back-off) with the properties file written at step 2: the Pod
 *     runs the config it was created with for its whole life, and a changed
 *     ConfigMap reaches only a new Pod. Reported like a kubelet: Ready=False
 *     while down, restartCount, lastState.terminated (137 after SIGKILL).
 *     Tests crash a process with kill().
 *  5. Delete: on deletionTimestamp, SIGTERM (controlled shutdown) within the
 *     grace period, then confirms the delete with grace 0. A PVC's data dir
 *     survives its Pod, so a recreated Pod finds its data.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProperties, parseProperties } from '../../lib/config/properties-format.js';
import { CONFIG_FILE } from '../../lib/config/server-properties.js';
import { KafkaConnection } from '../../lib/controller/adapters/kafka/connection.js';
import { CLUSTER_METADATA_TOPIC, DescribeQuorum } from '../../lib/controller/adapters/kafka/requests.js';
import { ENV } from '../../lib/render/start-script.js';
import { kubeRequest, kubeWatch, type KubeClientConfig } from './kube-apply.js';
import { exitedOnBusyPort, startKafkaNode, waitForPort, type ExitInfo, type KafkaNodeHandle } from './kafka-process.js';
import { allocatePort } from './ports.js';

export const RUNNER_NODE_NAME = 'kafka-cdk8s-pod-runner';
const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=kafka-cdk8s';
/** Kafka's default 128 MiB dedupe buffer, reallocated on each cleaner reconfiguration, overflows a test-sized heap. */
const SMALL_HEAP_DEDUPE_BUFFER = 16 * 1024 * 1024;
/** How long a started process may take to accept connections on its probe port. */
const READY_TIMEOUT_MS = 120_000;
/** Quiet restarts of a JVM that exited on "Address already in use" before it ever listened. */
const BIND_RETRIES = 3;
/**
 * How long a first controller with an empty metadata log looks for an existing quorum
 * before it bootstraps one, unless the Pod sets the start script's env var. Shorter than
 * the script's 30 s: the bed starts every first controller of a new cluster at once, and
 * a running quorum on loopback answers at the first try.
 */
const BOOTSTRAP_WAIT_MS = 3_000;

/**
 * Where Pod addresses and volumes live on this machine. Every (host, port)
 * that appears in a listener, advertised listener, quorum bootstrap server or
 * initial controller gets its own loopback port; every PVC gets a directory
 * that outlives its Pod.
 */
export class LoopbackMap {
  private readonly ports = new Map<string, number>();
  constructor(readonly dataRoot: string) {}

  /** The loopback port standing in for host:port (allocated on first use, then fixed). */
  async port(host: string, port: number): Promise<number> {
    const key = `${host}:${port}`;
    let local = this.ports.get(key);
    if (local === undefined) {
      // The allocator never hands out a port twice, so the ports of two keys never meet.
      local = await allocatePort();
      // Two callers may have raced for the same key: the first one's port wins.
      local = this.ports.get(key) ?? local;
      this.ports.set(key, local);
    }
    return local;
  }

  /** "127.0.0.1:<port>" for a Pod address, e.g. a broker's advertised listener. */
  async address(host: string, port: number): Promise<string> {
    return `127.0.0.1:${await this.port(host, port)}`;
  }

  claimDir(namespace: string, claim: string): string {
    const dir = join(this.dataRoot, 'pvc', namespace, claim);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** A list of host:port (quorum bootstrap servers) as loopback addresses. */
  async addresses(list: string): Promise<string[]> {
    return await Promise.all(splitList(list).map(async (entry) => {
      const m = /^(.+):(\d+)$/.exec(entry);
      if (!m) throw new Error(`pod runner: cannot map address ${entry}`);
      return await this.address(m[1]!, Number(m[2]));
    }));
  }

  /** The start script's initial controllers, id@host:port:directory-id, with loopback addresses. */
  async initialControllers(list: string): Promise<string> {
    return (await Promise.all(splitList(list).map(async (entry) => {
      const m = /^(\d+)@(.+):(\d+):(.+)$/.exec(entry);
      if (!m) throw new Error(`pod runner: cannot map initial controller ${entry}`);
      return `${m[1]}@${await this.address(m[2]!, Number(m[3]))}:${m[4]}`;
    }))).join(',');
  }

  /**
   * Rewrites a node's server.properties for loopback: listeners, advertised
   * listeners and quorum bootstrap servers to mapped ports, log dirs from mount
   * paths to PVC dirs.
   */
  async localize(props: Record<string, string>, mounts: ReadonlyArray<{ mountPath: string; dir: string }>): Promise<Record<string, string>> {
    const out = { ...props };
    const advertised = advertisedListeners(props);
    if (props['listeners']) {
      out['listeners'] = (await Promise.all(splitList(props['listeners']).map(async (entry) => {
        const m = /^([^:]+):\/\/(.*):(\d+)$/.exec(entry);
        if (!m) throw new Error(`pod runner: cannot map listener ${entry}`);
        const host = advertised.get(m[1]!)?.host ?? m[2]!;
        return `${m[1]}://127.0.0.1:${await this.port(host, Number(m[3]))}`;
      }))).join(',');
    }
    if (props['advertised.listeners']) {
      out['advertised.listeners'] = (await Promise.all([...advertised].map(async ([name, a]) =>
        `${name}://${await this.address(a.host, a.port)}`))).join(',');
    }
    if (props['controller.quorum.bootstrap.servers']) {
      out['controller.quorum.bootstrap.servers'] = (await this.addresses(props['controller.quorum.bootstrap.servers'])).join(',');
    }
    for (const key of ['log.dirs', 'log.dir', 'metadata.log.dir']) {
      if (!props[key]) continue;
      out[key] = splitList(props[key]).map((path) => localPath(path, mounts, key)).join(',');
    }
    return out;
  }
}

/** Where a container path on a PVC mount lives on this machine. */
function localPath(path: string, mounts: ReadonlyArray<{ mountPath: string; dir: string }>, what: string): string {
  const mount = mounts.find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
  if (!mount) throw new Error(`pod runner: ${what} ${path} is on no mounted volume`);
  return mount.dir + path.slice(mount.mountPath.length);
}

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** advertised.listeners as name → host and port. */
function advertisedListeners(props: Readonly<Record<string, string>>): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  for (const entry of splitList(props['advertised.listeners'])) {
    const m = /^([^:]+):\/\/(.+):(\d+)$/.exec(entry);
    if (m) out.set(m[1]!, { host: m[2]!, port: Number(m[3]) });
  }
  return out;
}

export interface PodRunnerOptions {
  readonly kube: KubeClientConfig;
  /** Only Pods of this namespace. @default all namespaces */
  readonly namespace?: string;
  /** @default 'app.kubernetes.io/managed-by=kafka-cdk8s' */
  readonly labelSelector?: string;
  /** Pods, data dirs and logs live here. @default a new temp dir, removed on close() */
  readonly workDir?: string;
}

/** Fixed for a Pod's whole life, container restarts included (see DESIGN: a Pod runs the config it was created with). */
interface Launch {
  /** API path of the Pod. */
  readonly base: string;
  readonly image: string;
  /** The localized server.properties, written once when the Pod is first run. */
  readonly propertiesFile: string;
  readonly logDir: string;
  readonly clusterId?: string;
  readonly overrides: Record<string, string>;
  /** Loopback port of the Pod's tcpSocket probe (undefined: none, Ready once running). */
  readonly probePort?: number;
  /** Controllers only: what the start script needs to decide how the node joins the quorum. */
  readonly quorum?: QuorumJoin;
}

/** The start script's quorum inputs (lib/render/start-script.ts), mapped to this machine. */
interface QuorumJoin {
  readonly nodeId: string;
  /** id@127.0.0.1:port:directory-id, ... */
  readonly initialControllers: string;
  /** Loopback addresses of the controllers. */
  readonly bootstrap: readonly string[];
  /** Local directory of the node's metadata log. */
  readonly metadataDir: string;
  readonly waitMs: number;
}

/** A container's end, as a kubelet reports it in state.terminated / lastState.terminated. */
interface Termination {
  readonly exitCode: number;
  readonly reason: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly containerID: string;
}

interface RunningPod {
  readonly uid: string;
  readonly key: string;
  launch?: Launch;
  node?: KafkaNodeHandle;
  /** status.startTime: when the Pod was first run. */
  podStartedAt?: string;
  /** When the current process was started. */
  containerStartedAt?: string;
  ready: boolean;
  readyChangedAt?: string;
  restarts: number;
  /** Set while the container is down after an exit, until it runs again. */
  down?: Termination;
  /** The previous container's end (lastState.terminated). */
  lastTermination?: Termination;
  /** Quiet restarts left for a JVM that lost a port race before it ever listened. */
  bindRetries: number;
  terminating: boolean;
  /** Serializes everything done to this Pod. */
  queue: Promise<void>;
  /** Serializes status patches, each sending the state as it is when it runs. */
  statusQueue: Promise<void>;
  readonly stopped: Promise<void>;
  markStopped(): void;
}

interface Probe {
  tcpSocket?: { port: number | string };
}

interface PodObject {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; deletionGracePeriodSeconds?: number };
  spec: {
    nodeName?: string;
    terminationGracePeriodSeconds?: number;
    containers: Array<{
      image?: string;
      env?: Array<{ name: string; value?: string }>;
      volumeMounts?: Array<{ name: string; mountPath: string }>;
      readinessProbe?: Probe;
      startupProbe?: Probe;
      livenessProbe?: Probe;
    }>;
    volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>;
  };
}

export class PodRunner {
  readonly map: LoopbackMap;
  private readonly pods = new Map<string, RunningPod>();
  /** Pods by namespace/name, so a recreated Pod waits until its predecessor has stopped. */
  private readonly lastByKey = new Map<string, RunningPod>();
  private watch?: { stop(): void; done: Promise<void> };
  private closed = false;
  private readonly errors: string[] = [];

  private constructor(private readonly opts: PodRunnerOptions, readonly workDir: string, private readonly ownsDir: boolean) {
    this.map = new LoopbackMap(workDir);
  }

  static async start(opts: PodRunnerOptions): Promise<PodRunner> {
    const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'kafka-cdk8s-pods-'));
    const runner = new PodRunner(opts, workDir, opts.workDir === undefined);
    await registerNode(opts.kube);
    await runner.listAndWatch();
    return runner;
  }

  /** Problems the runner met (unrunnable Pods, failed status updates), for test messages. */
  get problems(): readonly string[] {
    return this.errors;
  }

  /** Running Kafka processes by "namespace/name". */
  processes(): Map<string, KafkaNodeHandle> {
    const out = new Map<string, KafkaNodeHandle>();
    for (const p of this.pods.values()) if (p.node?.running) out.set(p.key, p.node);
    return out;
  }

  /**
   * Sends a signal to the Kafka process of a Pod, like a crash (SIGKILL, the default) or
   * a `kill` inside the container, and resolves with its pid once it has exited. The
   * runner then restarts it as a kubelet would (restartPolicy Always).
   */
  async kill(namespace: string, name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number> {
    const node = this.lastByKey.get(`${namespace}/${name}`)?.node;
    if (!node?.running) throw new Error(`pod runner: no running process for Pod ${namespace}/${name}`);
    await node.kill(signal);
    return node.pid;
  }

  private podsPath(): string {
    return this.opts.namespace ? `/api/v1/namespaces/${this.opts.namespace}/pods` : '/api/v1/pods';
  }

  private async listAndWatch(): Promise<void> {
    const selector = this.opts.labelSelector ?? MANAGED_SELECTOR;
    const list = await kubeRequest(this.opts.kube, 'GET', `${this.podsPath()}?labelSelector=${encodeURIComponent(selector)}`);
    if (list.statusCode !== 200) throw new Error(`pod runner: list pods: ${list.statusCode} ${list.text}`);
    for (const pod of list.body.items as PodObject[]) this.onPod('ADDED', pod);
    this.watch = await kubeWatch(this.opts.kube, this.podsPath(),
      { labelSelector: selector, resourceVersion: String(list.body.metadata.resourceVersion), allowWatchBookmarks: 'true' },
      (event) => {
        if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') this.onPod(event.type, event.object as PodObject);
      });
    void this.watch.done.catch(() => undefined).then(() => {
      // The server ends watches from time to time: list again and carry on.
      if (!this.closed) void this.listAndWatch().catch((err) => this.errors.push(`watch: ${(err as Error).message}`));
    });
  }

  private onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: PodObject): void {
    const uid = pod.metadata.uid;
    let state = this.pods.get(uid);
    if (type === 'DELETED') {
      if (state) this.enqueue(state, () => this.stop(state!, 0));
      return;
    }
    if (!state) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      let markStopped!: () => void;
      const stopped = new Promise<void>((r) => { markStopped = r; });
      const predecessor = this.lastByKey.get(key);
      state = {
        uid, key, ready: false, restarts: 0, bindRetries: BIND_RETRIES, terminating: false,
        queue: predecessor?.stopped ?? Promise.resolve(), statusQueue: Promise.resolve(), stopped, markStopped,
      };
      this.pods.set(uid, state);
      this.lastByKey.set(key, state);
      const s = state;
      this.enqueue(s, () => this.prepare(s, pod));
      this.enqueue(s, () => this.startContainer(s));
    }
    if (pod.metadata.deletionTimestamp && !state.terminating) {
      state.terminating = true;
      const s = state;
      this.enqueue(s, async () => {
        await this.stop(s, (pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000);
        await kubeRequest(this.opts.kube, 'DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`,
          { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } });
      });
    }
  }

  private enqueue(state: RunningPod, step: () => Promise<void>): void {
    state.queue = state.queue.then(step).catch((err) => { this.errors.push(`${state.key}: ${(err as Error).message}`); });
  }

  /**
   * Once per Pod: bind it and write the localized server.properties that every start of
   * its container (restarts included) runs. The config is the Pod's own copy (an env var
   * the start script writes to a file), never the live ConfigMap.
   */
  private async prepare(state: RunningPod, pod: PodObject): Promise<void> {
    if (this.closed || state.terminating) return;
    const { namespace, name } = pod.metadata;
    const base = `/api/v1/namespaces/${namespace}/pods/${name}`;
    if (!pod.spec.nodeName) {
      const bind = await kubeRequest(this.opts.kube, 'POST', `${base}/binding`,
        { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: RUNNER_NODE_NAME } });
      if (bind.statusCode >= 300) throw new Error(`bind: ${bind.statusCode} ${bind.text}`);
    }
    const container = pod.spec.containers[0]!;
    const env = new Map((container.env ?? []).map((e) => [e.name, e.value ?? '']));
    const text = env.get(ENV.serverProperties);
    if (text === undefined) throw new Error(`the Pod carries no ${CONFIG_FILE} (env ${ENV.serverProperties})`);
    const mounts = (container.volumeMounts ?? []).flatMap((m) => {
      const claim = pod.spec.volumes?.find((v) => v.name === m.name)?.persistentVolumeClaim?.claimName;
      return claim ? [{ mountPath: m.mountPath, dir: this.map.claimDir(namespace, claim) }] : [];
    });
    const podProps = parseProperties(text);
    const props = await this.map.localize(podProps, mounts);
    const podDir = join(this.workDir, 'pods', namespace, `${name}-${state.uid.slice(0, 8)}`);
    mkdirSync(podDir, { recursive: true });
    const propertiesFile = join(podDir, CONFIG_FILE);
    writeFileSync(propertiesFile, formatProperties(props));
    // The Pod's own host name: that of the advertised listener whose port the probe checks.
    // Readiness is that port answering; the Pod's exec in-sync check is not run here.
    const probe = Number([container.readinessProbe, container.startupProbe, container.livenessProbe].find((p) => p?.tcpSocket)?.tcpSocket?.port);
    const podHost = [...advertisedListeners(podProps).values()].find((l) => l.port === probe)?.host;
    const initial = env.get(ENV.initialControllers);
    state.launch = {
      base,
      image: container.image ?? '',
      propertiesFile,
      logDir: join(podDir, 'logs'),
      clusterId: env.get(ENV.clusterId),
      overrides: props['log.cleaner.dedupe.buffer.size'] ? {} : { 'log.cleaner.dedupe.buffer.size': String(SMALL_HEAP_DEDUPE_BUFFER) },
      probePort: podHost ? await this.map.port(podHost, probe) : undefined,
      quorum: initial ? {
        nodeId: env.get(ENV.nodeId) ?? podProps['node.id'] ?? '',
        initialControllers: await this.map.initialControllers(initial),
        bootstrap: await this.map.addresses(env.get(ENV.quorumBootstrap) ?? podProps['controller.quorum.bootstrap.servers'] ?? ''),
        metadataDir: localPath(env.get(ENV.metadataDir) ?? podProps['metadata.log.dir'] ?? '', mounts, ENV.metadataDir),
        waitMs: env.has(ENV.bootstrapWaitSeconds) ? Number(env.get(ENV.bootstrapWaitSeconds)) * 1000 : BOOTSTRAP_WAIT_MS,
      } : undefined,
    };
  }

  /**
   * The format arguments the start script would choose at this container start:
   * - no initial controllers (a broker): a plain format;
   * - a metadata log already there (a restart, a recreated Pod): --no-initial-controllers;
   * - else the quorum is asked for a leader: one answers, so the quorum exists and the node
   *   joins it as an observer (--no-initial-controllers); nobody answers within the wait
   *   and the node is one of the first controllers: it bootstraps the quorum
   *   (--initial-controllers). undefined: the Pod went away while waiting.
   */
  private async formatArgs(state: RunningPod, quorum: QuorumJoin | undefined): Promise<string[] | undefined> {
    if (!quorum) return [];
    if (existsSync(join(quorum.metadataDir, 'meta.properties'))) return ['--no-initial-controllers'];
    const first = splitList(quorum.initialControllers).some((c) => c.startsWith(`${quorum.nodeId}@`));
    const deadline = Date.now() + quorum.waitMs;
    while (!(await quorumHasLeader(quorum.bootstrap))) {
      if (this.closed || state.terminating) return undefined;
      if (first && Date.now() >= deadline) return ['--initial-controllers', quorum.initialControllers];
      await new Promise((r) => setTimeout(r, 500));
    }
    return ['--no-initial-controllers'];
  }

  /**
   * Starts (or restarts) the Pod's one container: format --ignore-formatted and Kafka, as
   * the start script does, with the properties file prepare() wrote. Readiness and
   * exit are followed outside the queue, so a delete never waits for a start-up.
   */
  private async startContainer(state: RunningPod, restart = false): Promise<void> {
    const launch = state.launch;
    if (this.closed || state.terminating || !launch) return;
    const formatArgs = await this.formatArgs(state, launch.quorum);
    if (formatArgs === undefined) return;
    const node = await startKafkaNode({
      propertiesFile: launch.propertiesFile, logDir: launch.logDir, clusterId: launch.clusterId, formatArgs, name: state.key, overrides: launch.overrides,
    });
    if (this.closed) {
      await node.kill();
      return;
    }
    const now = new Date().toISOString();
    if (restart) {
      state.restarts += 1;
      state.lastTermination = state.down;
    }
    state.down = undefined;
    state.node = node;
    state.podStartedAt ??= now;
    state.containerStartedAt = now;
    this.setReady(state, false);
    void node.exited.then((exit) => this.onExit(state, node, exit));
    void this.probe(state, node, launch.probePort);
  }

  /** Ready=True once the probe port accepts connections (no tcpSocket probe: once running). */
  private async probe(state: RunningPod, node: KafkaNodeHandle, port: number | undefined): Promise<void> {
    try {
      if (port !== undefined) await waitForPort('127.0.0.1', port, READY_TIMEOUT_MS, node.exited);
      if (!state.terminating && state.node === node && node.running) this.setReady(state, true);
    } catch (err) {
      // An exit is onExit's business; only a process that runs but never listens is a problem.
      if (!state.terminating && node.running) this.errors.push(`${state.key}: not ready: ${(err as Error).message}`);
    }
  }

  /** restartPolicy Always: report the end, then start the container again, like a kubelet. */
  private onExit(state: RunningPod, node: KafkaNodeHandle, exit: ExitInfo): void {
    if (state.terminating || this.closed || state.node !== node) return;
    if (!state.ready && state.bindRetries > 0 && exitedOnBusyPort(node)) {
      // Lost a port race before it ever listened (see ports.ts): not the Pod's crash.
      state.bindRetries -= 1;
      setTimeout(() => this.enqueue(state, () => this.startContainer(state)), 1_000).unref();
      return;
    }
    state.down = {
      exitCode: exitCode(exit),
      reason: exit.code === 0 ? 'Completed' : 'Error',
      startedAt: state.containerStartedAt!,
      finishedAt: new Date().toISOString(),
      containerID: containerId(node),
    };
    this.setReady(state, false);
    setTimeout(() => this.enqueue(state, () => this.startContainer(state, true)), restartBackoffMs(state.restarts)).unref();
  }

  private setReady(state: RunningPod, ready: boolean): void {
    if (state.ready !== ready || !state.readyChangedAt) state.readyChangedAt = new Date().toISOString();
    state.ready = ready;
    this.reportStatus(state);
  }

  private async stop(state: RunningPod, graceMs: number): Promise<void> {
    state.terminating = true;
    const node = state.node;
    if (node?.running) await node.stop(Math.max(graceMs, 5_000));
    state.markStopped();
  }

  private reportStatus(state: RunningPod): void {
    state.statusQueue = state.statusQueue
      .then(() => this.patchStatus(state))
      .catch((err) => { if (!this.closed) this.errors.push(`${state.key}: ${(err as Error).message}`); });
  }

  /** Sends the Pod status as it is now (so patches queued behind each other converge on the latest). */
  private async patchStatus(state: RunningPod): Promise<void> {
    const launch = state.launch!;
    const ready = state.ready ? 'True' : 'False';
    const since = state.podStartedAt!;
    const notReady = state.ready ? {} : { reason: 'ContainersNotReady', message: 'containers with unready status: [kafka]' };
    const terminated = (t: Termination): object => ({ terminated: { ...t } });
    const status = {
      phase: 'Running',
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: since,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: since },
        { type: 'Initialized', status: 'True', lastTransitionTime: since },
        { type: 'ContainersReady', status: ready, lastTransitionTime: state.readyChangedAt, ...notReady },
        { type: 'Ready', status: ready, lastTransitionTime: state.readyChangedAt, ...notReady },
      ],
      containerStatuses: [{
        name: 'kafka',
        image: launch.image,
        imageID: '',
        containerID: state.down?.containerID ?? (state.node ? containerId(state.node) : undefined),
        ready: state.ready,
        started: !state.down,
        restartCount: state.restarts,
        state: state.down ? terminated(state.down) : { running: { startedAt: state.containerStartedAt } },
        lastState: state.lastTermination ? terminated(state.lastTermination) : {},
      }],
    };
    const res = await kubeRequest(this.opts.kube, 'PATCH', `${launch.base}/status`, { status }, 'application/merge-patch+json');
    if (res.statusCode >= 300 && res.statusCode !== 404) throw new Error(`status: ${res.statusCode} ${res.text}`);
  }

  /** Stops every process (SIGKILL after a short grace) and removes the work dir if it made it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watch?.stop();
    await Promise.all([...this.pods.values()].map(async (p) => {
      p.terminating = true;
      if (p.node?.running) await p.node.stop(10_000);
    }));
    if (this.ownsDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** The start script's has_leader: some controller answers DescribeQuorum with a leader. */
async function quorumHasLeader(addresses: readonly string[]): Promise<boolean> {
  for (const address of addresses) {
    let conn: KafkaConnection | undefined;
    try {
      conn = await KafkaConnection.open(address, { clientId: 'kafka-cdk8s-pod-runner', connectTimeoutMs: 2_000, requestTimeoutMs: 5_000 });
      const res = await conn.send(DescribeQuorum, { topics: [{ topicName: CLUSTER_METADATA_TOPIC, partitions: [0] }] });
      const partition = res.topics[0]?.partitions[0];
      if (res.errorCode === 0 && partition?.errorCode === 0 && partition.leaderId >= 0) return true;
    } catch {
      // not listening (yet), or no quorum: ask the next one
    } finally {
      conn?.close();
    }
  }
  return false;
}

/** A kubelet's exit code: the process' own, or 128 + the signal number (137 for SIGKILL). */
function exitCode(exit: ExitInfo): number {
  if (exit.code !== null) return exit.code;
  return 128 + (exit.signal ? (osConstants.signals[exit.signal] ?? 0) : 0);
}

/** containerID in the kubelet's "<runtime>://<id>" form; the id is the pid, so a restart shows. */
function containerId(node: KafkaNodeHandle): string {
  return `pod-runner://${node.pid}`;
}

/** A kubelet's crash-loop back-off: the first restart at once, then 10 s doubling up to 5 min. */
function restartBackoffMs(restartsSoFar: number): number {
  return restartsSoFar === 0 ? 0 : Math.min(10_000 * 2 ** (restartsSoFar - 1), 300_000);
}

/**
 * Registers the runner's Node, Ready, as a kubelet registers itself: controllers look up
 * a Pod's node (the EndpointSlice controller leaves out endpoints on a missing node; PodGC
 * deletes Pods bound to one). Nothing in the test bed marks it NotReady later (no
 * node-lifecycle controller runs), so there is no heartbeat.
 */
export async function registerNode(kube: KubeClientConfig): Promise<void> {
  const path = `/api/v1/nodes/${RUNNER_NODE_NAME}`;
  const labels = { 'kubernetes.io/hostname': RUNNER_NODE_NAME, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' };
  const created = await kubeRequest(kube, 'POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: RUNNER_NODE_NAME, labels } });
  if (created.statusCode >= 300 && created.statusCode !== 409) throw new Error(`pod runner: register Node: ${created.statusCode} ${created.text}`);
  // TaintNodesByCondition admission gives a new Node the not-ready taint, which only the
  // node-lifecycle controller would lift.
  const spec = await kubeRequest(kube, 'PATCH', path, { spec: { taints: null } }, 'application/merge-patch+json');
  if (spec.statusCode >= 300) throw new Error(`pod runner: Node taints: ${spec.statusCode} ${spec.text}`);
  const now = new Date().toISOString();
  const capacity = { cpu: '2', memory: '8Gi', pods: '110' };
  const status = {
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'pod runner is ready', lastHeartbeatTime: now, lastTransitionTime: now }],
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: RUNNER_NODE_NAME }],
    capacity,
    allocatable: capacity,
  };
  const res = await kubeRequest(kube, 'PATCH', `${path}/status`, { status }, 'application/merge-patch+json');
  if (res.statusCode >= 300) throw new Error(`pod runner: Node status: ${res.statusCode} ${res.text}`);
}

/** Waits until every named Pod reports Ready=True in the API server. */
export async function waitForPodsReady(kube: KubeClientConfig, namespace: string, names: readonly string[], timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending: string[] = [...names];
  while (pending.length > 0) {
    const res = await kubeRequest(kube, 'GET', `/api/v1/namespaces/${namespace}/pods`);
    const ready = new Set((res.body?.items ?? [])
      .filter((p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))
      .map((p: any) => p.metadata.name as string));
    pending = names.filter((n) => !ready.has(n));
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`Pods not Ready after ${timeoutMs} ms: ${pending.join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
