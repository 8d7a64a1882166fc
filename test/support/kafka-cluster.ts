/**
 * A real multi-node KRaft cluster on 127.0.0.1 for integration tests.
 *
 *   const cluster = await startKafkaCluster({ controllers: 3, brokers: 3 });
 *   try { ... cluster.bootstrapServers ... } finally { await cluster.close(); }
 *
 * Node ids: dedicated controllers 9000, 9001, ...; brokers 0..N-1. In combined mode the
 * nodes 0..N-1 are broker and controller at once (`controllers` is ignored).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { kafkaHome, randomClusterId, renderProperties, startKafkaNodeListening, type KafkaNodeHandle } from './kafka-process.js';
import { allocatePorts } from './ports.js';

export const HOST = '127.0.0.1';

/** Config of every node a test starts by hand: fast failure detection and light JVMs. */
export const TEST_NODE_CONFIG: Readonly<Record<string, string>> = {
  // Fast failure detection / elections in tests.
  'controller.quorum.election.backoff.max.ms': '500',
  'broker.session.timeout.ms': '6000',
  'broker.heartbeat.interval.ms': '1000',
  // Keep the JVMs light.
  'num.network.threads': '2',
  'num.io.threads': '2',
  'num.recovery.threads.per.data.dir': '1',
  'background.threads': '2',
  // The log cleaner allocates its whole dedupe buffer (default 128 MiB) on every restart,
  // e.g. when log.cleaner.threads changes dynamically: too much for a 384 MiB heap.
  'log.cleaner.dedupe.buffer.size': String(16 * 1024 * 1024),
};
export const CONTROLLER_ID_BASE = 9000;

export interface KafkaClusterOptions {
  /** Dedicated controllers (default 3). Ignored when combined. */
  controllers?: number;
  /** Brokers (default 3). In combined mode: the number of combined nodes. */
  brokers?: number;
  /** Every node is broker + controller (small clusters). */
  combined?: boolean;
  /** Extra/overriding server.properties for broker (and combined) nodes. */
  brokerConfig?: Record<string, string>;
  /** Extra/overriding server.properties for dedicated controllers. */
  controllerConfig?: Record<string, string>;
  clusterId?: string;
  /** Default 90 s. */
  readyTimeoutMs?: number;
  /** Keep the temp dir after close() (for debugging); also when KAFKA_TEST_KEEP=1. */
  keepDir?: boolean;
  /**
   * Listeners every broker gets besides PLAINTEXT (e.g. an SSL or an EXTERNAL one), each
   * on a port of its own per broker (`node.listenerPorts[name]`).
   */
  extraListeners?: readonly ExtraListener[];
}

/** A broker listener a test adds: its name, protocol, what it advertises and its own keys. */
export interface ExtraListener {
  /** Kafka listener name, e.g. EXTERNAL. */
  readonly name: string;
  readonly protocol: 'PLAINTEXT' | 'SSL';
  /** What the listener advertises for a broker; default 127.0.0.1 and the port it listens on. */
  readonly advertise?: (brokerId: number, port: number) => { host: string; port: number };
  /** Keys for this broker (e.g. listener.name.<name>.ssl.*). */
  readonly config?: (brokerId: number) => Record<string, string>;
}

export type KafkaRole = 'broker' | 'controller';

export interface KafkaClusterNode {
  readonly id: number;
  readonly roles: readonly KafkaRole[];
  /** Client (PLAINTEXT) port; undefined for dedicated controllers. */
  readonly port?: number;
  /** CONTROLLER listener port; undefined for pure brokers. */
  readonly controllerPort?: number;
  /** Port of each extra listener (options.extraListeners), by listener name; brokers only. */
  readonly listenerPorts: Readonly<Record<string, number>>;
  readonly dir: string;
  readonly propertiesFile: string;
  readonly logFile: string;
  /** Current process (undefined while stopped). */
  handle?: KafkaNodeHandle;
}

export interface KafkaCluster {
  readonly clusterId: string;
  /** host:port of every broker, in broker-id order. */
  readonly bootstrapServers: string[];
  /** host:port of every controller listener (for controller-side admin calls). */
  readonly controllerBootstrapServers: string[];
  /** The `controller.quorum.voters` value. */
  readonly quorumVoters: string;
  readonly nodes: KafkaClusterNode[];
  readonly dir: string;
  node(id: number): KafkaClusterNode;
  /** Broker address of node `id`. */
  brokerAddress(id: number): string;
  /** SIGTERM (controlled shutdown) and wait for exit. */
  stop(id: number): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(id: number): Promise<void>;
  /** Restart a stopped/killed node with the same data and ports; waits for its listener(s). */
  start(id: number): Promise<void>;
  /** Wait until metadata lists `count` brokers (default: all brokers that are running). */
  waitForBrokers(count?: number, timeoutMs?: number): Promise<void>;
  /** Kill everything and remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

const openClusters = new Set<{ closeSync(): void }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Runs after kafka-process' own SIGKILL hook would have (order does not matter): removes temp dirs.
  process.on('exit', () => {
    for (const c of openClusters) c.closeSync();
  });
}

const isBrokerSpec = (s: { roles: readonly KafkaRole[] }) => s.roles.includes('broker');
/** Index of a broker among the brokers, in spec order. */
const brokerOrdinal = (specs: ReadonlyArray<{ id: number; roles: readonly KafkaRole[] }>, s: { id: number }) =>
  specs.filter(isBrokerSpec).findIndex((b) => b.id === s.id);

export async function startKafkaCluster(opts: KafkaClusterOptions = {}): Promise<KafkaCluster> {
  const combined = opts.combined ?? false;
  const brokerCount = opts.brokers ?? 3;
  const controllerCount = combined ? brokerCount : (opts.controllers ?? 3);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const keepDir = opts.keepDir ?? process.env.KAFKA_TEST_KEEP === '1';
  if (brokerCount < 1 || controllerCount < 1) throw new Error('need at least one broker and one controller');
  kafkaHome(); // fail fast with the "run install-kafka.sh" message

  const clusterId = opts.clusterId ?? randomClusterId();
  const dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-cluster-'));
  const extra = opts.extraListeners ?? [];
  const ports = await allocatePorts(combined ? brokerCount * 2 : brokerCount + controllerCount);
  const extraPorts = await allocatePorts(brokerCount * extra.length);

  type Spec = { id: number; roles: KafkaRole[]; port?: number; controllerPort?: number };
  const specs: Spec[] = [];
  if (combined) {
    for (let i = 0; i < brokerCount; i++) specs.push({ id: i, roles: ['broker', 'controller'], port: ports[2 * i], controllerPort: ports[2 * i + 1] });
  } else {
    for (let i = 0; i < controllerCount; i++) specs.push({ id: CONTROLLER_ID_BASE + i, roles: ['controller'], controllerPort: ports[i] });
    for (let i = 0; i < brokerCount; i++) specs.push({ id: i, roles: ['broker'], port: ports[controllerCount + i] });
  }
  const quorumVoters = specs
    .filter((s) => s.controllerPort !== undefined)
    .map((s) => `${s.id}@${HOST}:${s.controllerPort}`)
    .join(',');
  const rf = String(Math.min(3, brokerCount));
  const minIsr = String(Math.min(2, brokerCount));

  const nodes: KafkaClusterNode[] = specs.map((s) => {
    const nodeDir = join(dir, `node-${s.id}`);
    mkdirSync(nodeDir, { recursive: true });
    const isBroker = s.roles.includes('broker');
    const listeners: string[] = [];
    if (s.port !== undefined) listeners.push(`PLAINTEXT://${HOST}:${s.port}`);
    if (s.controllerPort !== undefined) listeners.push(`CONTROLLER://${HOST}:${s.controllerPort}`);
    const brokerIndex = isBrokerSpec(s) ? brokerOrdinal(specs, s) : -1;
    const listenerPorts: Record<string, number> = brokerIndex < 0 ? {} : Object.fromEntries(extra.map((l, i) => [l.name, extraPorts[brokerIndex * extra.length + i]!]));
    const advertised = s.port !== undefined ? [`PLAINTEXT://${HOST}:${s.port}`] : [];
    const extraConfig: Record<string, string> = {};
    for (const l of brokerIndex < 0 ? [] : extra) {
      const port = listenerPorts[l.name]!;
      const adv = l.advertise?.(s.id, port) ?? { host: HOST, port };
      listeners.push(`${l.name}://${HOST}:${port}`);
      advertised.push(`${l.name}://${adv.host}:${adv.port}`);
      Object.assign(extraConfig, l.config?.(s.id));
    }
    const protocolMap = ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT', ...(brokerIndex < 0 ? [] : extra.map((l) => `${l.name}:${l.protocol}`))];
    const props: Record<string, string> = {
      'process.roles': s.roles.join(','),
      'node.id': String(s.id),
      'controller.quorum.voters': quorumVoters,
      'controller.listener.names': 'CONTROLLER',
      listeners: listeners.join(','),
      'listener.security.protocol.map': protocolMap.join(','),
      'log.dirs': join(nodeDir, 'data'),
      ...TEST_NODE_CONFIG,
      ...extraConfig,
    };
    if (advertised.length) props['advertised.listeners'] = advertised.join(',');
    if (isBroker) {
      Object.assign(props, {
        'inter.broker.listener.name': 'PLAINTEXT',
        'offsets.topic.replication.factor': rf,
        'offsets.topic.num.partitions': '3',
        'transaction.state.log.replication.factor': rf,
        'transaction.state.log.min.isr': minIsr,
        'transaction.state.log.num.partitions': '3',
        'share.coordinator.state.topic.replication.factor': rf,
        'share.coordinator.state.topic.min.isr': minIsr,
        'group.initial.rebalance.delay.ms': '0',
        ...opts.brokerConfig,
      });
    }
    if (s.roles.length === 1 && s.roles[0] === 'controller') Object.assign(props, opts.controllerConfig);
    if (combined) Object.assign(props, opts.controllerConfig, opts.brokerConfig);
    const propertiesFile = join(nodeDir, 'server.properties');
    writeFileSync(propertiesFile, renderProperties(props));
    return { id: s.id, roles: s.roles, port: s.port, controllerPort: s.controllerPort, listenerPorts, dir: nodeDir, propertiesFile, logFile: join(nodeDir, 'logs', 'server.log') };
  });

  const byId = new Map(nodes.map((n) => [n.id, n]));
  const node = (id: number): KafkaClusterNode => {
    const n = byId.get(id);
    if (!n) throw new Error(`no node ${id} (nodes: ${[...byId.keys()].join(', ')})`);
    return n;
  };
  const brokers = nodes.filter((n) => n.roles.includes('broker'));
  const bootstrapServers = brokers.map((n) => `${HOST}:${n.port}`);
  const controllerBootstrapServers = nodes.filter((n) => n.controllerPort !== undefined).map((n) => `${HOST}:${n.controllerPort}`);

  let closed = false;
  const closeSync = (): void => {
    if (closed) return;
    closed = true;
    for (const n of nodes) {
      if (n.handle?.running) {
        try {
          process.kill(n.handle.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };
  const registration = { closeSync };
  openClusters.add(registration);
  installExitHook();

  // Starts a node and waits for its listener(s); retries a start that lost a port race.
  const launch = async (n: KafkaClusterNode, format: boolean): Promise<void> => {
    n.handle = await startKafkaNodeListening({
      propertiesFile: n.propertiesFile,
      logDir: join(n.dir, 'logs'),
      clusterId: format ? clusterId : undefined,
      name: `${n.roles.join('+')}-${n.id}`,
      ports: [n.controllerPort, n.port, ...Object.values(n.listenerPorts)].filter((p): p is number => p !== undefined),
      timeoutMs: readyTimeoutMs,
    });
  };

  const waitForBrokers = async (count?: number, timeoutMs = readyTimeoutMs): Promise<void> => {
    const want = count ?? brokers.filter((b) => b.handle?.running).length;
    const live = brokers.filter((b) => b.handle?.running).map((b) => `${HOST}:${b.port}`);
    const kafka = new kafkajs.Kafka({ clientId: 'kafka-cluster-ready', brokers: live.length ? live : bootstrapServers, logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 0 } });
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const c = await admin.describeCluster();
        last = `brokers ${c.brokers.map((b) => b.nodeId).join(',')}, controller ${c.controller}`;
        if (c.brokers.length === want && c.controller !== null && c.controller >= 0) return;
      } catch (e) {
        last = (e as Error).message;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      if (Date.now() > deadline) throw new Error(`cluster not ready after ${timeoutMs} ms: want ${want} brokers; last: ${last}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  const cluster: KafkaCluster = {
    clusterId,
    bootstrapServers,
    controllerBootstrapServers,
    quorumVoters,
    nodes,
    dir,
    node,
    brokerAddress(id) {
      const n = node(id);
      if (n.port === undefined) throw new Error(`node ${id} is not a broker`);
      return `${HOST}:${n.port}`;
    },
    async stop(id) {
      await node(id).handle?.stop();
    },
    async kill(id) {
      await node(id).handle?.kill();
    },
    async start(id) {
      const n = node(id);
      if (n.handle?.running) throw new Error(`node ${id} is already running (pid ${n.handle.pid})`);
      await launch(n, false);
    },
    waitForBrokers,
    async close() {
      if (closed) return;
      await Promise.all(nodes.map((n) => n.handle?.kill()));
      closeSync();
      openClusters.delete(registration);
    },
  };

  try {
    // Each node: format (a short JVM) then start; all nodes in parallel. allSettled: a
    // failed node must not leave the others starting unseen by close().
    const started = await Promise.allSettled(nodes.map((n) => launch(n, true)));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await waitForBrokers(brokerCount);
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}
