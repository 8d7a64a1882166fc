/**
 * The controller's Prometheus metrics. Each instance owns a private Registry: the global
 * one would leak series between tests and between controllers in one process. Node's
 * default process metrics (process_resident_memory_bytes, nodejs_eventloop_lag_seconds, ...)
 * keep their standard names so stock dashboards work; only our own series carry the
 * kafka_cdk8s_ prefix.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type ReconcileResult = 'ok' | 'waiting' | 'error';

export interface RollProgress {
  /** Nodes the roll has to restart. */
  total: number;
  /** Nodes restarted so far. */
  done: number;
  /** The node being restarted or awaited. */
  node?: string;
  /** Why the roll is paused (e.g. "under-replicated partitions"); set = waiting. */
  waitingFor?: string;
}

export interface ControllerMetrics {
  /** kafka_cdk8s_reconcile_total{result} and kafka_cdk8s_reconcile_duration_seconds. */
  reconciled(result: ReconcileResult, seconds: number): void;
  /** kafka_cdk8s_pods_recreated_total{node}. */
  podRecreated(node: string): void;
  /** kafka_cdk8s_node_restarts_total{node}. */
  nodeRestarted(node: string): void;
  /** kafka_cdk8s_live_config_changes_total{scope}, increased by the number of keys changed. */
  liveConfigChanged(scope: 'broker' | 'cluster', keys: number): void;
  /** kafka_cdk8s_roll_nodes_total, _roll_nodes_done, _roll_waiting; undefined (no roll) sets all to 0. */
  rollProgress(p: RollProgress | undefined): void;
  /** kafka_cdk8s_config_drift_keys{resource}; resource is "broker-3" or "cluster-default". */
  configDrift(resource: string, keys: number): void;
  /** kafka_cdk8s_leader: 1 while this replica holds the leader lease. */
  leader(isLeader: boolean): void;
  /** Content-Type of text(). */
  readonly contentType: string;
  /** The exposition text of every series. */
  text(): Promise<string>;
}

export const METRIC_PREFIX = 'kafka_cdk8s_';

/** 1 ms .. 60 s: a no-op reconcile takes milliseconds, one waiting on Kafka tens of seconds. */
export const RECONCILE_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const RESULTS: readonly ReconcileResult[] = ['ok', 'waiting', 'error'];
const SCOPES = ['broker', 'cluster'] as const;

/** `labels` become default labels on every series (e.g. { namespace, cluster }). */
export function createControllerMetrics(labels: Record<string, string> = {}): ControllerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });

  const name = (s: string) => METRIC_PREFIX + s;
  const registers = [registry];
  const reconcileTotal = new Counter({
    name: name('reconcile_total'),
    help: 'Reconciles by result (ok, waiting = requeued until Kafka catches up, error).',
    labelNames: ['result'],
    registers,
  });
  const reconcileDuration = new Histogram({
    name: name('reconcile_duration_seconds'),
    help: 'Duration of a reconcile.',
    buckets: [...RECONCILE_BUCKETS],
    registers,
  });
  const podsRecreated = new Counter({
    name: name('pods_recreated_total'),
    help: 'Pods deleted so that they come back with a new spec.',
    labelNames: ['node'],
    registers,
  });
  const nodeRestarts = new Counter({
    name: name('node_restarts_total'),
    help: 'Kafka node restarts performed by the controller.',
    labelNames: ['node'],
    registers,
  });
  const liveConfigChanges = new Counter({
    name: name('live_config_changes_total'),
    help: 'Config keys changed without a restart (IncrementalAlterConfigs), per broker or cluster-wide.',
    labelNames: ['scope'],
    registers,
  });
  const rollTotal = new Gauge({ name: name('roll_nodes_total'), help: 'Nodes in the current rolling restart (0 = no roll).', registers });
  const rollDone = new Gauge({ name: name('roll_nodes_done'), help: 'Nodes already restarted in the current rolling restart.', registers });
  const rollWaiting = new Gauge({
    name: name('roll_waiting'),
    help: '1 while the rolling restart waits for the cluster (e.g. under-replicated partitions), else 0.',
    registers,
  });
  const drift = new Gauge({
    name: name('config_drift_keys'),
    help: 'Config keys whose live value differs from the desired one, per resource (broker-<id> or cluster-default).',
    labelNames: ['resource'],
    registers,
  });
  const leaderGauge = new Gauge({ name: name('leader'), help: '1 while this controller replica is the leader.', registers });

  // Series that exist from the start, so rate() and alerts see 0 rather than nothing.
  for (const result of RESULTS) reconcileTotal.labels(result).inc(0);
  for (const scope of SCOPES) liveConfigChanges.labels(scope).inc(0);
  rollTotal.set(0);
  rollDone.set(0);
  rollWaiting.set(0);
  leaderGauge.set(0);

  return {
    reconciled(result, seconds) {
      reconcileTotal.labels(result).inc();
      reconcileDuration.observe(seconds);
    },
    podRecreated(node) {
      podsRecreated.labels(node).inc();
    },
    nodeRestarted(node) {
      nodeRestarts.labels(node).inc();
    },
    liveConfigChanged(scope, keys) {
      liveConfigChanges.labels(scope).inc(keys);
    },
    rollProgress(p) {
      rollTotal.set(p?.total ?? 0);
      rollDone.set(p?.done ?? 0);
      rollWaiting.set(p?.waitingFor ? 1 : 0);
    },
    configDrift(resource, keys) {
      drift.labels(resource).set(keys);
    },
    leader(isLeader) {
      leaderGauge.set(isLeader ? 1 : 0);
    },
    contentType: registry.contentType,
    text: () => registry.metrics(),
  };
}
