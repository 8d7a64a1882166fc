/**
 * A stand-in for the kubelet, for tests only. It registers its Node (Ready), watches
 * the API server for the Pods our output creates and runs each one on this machine,
 * with the Pod's own command and probes:
 *
 *  1. Bind: sets spec.nodeName (like a scheduler), so a delete is graceful and
 *     waits for us, as it would with a real kubelet.
 *  2. Run: the container's command and args (lib/render/start-script.ts: write the
 *     Pod's own config, format storage, decide how a controller joins the quorum,
 *     exec Kafka), with the container's env, run by bash on this machine. What a
 *     container would find at fixed places is mapped (see Localizer, the one place
 *     where addresses and paths are translated): /opt/kafka → the test bed's
 *     wrappers (test/bed/kafka/bin: the image's scripts over the bed's jars of the
 *     Kafka version the image names, see "Image" below; small heaps), each emptyDir
 *     mount → a per-Pod dir (survives container restarts), each PVC mount → the
 *     claim's dir (survives the Pod), /tmp → a per-container-start dir (the
 *     container's own layer: a restart starts with an empty one), and
 *     every <service host>:<port> and the Pod's own 127.0.0.1/localhost:<container
 *     port> → its loopback port (LoopbackMap). The runner sets
 *     KAFKA_CDK8S_BOOTSTRAP_WAIT_SECONDS to 3 unless the Pod sets it: the bed starts
 *     every first controller of a new cluster at once.
 *  3. Probes: the startup probe's tcp port is polled (every 250 ms, so a start is not
 *     held up by a 10 s period; it fails after periodSeconds × failureThreshold);
 *     then the readiness probe runs at once and every periodSeconds, with its
 *     timeoutSeconds, failureThreshold and successThreshold, mapped like the command
 *     (an exec probe runs in the container's env and /tmp, as `kubectl exec` would);
 *     Ready follows it. The liveness probe runs every periodSeconds; failureThreshold
 *     failures in a row restart the container. Status: phase Running, podIP
 *     127.0.0.1, started, ready.
 *  4. Crash: a container whose main process exits is started again (restartPolicy
 *     Always, the kubelet's back-off): same Pod env and emptyDir, so it runs the
 *     config the Pod was created with, never a changed ConfigMap. Reported like a
 *     kubelet: Ready=False while down, restartCount, lastState.terminated (137 after
 *     SIGKILL). Tests crash a container with kill().
 *  5. Delete: on deletionTimestamp, SIGTERM to the container's main process
 *     (controlled shutdown) within the grace period, then SIGKILL to everything left
 *     in it, then confirms the delete with grace 0. A PVC's dir survives its Pod, so a
 *     recreated Pod finds its data.
 *
 * Image: the runner pulls nothing; the image's tag picks which of the bed's Kafka
 * installations (test/bed/install-kafka.sh: versions.json's kafka and kafkaPrevious,
 * each in its own kafka-<version>/ of the cache) the wrappers run, through
 * KAFKA_CDK8S_BED_KAFKA_HOME, so a cluster can be upgraded by changing its Pods' image:
 *  - a tag that names a Kafka version (starts with digits and a dot, e.g. apache/kafka:4.3.1
 *    or registry.example.com/kafka:4.3.1, whatever the repository) runs that version; if the
 *    bed has not installed it, the container never starts: the Pod reports waiting
 *    ErrImagePull with the reason, and the runner records a problem;
 *  - no tag, "latest", any other tag, or a digest (the tag of a digest-pinned image says
 *    nothing reliable) runs versions.json's kafka.
 * Fixed for the Pod's life, as the image is for a container (the controller replaces Pods
 * to change their image; an in-place image update is not followed).
 *
 * A container is a process group: its main process (bash, which execs the JVM) and
 * whatever it starts; an exec probe is a process group of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaConnection } from '../../lib/controller/adapters/kafka/connection.js';
import { CLUSTER_METADATA_TOPIC, DescribeQuorum } from '../../lib/controller/adapters/kafka/requests.js';
import { ENV } from '../../lib/render/start-script.js';
import { kubeRequest, kubeWatch, type KubeClientConfig } from './kube-apply.js';
import {
  REPO_ROOT, bedKafkaVersions, exitedOnBusyPort, fileSize, isKafkaInstalled, kafkaHome, readFrom, readVersions, tailFile,
  type ExitInfo, type KafkaNodeHandle,
} from './kafka-process.js';
import { allocatePort } from './ports.js';
import { killAtExit, killGroup } from './process-groups.js';

export const RUNNER_NODE_NAME = 'kafka-cdk8s-pod-runner';
const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=kafka-cdk8s';
/** The wrappers standing in for the image's Kafka installation (/opt/kafka). */
export const WRAPPER_HOME = join(REPO_ROOT, 'test', 'bed', 'kafka');
/** Where the Kafka image has its installation; a Pod's command and probes call its scripts. */
const IMAGE_KAFKA_HOME = '/opt/kafka';
/** The start script's wait for an existing quorum (lib/render/start-script.ts), unless the Pod sets it. */
const BOOTSTRAP_WAIT_SECONDS = '3';
/** Tells the wrappers where the bed's jars are (see test/bed/kafka/bin/kafka-run-class.sh). */
const BED_KAFKA_HOME_ENV = 'KAFKA_CDK8S_BED_KAFKA_HOME';
/** An image tag that names a Kafka version (4.3.1, also 4.3 or 4.3.1-rc0, which the bed never installs). */
const VERSION_TAG = /^\d+\.\d/;
/** Of this machine's env, only what a container's image would provide (and the bed's own switches). */
const PASSED_ENV = ['PATH', 'JAVA_HOME', 'LANG', 'LC_ALL', 'KAFKA_CDK8S_CACHE', 'KAFKA_CDK8S_NO_CDS'];
/** A started container whose probe port does not answer by then is reported as a problem (it keeps running). */
const SLOW_START_MS = 120_000;
/** How often the startup probe's port is tried. */
const STARTUP_POLL_MS = 250;
/** Quiet restarts of a JVM that exited on "Address already in use" before it ever listened. */
const BIND_RETRIES = 3;

/** A Kubernetes DNS label. */
const LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?';
/** A Service's DNS name: <service>.<namespace>.svc[.<cluster domain>]. */
const SERVICE_HOST = `${LABEL}\\.${LABEL}\\.svc(?:\\.${LABEL})*`;
const NOT_HOST_BEFORE = '(?<![A-Za-z0-9.-])';
const SERVICE_ADDRESS = new RegExp(`${NOT_HOST_BEFORE}(${SERVICE_HOST}):(\\d{1,5})(?![0-9])`, 'g');

/**
 * Where Pod addresses and volumes live on this machine. Every Service address
 * (host:port) gets its own loopback port; every PVC gets a directory that outlives
 * its Pod.
 */
export class LoopbackMap {
  private readonly ports = new Map<string, number>();
  constructor(readonly dataRoot: string) {}

  /** The loopback port standing in for host:port (allocated on first use, then fixed). */
  async port(host: string, port: number): Promise<number> {
    const key = addressKey(host, port);
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

  /** The port of host:port when it has one already. */
  portIfKnown(host: string, port: number): number | undefined {
    return this.ports.get(addressKey(host, port));
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
}

/** One key per Service address, however much of the cluster domain is written: <service>.<namespace>:<port>. */
function addressKey(host: string, port: number): string {
  const m = /^([^.]+\.[^.]+)\.svc(\..*)?$/.exec(host);
  return `${m ? m[1] : host}:${port}`;
}

/**
 * Maps what a Pod's command, args, env and probes name inside its container onto
 * this machine, in one pass over the text (so nothing is mapped twice):
 * - <service>.<namespace>.svc[.<domain>]:<port> → 127.0.0.1:<its loopback port>;
 * - the Pod's own 127.0.0.1 / localhost / 0.0.0.0 :<container port>, a listener
 *   without host (INTERNAL://:9092) and bash's /dev/tcp/127.0.0.1/<container port>
 *   → the loopback port of the Pod's own Service address;
 * - /opt/kafka, mount paths and /tmp (longest first, whole path segments) → the
 *   wrapper home, the volume dirs and this container start's dir.
 */
class Localizer {
  private readonly pattern: RegExp;

  constructor(
    private readonly servicePorts: ReadonlyMap<string, number>,
    private readonly ownPorts: ReadonlyMap<number, number>,
    private readonly paths: ReadonlyMap<string, string>,
  ) {
    const roots = [...paths.keys(), '/tmp'].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|');
    this.pattern = new RegExp([
      `${NOT_HOST_BEFORE}(?<svcHost>${SERVICE_HOST}):(?<svcPort>\\d{1,5})(?![0-9])`,
      `${NOT_HOST_BEFORE}(?:127\\.0\\.0\\.1|localhost|0\\.0\\.0\\.0):(?<ownPort>\\d{1,5})(?![0-9])`,
      `/dev/tcp/(?:127\\.0\\.0\\.1|localhost)/(?<tcpPort>\\d{1,5})(?![0-9])`,
      `://:(?<anyPort>\\d{1,5})(?![0-9])`,
      `(?<![A-Za-z0-9_./-])(?<path>${roots})(?![A-Za-z0-9_.-])`,
    ].join('|'), 'g');
  }

  /** The text with every address and path mapped; tmpDir is this container start's /tmp. */
  map(text: string, tmpDir: string): string {
    return text.replace(this.pattern, (match, ...rest) => {
      const g = rest.at(-1) as Record<string, string | undefined>;
      if (g.svcHost !== undefined) {
        const port = this.servicePorts.get(addressKey(g.svcHost, Number(g.svcPort)));
        if (port === undefined) throw new Error(`pod runner: no loopback port for ${g.svcHost}:${g.svcPort}`);
        return `127.0.0.1:${port}`;
      }
      const own = g.ownPort ?? g.tcpPort ?? g.anyPort;
      if (own !== undefined) {
        const port = this.ownPorts.get(Number(own));
        if (port === undefined) return match; // not a port of this container
        if (g.tcpPort !== undefined) return `/dev/tcp/127.0.0.1/${port}`;
        return g.anyPort !== undefined ? `://127.0.0.1:${port}` : `127.0.0.1:${port}`;
      }
      return g.path === '/tmp' ? tmpDir : this.paths.get(g.path!)!;
    });
  }
}

/**
 * The Kafka version a container image runs in the bed (see "Image" in the header): the
 * version its tag names, or versions.json's kafka when the tag names none.
 */
export function kafkaVersionOfImage(image: string): { version: string; named: boolean } {
  const tag = imageTag(image);
  if (tag !== undefined && VERSION_TAG.test(tag)) return { version: tag, named: true };
  return { version: readVersions().kafka, named: false };
}

/** The tag of an image reference; undefined when it has none or is pinned by digest. */
export function imageTag(image: string): string | undefined {
  if (image.includes('@')) return undefined;
  const colon = image.lastIndexOf(':');
  // A colon before the last '/' is a registry port (localhost:5000/kafka), not a tag.
  return colon > image.lastIndexOf('/') ? image.slice(colon + 1) : undefined;
}

/**
 * The Kafka installation (KAFKA_CDK8S_BED_KAFKA_HOME) a container image runs; throws, with
 * what to do, when its tag names a version the bed has not installed.
 */
export function kafkaHomeOfImage(image: string): string {
  const { version, named } = kafkaVersionOfImage(image);
  if (!named || isKafkaInstalled(version)) return kafkaHome(version);
  const bed = bedKafkaVersions();
  const hint = bed.includes(version) ? 'run bash test/bed/install-kafka.sh'
    : /^\d+\.\d+\.\d+$/.test(version) ? `use a tag of ${bed.join(' or ')}, or install it: bash test/bed/install-kafka.sh ${version}`
      : `use a tag of ${bed.join(' or ')}`;
  throw new Error(`image ${image}: the test bed has no Kafka ${version} (it installs versions.json's kafka and kafkaPrevious: ${bed.join(', ')}); ${hint}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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

/** A probe as the Pod declares it, with the kubelet's defaults filled in. */
interface ProbeSpec {
  /** argv of an exec probe (unmapped). */
  readonly exec?: readonly string[];
  /** Loopback port of a tcpSocket probe. */
  readonly tcpPort?: number;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
  readonly initialDelayMs: number;
}

/** Fixed for a Pod's whole life, container restarts included. */
interface Launch {
  /** API path of the Pod. */
  readonly base: string;
  readonly image: string;
  readonly podDir: string;
  /** The container's log (stdout and stderr of every start, appended, like `kubectl logs`). */
  readonly logFile: string;
  /** What every probe run printed, with its result. */
  readonly probeLog: string;
  /** command + args, unmapped. */
  readonly argv: readonly string[];
  /** Of this machine's env, what a container gets (PATH, JAVA_HOME, where the bed's jars are). */
  readonly hostEnv: Readonly<Record<string, string>>;
  /** The Pod's env (and the bed's defaults for it), unmapped. */
  readonly env: Readonly<Record<string, string>>;
  readonly localizer: Localizer;
  readonly startup?: ProbeSpec;
  readonly readiness?: ProbeSpec;
  readonly liveness?: ProbeSpec;
  readonly graceMs: number;
}

/** A container's end, as a kubelet reports it in state.terminated / lastState.terminated. */
interface Termination {
  readonly exitCode: number;
  readonly reason: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly containerID: string;
}

/** One start of the Pod's container. */
interface Container {
  readonly handle: ContainerHandle;
  /** This start's /tmp. */
  readonly tmpDir: string;
  /** The startup probe has passed. */
  started: boolean;
}

interface RunningPod {
  readonly uid: string;
  readonly key: string;
  launch?: Launch;
  container?: Container;
  /** Counts container starts, for their dirs. */
  starts: number;
  /** status.startTime: when the Pod was first run. */
  podStartedAt?: string;
  /** When the current container was started. */
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

interface ProbeObject {
  exec?: { command: string[] };
  tcpSocket?: { port: number | string };
  httpGet?: unknown;
  grpc?: unknown;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
  initialDelaySeconds?: number;
}

interface PodObject {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; deletionGracePeriodSeconds?: number };
  spec: {
    nodeName?: string;
    hostname?: string;
    terminationGracePeriodSeconds?: number;
    containers: Array<{
      image?: string;
      command?: string[];
      args?: string[];
      env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
      ports?: Array<{ name?: string; containerPort: number }>;
      volumeMounts?: Array<{ name: string; mountPath: string }>;
      readinessProbe?: ProbeObject;
      startupProbe?: ProbeObject;
      livenessProbe?: ProbeObject;
    }>;
    volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: object }>;
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
    kafkaHome(); // the wrappers need the bed's jars: fail here, not in every Pod
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

  /** Running containers by "namespace/name" (the handle's pid is the container's main process: bash, then the JVM it execs). */
  processes(): Map<string, KafkaNodeHandle> {
    const out = new Map<string, KafkaNodeHandle>();
    for (const p of this.pods.values()) if (p.container?.handle.running) out.set(p.key, p.container.handle);
    return out;
  }

  /**
   * Sends a signal to the main process of a Pod's container (the Kafka JVM once the
   * start script has exec'd it), like a crash (SIGKILL, the default) or a `kill` inside
   * the container, and resolves with its pid once the container has ended. The runner
   * then restarts it as a kubelet would (restartPolicy Always).
   */
  async kill(namespace: string, name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number> {
    const handle = this.lastByKey.get(`${namespace}/${name}`)?.container?.handle;
    if (!handle?.running) throw new Error(`pod runner: no running container for Pod ${namespace}/${name}`);
    await handle.kill(signal);
    return handle.pid;
  }

  /**
   * Freezes (SIGSTOP) or thaws (SIGCONT) every process of a Pod's container: a broker that
   * is "down" for Kafka (it stops fetching and drops out of the ISR) while its process and
   * Pod stay, as with a hung JVM or a partitioned node. Does not wait for anything.
   */
  freeze(namespace: string, name: string, frozen: boolean): void {
    const handle = this.lastByKey.get(`${namespace}/${name}`)?.container?.handle;
    if (!handle?.running) throw new Error(`pod runner: no running container for Pod ${namespace}/${name}`);
    process.kill(-handle.pid, frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  /** The latest Pod of that name's dir: its emptyDir volumes, container starts, log and probe log. */
  podDir(namespace: string, name: string): string | undefined {
    return this.lastByKey.get(`${namespace}/${name}`)?.launch?.podDir;
  }

  /** The tail of a Pod's container log and probe log, for test failure messages. */
  diagnostics(namespace: string, name: string, lines = 30): string {
    const launch = this.lastByKey.get(`${namespace}/${name}`)?.launch;
    if (!launch) {
      const why = this.errors.filter((e) => e.startsWith(`${namespace}/${name}: `));
      return `${namespace}/${name}: never run${why.length > 0 ? `\n${why.join('\n')}` : ''}`;
    }
    return `--- ${namespace}/${name} container log (tail) ---\n${tailFile(launch.logFile, lines)}\n` +
      `--- ${namespace}/${name} probe log (tail) ---\n${tailFile(launch.probeLog, lines)}`;
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
        uid, key, starts: 0, ready: false, restarts: 0, bindRetries: BIND_RETRIES, terminating: false,
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
   * Once per Pod: bind it, make its dirs and work out how its container's names map
   * onto this machine (loopback ports for every Service address it names and for its
   * own ports, dirs for its mounts).
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
    if (pod.spec.containers.length !== 1) throw new Error(`the runner runs Pods of one container, not ${pod.spec.containers.length}`);
    const container = pod.spec.containers[0]!;
    let bedKafkaHome: string;
    try {
      bedKafkaHome = kafkaHomeOfImage(container.image ?? '');
    } catch (err) {
      // As a kubelet that cannot pull the image: the Pod stays Pending and says why.
      await this.reportImageProblem(base, container.image ?? '', (err as Error).message);
      throw err;
    }
    const argv = [...(container.command ?? []), ...(container.args ?? [])];
    if (argv.length === 0) throw new Error('the container has no command (the runner has no image to take one from)');
    const podDir = join(this.workDir, 'pods', namespace, `${name}-${state.uid.slice(0, 8)}`);
    mkdirSync(podDir, { recursive: true });

    const paths = new Map<string, string>([[IMAGE_KAFKA_HOME, WRAPPER_HOME]]);
    for (const m of container.volumeMounts ?? []) {
      const volume = pod.spec.volumes?.find((v) => v.name === m.name);
      if (volume?.persistentVolumeClaim) paths.set(m.mountPath, this.map.claimDir(namespace, volume.persistentVolumeClaim.claimName));
      else if (volume?.emptyDir) paths.set(m.mountPath, mkdir(join(podDir, 'volumes', m.name)));
      else throw new Error(`volume ${m.name} (mounted at ${m.mountPath}) is neither an emptyDir nor a PVC`);
    }
    for (const dir of paths.values()) {
      if (/\s/.test(dir)) throw new Error(`a mapped path must not contain whitespace (scripts use it unquoted): ${dir}`);
    }

    // What the image and the bed provide (never mapped: these are this machine's paths), then the Pod's env.
    const hostEnv: Record<string, string> = {};
    for (const k of PASSED_ENV) if (process.env[k] !== undefined) hostEnv[k] = process.env[k]!;
    hostEnv[BED_KAFKA_HOME_ENV] = bedKafkaHome;
    const env: Record<string, string> = { [ENV.bootstrapWaitSeconds]: BOOTSTRAP_WAIT_SECONDS };
    for (const e of container.env ?? []) {
      if (e.valueFrom !== undefined) throw new Error(`env ${e.name}: valueFrom is not supported by the runner`);
      env[e.name] = e.value ?? '';
    }

    // Loopback ports: the Pod's own (its Service is named like its hostname), then every
    // Service address its command, env and probes name.
    const ownHost = `${pod.spec.hostname ?? name}.${namespace}.svc`;
    const ownPorts = new Map<number, number>();
    for (const p of container.ports ?? []) ownPorts.set(p.containerPort, await this.map.port(ownHost, p.containerPort));
    const probes = [container.startupProbe, container.readinessProbe, container.livenessProbe];
    const texts = [...argv, ...Object.values(env), ...probes.flatMap((p) => p?.exec?.command ?? [])];
    const servicePorts = new Map<string, number>();
    for (const text of texts) {
      for (const m of text.matchAll(SERVICE_ADDRESS)) {
        servicePorts.set(addressKey(m[1]!, Number(m[2])), await this.map.port(m[1]!, Number(m[2])));
      }
    }

    const probe = (p: ProbeObject | undefined, what: string): ProbeSpec | undefined => {
      if (!p) return undefined;
      if (p.httpGet || p.grpc) throw new Error(`${what}: only exec and tcpSocket probes are supported`);
      let tcpPort: number | undefined;
      if (p.tcpSocket) {
        const named = typeof p.tcpSocket.port === 'string' ? container.ports?.find((x) => x.name === p.tcpSocket!.port)?.containerPort : p.tcpSocket.port;
        tcpPort = named === undefined ? undefined : ownPorts.get(named);
        if (tcpPort === undefined) throw new Error(`${what}: port ${p.tcpSocket.port} is not a port of the container`);
      }
      return {
        exec: p.exec?.command,
        tcpPort,
        periodMs: (p.periodSeconds ?? 10) * 1000,
        timeoutMs: (p.timeoutSeconds ?? 1) * 1000,
        failureThreshold: p.failureThreshold ?? 3,
        successThreshold: p.successThreshold ?? 1,
        initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
      };
    };

    state.launch = {
      base,
      image: container.image ?? '',
      podDir,
      logFile: join(podDir, 'container.log'),
      probeLog: join(podDir, 'probes.log'),
      argv,
      hostEnv,
      env,
      localizer: new Localizer(servicePorts, ownPorts, paths),
      startup: probe(container.startupProbe, 'startupProbe'),
      readiness: probe(container.readinessProbe, 'readinessProbe'),
      liveness: probe(container.livenessProbe, 'livenessProbe'),
      graceMs: (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000,
    };
  }

  /** The status of a Pod whose image cannot run: Pending, its container waiting with ErrImagePull. */
  private async reportImageProblem(base: string, image: string, message: string): Promise<void> {
    const now = new Date().toISOString();
    const status = {
      phase: 'Pending',
      hostIP: '127.0.0.1',
      startTime: now,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Ready', status: 'False', lastTransitionTime: now, reason: 'ContainersNotReady', message: 'containers with unready status: [kafka]' },
      ],
      containerStatuses: [{
        name: 'kafka', image, imageID: '', ready: false, started: false, restartCount: 0,
        state: { waiting: { reason: 'ErrImagePull', message } }, lastState: {},
      }],
    };
    const res = await kubeRequest(this.opts.kube, 'PATCH', `${base}/status`, { status }, 'application/merge-patch+json');
    if (res.statusCode >= 300 && res.statusCode !== 404) this.errors.push(`${base}: status: ${res.statusCode} ${res.text}`);
  }

  /**
   * Starts (or restarts) the Pod's one container: its command with its env, mapped, in
   * a fresh /tmp (the previous start's is gone, as a container's own layer is).
   * Probes and exit are followed outside the queue, so a delete never waits for them.
   */
  private async startContainer(state: RunningPod, restart = false): Promise<void> {
    const launch = state.launch;
    if (this.closed || state.terminating || !launch) return;
    if (state.container) rmSync(state.container.tmpDir, { recursive: true, force: true });
    state.starts += 1;
    const tmpDir = mkdir(join(launch.podDir, 'containers', String(state.starts), 'tmp'));
    const handle = spawnContainer({
      name: state.key,
      argv: launch.argv.map((a) => launch.localizer.map(a, tmpDir)),
      env: containerEnv(launch, tmpDir),
      cwd: tmpDir,
      logFile: launch.logFile,
    });
    const container: Container = { handle, tmpDir, started: false };
    const now = new Date().toISOString();
    if (restart) {
      state.restarts += 1;
      state.lastTermination = state.down;
    }
    state.down = undefined;
    state.container = container;
    state.podStartedAt ??= now;
    state.containerStartedAt = now;
    this.setReady(state, false, true);
    void handle.exited.then((exit) => this.onExit(state, container, exit));
    void this.followProbes(state, container).catch((err) => {
      if (this.alive(state, container)) this.errors.push(`${state.key}: probes: ${(err as Error).message}`);
    });
  }

  private alive(state: RunningPod, container: Container): boolean {
    return !this.closed && !state.terminating && state.container === container && container.handle.running;
  }

  /** The kubelet's probe workers for one container start: startup, then readiness and liveness. */
  private async followProbes(state: RunningPod, container: Container): Promise<void> {
    const launch = state.launch!;
    const { startup, readiness, liveness } = launch;
    if (startup) {
      await this.sleepWhileAlive(state, container, startup.initialDelayMs);
      const deadline = Date.now() + startup.periodMs * startup.failureThreshold;
      let slowReported = false;
      const startedAt = Date.now();
      while (!(await this.probeOnce(launch, container, startup, 'startup'))) {
        if (!this.alive(state, container)) return;
        if (!slowReported && Date.now() - startedAt > SLOW_START_MS) {
          slowReported = true;
          this.errors.push(`${state.key}: startup probe not passed after ${SLOW_START_MS} ms`);
        }
        if (Date.now() >= deadline) {
          // The kubelet kills a container whose startup probe failed, and restarts it.
          void container.handle.stop(launch.graceMs);
          return;
        }
        await this.sleepWhileAlive(state, container, STARTUP_POLL_MS);
      }
    }
    if (!this.alive(state, container)) return;
    container.started = true;
    this.reportStatus(state);
    if (liveness) void this.probeLoop(state, container, liveness, 'liveness', (ok) => {
      // failureThreshold failures in a row: the kubelet kills the container (with its grace period).
      if (!ok) void container.handle.stop(launch.graceMs);
    });
    if (readiness) await this.probeLoop(state, container, readiness, 'readiness', (ok) => this.setReady(state, ok));
    else this.setReady(state, true);
  }

  /**
   * Runs a probe every periodMs (the next run starts a period after the previous one
   * started, or at once if it took longer) while the container lives; calls onResult
   * after successThreshold successes or failureThreshold failures in a row.
   */
  private async probeLoop(state: RunningPod, container: Container, probe: ProbeSpec, what: string, onResult: (ok: boolean) => void): Promise<void> {
    await this.sleepWhileAlive(state, container, probe.initialDelayMs);
    let successes = 0;
    let failures = 0;
    while (this.alive(state, container)) {
      const began = Date.now();
      const ok = await this.probeOnce(state.launch!, container, probe, what);
      if (!this.alive(state, container)) return;
      if (ok) {
        failures = 0;
        if (++successes >= probe.successThreshold) onResult(true);
      } else {
        successes = 0;
        if (++failures >= probe.failureThreshold) onResult(false);
      }
      await this.sleepWhileAlive(state, container, began + probe.periodMs - Date.now());
    }
  }

  /** One probe run: a tcp connect, or the exec command (mapped, in the container's env and /tmp) exiting 0 within the timeout. */
  private async probeOnce(launch: Launch, container: Container, probe: ProbeSpec, what: string): Promise<boolean> {
    if (probe.tcpPort !== undefined) return await tcpConnects(probe.tcpPort, probe.timeoutMs);
    if (!probe.exec) return true;
    const argv = probe.exec.map((a) => launch.localizer.map(a, container.tmpDir));
    const env = containerEnv(launch, container.tmpDir);
    const result = await runExec(argv, env, container.tmpDir, probe.timeoutMs, container.handle.exited);
    appendFileSync(launch.probeLog, `=== ${new Date().toISOString()} ${what}: ${result.ok ? 'success' : `failure (${result.why})`}\n${result.output}`);
    return result.ok;
  }

  /** Waits ms, or less when the container ends first. */
  private async sleepWhileAlive(state: RunningPod, container: Container, ms: number): Promise<void> {
    if (ms <= 0 || !this.alive(state, container)) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => { timer = setTimeout(r, ms); timer.unref(); }),
      container.handle.exited,
    ]);
    clearTimeout(timer);
  }

  /** restartPolicy Always: report the end, then start the container again, like a kubelet. */
  private onExit(state: RunningPod, container: Container, exit: ExitInfo): void {
    if (state.terminating || this.closed || state.container !== container) return;
    const { handle } = container;
    if (!state.ready && state.bindRetries > 0 && exitedOnBusyPort(handle)) {
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
      containerID: containerId(handle),
    };
    this.setReady(state, false, true);
    setTimeout(() => this.enqueue(state, () => this.startContainer(state, true)), restartBackoffMs(state.restarts)).unref();
  }

  /** Records readiness; reports the status when it changed (or always, with report: the container changed). */
  private setReady(state: RunningPod, ready: boolean, report = false): void {
    const changed = state.ready !== ready || !state.readyChangedAt;
    if (changed) state.readyChangedAt = new Date().toISOString();
    state.ready = ready;
    if (changed || report) this.reportStatus(state);
  }

  private async stop(state: RunningPod, graceMs: number): Promise<void> {
    state.terminating = true;
    const handle = state.container?.handle;
    if (handle?.running) await handle.stop(Math.max(graceMs, 5_000));
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
    const handle = state.container?.handle;
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
        containerID: state.down?.containerID ?? (handle ? containerId(handle) : undefined),
        ready: state.ready,
        started: !state.down && (state.container?.started ?? false),
        restartCount: state.restarts,
        state: state.down ? terminated(state.down) : { running: { startedAt: state.containerStartedAt } },
        lastState: state.lastTermination ? terminated(state.lastTermination) : {},
      }],
    };
    const res = await kubeRequest(this.opts.kube, 'PATCH', `${launch.base}/status`, { status }, 'application/merge-patch+json');
    if (res.statusCode >= 300 && res.statusCode !== 404) throw new Error(`status: ${res.statusCode} ${res.text}`);
  }

  /** Stops every container (SIGKILL after a short grace) and removes the work dir if it made it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watch?.stop();
    await Promise.all([...this.pods.values()].map(async (p) => {
      p.terminating = true;
      if (p.container?.handle.running) await p.container.handle.stop(10_000);
    }));
    if (this.ownsDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}

function mkdir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The env of a container start (and of the exec probes in it): this machine's part as is, the Pod's mapped. */
function containerEnv(launch: Launch, tmpDir: string): Record<string, string> {
  const pod = Object.entries(launch.env).map(([k, v]) => [k, launch.localizer.map(v, tmpDir)] as const);
  return { ...launch.hostEnv, HOME: tmpDir, ...Object.fromEntries(pod) };
}

// ---------------------------------------------------------------------------------------
// Processes: a container and an exec probe are each a process group of their own.

/** A container: KafkaNodeHandle's shape, so tests see a Pod's process as they see a bed node. */
type ContainerHandle = KafkaNodeHandle;

function spawnContainer(opts: { name: string; argv: readonly string[]; env: Record<string, string>; cwd: string; logFile: string }): ContainerHandle {
  const from = fileSize(opts.logFile);
  const out = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.argv[0]!, opts.argv.slice(1), { detached: true, stdio: ['ignore', out, out], env: opts.env, cwd: opts.cwd });
  } finally {
    closeSync(out);
  }
  child.once('error', () => undefined); // a failed spawn: no pid, thrown below
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${opts.argv[0]} for ${opts.name}`);
  const release = killAtExit(pid);
  let running = true;
  const exited = new Promise<ExitInfo>((res) => {
    child.once('exit', (code, signal) => {
      running = false;
      // The container ends with its main process: nothing else in it outlives it.
      killGroup(pid, 'SIGKILL');
      release();
      res({ code, signal });
    });
  });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> => {
    if (running) child.kill(signal);
    return await exited;
  };
  const stop = async (timeoutMs = 30_000): Promise<ExitInfo> => {
    if (!running) return await exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => { if (running) killGroup(pid, 'SIGKILL'); }, timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    stdoutFile: opts.logFile,
    exited,
    get running() {
      return running;
    },
    stop,
    kill,
    output: () => readFrom(opts.logFile, from),
  };
}

/** Runs an exec probe: success when it exits 0 within timeoutMs; its process group is killed on timeout or when the container ends. */
async function runExec(argv: readonly string[], env: Record<string, string>, cwd: string, timeoutMs: number, containerExited: Promise<unknown>): Promise<{ ok: boolean; why: string; output: string }> {
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env, cwd });
  child.once('error', () => undefined); // a failed spawn: no pid, a failed probe
  const pid = child.pid;
  if (pid === undefined) return { ok: false, why: `could not start ${argv[0]}`, output: '' };
  const release = killAtExit(pid);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { if (output.length < 200_000) output += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (output.length < 200_000) output += d; });
  let why = '';
  let finished = false;
  const timer = setTimeout(() => { why = `timed out after ${timeoutMs} ms`; killGroup(pid, 'SIGKILL'); }, timeoutMs);
  // An exec in a container ends with it. (Never after `finished`: the pid may be reused.)
  void containerExited.then(() => { if (!finished) { why ||= 'the container ended'; killGroup(pid, 'SIGKILL'); } });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.once('close', (c, s) => res([c, s])));
  clearTimeout(timer);
  killGroup(pid, 'SIGKILL'); // anything the probe left behind
  finished = true;
  release();
  return { ok: code === 0 && !why, why: why || `exit ${code ?? signal}`, output };
}

/** A tcpSocket probe: 127.0.0.1:port accepts a connection within timeoutMs. */
async function tcpConnects(port: number, timeoutMs: number): Promise<boolean> {
  return await new Promise<boolean>((res) => {
    const s = new Socket();
    const done = (v: boolean): void => {
      s.destroy();
      res(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, '127.0.0.1', () => done(true));
  });
}

/** A kubelet's exit code: the process' own, or 128 + the signal number (137 for SIGKILL). */
function exitCode(exit: ExitInfo): number {
  if (exit.code !== null) return exit.code;
  return 128 + (exit.signal ? (osConstants.signals[exit.signal] ?? 0) : 0);
}

/** containerID in the kubelet's "<runtime>://<id>" form; the id is the main pid, so a restart shows. */
function containerId(handle: ContainerHandle): string {
  return `pod-runner://${handle.pid}`;
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

/**
 * A known hazard of Kafka 4.4 in a new cluster, handled so that it does not fail tests
 * about other things: when the first election of the quorum is split (two controllers
 * lead epochs 1 and 2 within a second), a broker that fetched the metadata log of the
 * losing leader truncates it, and its KRaft control-record state machine does not read
 * the new leader's voter set again (KRaftControlRecordStateMachine.truncateNewEntries
 * keeps its nextOffset). It then knows no controller: requests it forwards (CreateTopics,
 * DescribeQuorum, ...) time out, until it restarts. Seen about once in 15 cluster starts
 * on a loaded 2-core machine.
 *
 * Asks every broker to forward a DescribeQuorum; one that cannot within 10 s and whose
 * log shows such a truncation is restarted (SIGKILL, as a crash), and must then forward.
 * Returns the restarted Pods (tests report them). Any other failure throws.
 */
export async function restartBrokersWithoutController(
  runner: PodRunner,
  kube: KubeClientConfig,
  namespace: string,
  brokers: ReadonlyArray<{ pod: string; address: string }>,
): Promise<string[]> {
  const forwards = async (address: string): Promise<string | undefined> => {
    let conn: KafkaConnection | undefined;
    try {
      conn = await KafkaConnection.open(address, { clientId: 'kafka-cdk8s-pod-runner', connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
      const res = await conn.send(DescribeQuorum, { topics: [{ topicName: CLUSTER_METADATA_TOPIC, partitions: [0] }] });
      const p = res.topics[0]?.partitions[0];
      return res.errorCode === 0 && p?.errorCode === 0 && p.leaderId >= 0 ? undefined : `DescribeQuorum error ${res.errorCode}/${p?.errorCode}`;
    } catch (err) {
      return (err as Error).message;
    } finally {
      conn?.close();
    }
  };
  const restarted: string[] = [];
  for (const { pod, address } of brokers) {
    const problem = await forwards(address);
    if (problem === undefined) continue;
    const dir = runner.podDir(namespace, pod);
    const log = dir ? readFrom(join(dir, 'container.log'), 0) : '';
    if (!/Truncated to offset \d+ from Fetch response from leader/.test(log)) {
      throw new Error(`broker Pod ${namespace}/${pod} does not forward requests to the controllers: ${problem}\n${runner.diagnostics(namespace, pod)}`);
    }
    const path = `/api/v1/namespaces/${namespace}/pods/${pod}`;
    const restarts = async (): Promise<number> => (await kubeRequest(kube, 'GET', path)).body?.status?.containerStatuses?.[0]?.restartCount ?? 0;
    const before = await restarts();
    await runner.kill(namespace, pod);
    const deadline = Date.now() + 60_000;
    while ((await restarts()) <= before) {
      if (Date.now() > deadline) throw new Error(`broker Pod ${namespace}/${pod} was not restarted`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await waitForPodsReady(kube, namespace, [pod], 120_000, runner);
    const again = await forwards(address);
    if (again !== undefined) throw new Error(`broker Pod ${namespace}/${pod} still does not forward after a restart: ${again}`);
    restarted.push(pod);
  }
  return restarted;
}

/** Waits until every named Pod reports Ready=True in the API server. */
export async function waitForPodsReady(kube: KubeClientConfig, namespace: string, names: readonly string[], timeoutMs = 180_000, runner?: PodRunner): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending: string[] = [...names];
  while (pending.length > 0) {
    const res = await kubeRequest(kube, 'GET', `/api/v1/namespaces/${namespace}/pods`);
    const ready = new Set((res.body?.items ?? [])
      .filter((p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))
      .map((p: any) => p.metadata.name as string));
    pending = names.filter((n) => !ready.has(n));
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      const details = runner ? `\n${pending.map((n) => runner.diagnostics(namespace, n)).join('\n')}\nproblems: ${runner.problems.join('; ')}` : '';
      throw new Error(`Pods not Ready after ${timeoutMs} ms: ${pending.join(', ')}${details}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
