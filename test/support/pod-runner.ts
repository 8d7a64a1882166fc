/**
 * A stand-in for the kubelet, for tests only. It watches the API server for
 * the Pods our output creates and runs each one as a local Kafka process:
 *
 *  1. Bind: sets spec.nodeName (like a scheduler), so a delete is graceful and
 *     waits for us, as it would with a real kubelet.
 *  2. Run: reads server.properties from the ConfigMap the Pod mounts, maps it
 *     onto loopback (see LoopbackMap, the one place where addresses and data
 *     dirs are translated), formats storage with the cluster id from the
 *     container env (--ignore-formatted, as the container script does) and
 *     starts Kafka. JVM options come from the test bed (small heaps), not the
 *     Pod's env; so the log cleaner's dedupe buffer is shrunk to fit them.
 *  3. Status: phase Running, podIP 127.0.0.1, Ready when the Pod's tcpSocket
 *     readiness probe port accepts connections; a crashed process is
 *     restarted (restartPolicy Always) and counted in restartCount.
 *  4. Delete: on deletionTimestamp, SIGTERM (controlled shutdown) within the
 *     grace period, then confirms the delete with grace 0. A PVC's data dir
 *     survives its Pod, so a recreated Pod finds its data.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProperties, parseProperties } from '../../lib/config/properties-format.js';
import { CONFIG_FILE } from '../../lib/config/server-properties.js';
import { CLUSTER_ID_ENV } from '../../lib/constructs/node-pod.js';
import { kubeRequest, kubeWatch, type KubeClientConfig } from './kube-apply.js';
import { freePorts, startKafkaNode, waitForPort, type KafkaNodeHandle } from './kafka-process.js';

export const RUNNER_NODE_NAME = 'kafka-cdk8s-pod-runner';
const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=kafka-cdk8s';
/** Kafka's default 128 MiB dedupe buffer, reallocated on each cleaner reconfiguration, overflows a test-sized heap. */
const SMALL_HEAP_DEDUPE_BUFFER = 16 * 1024 * 1024;

/**
 * Where Pod addresses and volumes live on this machine. Every (host, port)
 * that appears in a listener, advertised listener or quorum voter gets its own
 * loopback port; every PVC gets a directory that outlives its Pod.
 */
export class LoopbackMap {
  private readonly ports = new Map<string, number>();
  constructor(readonly dataRoot: string) {}

  /** The loopback port standing in for host:port (allocated on first use, then fixed). */
  async port(host: string, port: number): Promise<number> {
    const key = `${host}:${port}`;
    let local = this.ports.get(key);
    if (local === undefined) {
      [local] = await freePorts(1);
      if ([...this.ports.values()].includes(local!)) return this.port(host, port);
      this.ports.set(key, local!);
    }
    return local!;
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

  /**
   * Rewrites a node's server.properties for loopback: listeners, advertised
   * listeners and voters to mapped ports, log dirs from mount paths to PVC dirs.
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
    if (props['controller.quorum.voters']) {
      out['controller.quorum.voters'] = (await Promise.all(splitList(props['controller.quorum.voters']).map(async (voter) => {
        const m = /^(\d+)@(.+):(\d+)$/.exec(voter);
        if (!m) throw new Error(`pod runner: cannot map voter ${voter}`);
        return `${m[1]}@${await this.address(m[2]!, Number(m[3]))}`;
      }))).join(',');
    }
    for (const key of ['log.dirs', 'log.dir', 'metadata.log.dir']) {
      if (!props[key]) continue;
      out[key] = splitList(props[key]).map((path) => {
        const mount = mounts.find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
        if (!mount) throw new Error(`pod runner: ${key} entry ${path} is on no mounted volume`);
        return mount.dir + path.slice(mount.mountPath.length);
      }).join(',');
    }
    return out;
  }
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

interface RunningPod {
  readonly uid: string;
  readonly key: string;
  node?: KafkaNodeHandle;
  restarts: number;
  terminating: boolean;
  /** Serializes everything done to this Pod. */
  queue: Promise<void>;
  readonly stopped: Promise<void>;
  markStopped(): void;
}

interface PodObject {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; deletionGracePeriodSeconds?: number };
  spec: {
    nodeName?: string;
    terminationGracePeriodSeconds?: number;
    containers: Array<{
      env?: Array<{ name: string; value?: string }>;
      volumeMounts?: Array<{ name: string; mountPath: string }>;
      readinessProbe?: { tcpSocket?: { port: number | string } };
    }>;
    volumes?: Array<{ name: string; configMap?: { name: string; items?: Array<{ key: string; path: string }> }; persistentVolumeClaim?: { claimName: string } }>;
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
      state = { uid, key, restarts: 0, terminating: false, queue: predecessor?.stopped ?? Promise.resolve(), stopped, markStopped };
      this.pods.set(uid, state);
      this.lastByKey.set(key, state);
      const s = state;
      this.enqueue(s, () => this.run(s, pod));
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

  private async run(state: RunningPod, pod: PodObject): Promise<void> {
    if (this.closed || state.terminating) return;
    const { namespace, name } = pod.metadata;
    const base = `/api/v1/namespaces/${namespace}/pods/${name}`;
    if (!pod.spec.nodeName) {
      const bind = await kubeRequest(this.opts.kube, 'POST', `${base}/binding`,
        { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: RUNNER_NODE_NAME } });
      if (bind.statusCode >= 300) throw new Error(`bind: ${bind.statusCode} ${bind.text}`);
    }
    const container = pod.spec.containers[0]!;
    const configVolume = pod.spec.volumes?.find((v) => v.configMap?.items?.some((i) => i.path === CONFIG_FILE));
    if (!configVolume?.configMap) throw new Error(`the Pod mounts no ConfigMap with a ${CONFIG_FILE} item`);
    const item = configVolume.configMap.items!.find((i) => i.path === CONFIG_FILE)!;
    const cm = await kubeRequest(this.opts.kube, 'GET', `/api/v1/namespaces/${namespace}/configmaps/${configVolume.configMap.name}`);
    if (cm.statusCode !== 200) throw new Error(`ConfigMap ${configVolume.configMap.name}: ${cm.statusCode} ${cm.text}`);
    const mounts = (container.volumeMounts ?? []).flatMap((m) => {
      const claim = pod.spec.volumes?.find((v) => v.name === m.name)?.persistentVolumeClaim?.claimName;
      return claim ? [{ mountPath: m.mountPath, dir: this.map.claimDir(namespace, claim) }] : [];
    });
    const podProps = parseProperties(cm.body.data[item.key]);
    const props = await this.map.localize(podProps, mounts);
    const podDir = join(this.workDir, 'pods', namespace, `${name}-${state.uid.slice(0, 8)}`);
    mkdirSync(podDir, { recursive: true });
    const propertiesFile = join(podDir, CONFIG_FILE);
    writeFileSync(propertiesFile, formatProperties(props));
    const clusterId = container.env?.find((e) => e.name === CLUSTER_ID_ENV)?.value;
    // The Pod's own host name: that of the advertised listener whose port the probe checks.
    const probePort = Number(container.readinessProbe?.tcpSocket?.port);
    const podHost = [...advertisedListeners(podProps).values()].find((l) => l.port === probePort)?.host;
    const localProbe = podHost ? await this.map.port(podHost, probePort) : undefined;

    const startedAt = new Date().toISOString();
    await this.patchStatus(base, pod, { ready: false, startedAt, restarts: state.restarts });
    const node = await startKafkaNode({
      propertiesFile, logDir: join(podDir, 'logs'), clusterId, name: `${namespace}/${name}`,
      overrides: props['log.cleaner.dedupe.buffer.size'] ? {} : { 'log.cleaner.dedupe.buffer.size': String(SMALL_HEAP_DEDUPE_BUFFER) },
    });
    state.node = node;
    if (localProbe !== undefined) {
      try {
        await waitForPort('127.0.0.1', localProbe, 120_000, node.exited);
        if (!state.terminating && node.running) await this.patchStatus(base, pod, { ready: true, startedAt, restarts: state.restarts });
      } catch (err) {
        if (!state.terminating) this.errors.push(`${state.key}: not ready: ${(err as Error).message}`);
      }
    }
    void node.exited.then(async (exit) => {
      if (state.terminating || this.closed || state.node !== node) return;
      // restartPolicy Always: report the crash, then run it again, like a kubelet.
      state.restarts += 1;
      await this.patchStatus(base, pod, { ready: false, startedAt, restarts: state.restarts, lastExit: exit.code ?? 137 }).catch(() => undefined);
      this.enqueue(state, () => this.run(state, pod));
    });
  }

  private async stop(state: RunningPod, graceMs: number): Promise<void> {
    state.terminating = true;
    const node = state.node;
    if (node?.running) await node.stop(Math.max(graceMs, 5_000));
    state.markStopped();
  }

  private async patchStatus(base: string, pod: PodObject, s: { ready: boolean; startedAt: string; restarts: number; lastExit?: number }): Promise<void> {
    const now = new Date().toISOString();
    const ready = s.ready ? 'True' : 'False';
    const status = {
      phase: 'Running',
      hostIP: '127.0.0.1',
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: s.startedAt,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: s.startedAt },
        { type: 'Initialized', status: 'True', lastTransitionTime: s.startedAt },
        { type: 'ContainersReady', status: ready, lastTransitionTime: now },
        { type: 'Ready', status: ready, lastTransitionTime: now },
      ],
      containerStatuses: [{
        name: 'kafka',
        image: (pod.spec.containers[0] as { image?: string }).image ?? '',
        imageID: '',
        ready: s.ready,
        started: true,
        restartCount: s.restarts,
        state: { running: { startedAt: s.startedAt } },
        ...(s.lastExit !== undefined ? { lastState: { terminated: { exitCode: s.lastExit, reason: 'Error', finishedAt: now } } } : {}),
      }],
    };
    const res = await kubeRequest(this.opts.kube, 'PATCH', `${base}/status`, { status }, 'application/merge-patch+json');
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
