/**
 * The controller process: take the Lease, then reconcile the cluster whenever its Pods or
 * ConfigMaps change, and at least every few seconds; serve /metrics and /healthz; stop
 * acting at once when the Lease is lost, and cleanly on SIGTERM (between two steps: every
 * step's memory is already in the cluster).
 */
import { hostname } from 'node:os';
import { createAlertmanagerClient } from './adapters/alertmanager.js';
import { KubeClient, type ConfigMapObject, type PodObject } from './adapters/kube/client.js';
import { KubeConnection } from './adapters/kube/connection.js';
import { createKafkaAdmin } from './adapters/kafka/admin.js';
import { Informer } from './informer.js';
import { LeaderLease } from './lease.js';
import { createControllerMetrics, createLogger, startHttpServer, type Logger } from './observability/index.js';
import { ClusterReconciler } from './reconciler.js';
import { eventRecorder } from './events.js';
import { StateStore } from './state.js';
import { clusterLabels, LABEL_CLUSTER, LABEL_COMPONENT, names } from '../render/metadata.js';
import { kafkajsTlsFiles, readTlsFiles, tlsFilesSocketFactory } from './adapters/kafka/tls-files.js';
import { ClusterTls } from './cluster-tls.js';
import { TlsReloader } from './tls-reload.js';

export interface ControllerRunOptions {
  readonly namespace: string;
  readonly cluster: string;
  /** Kafka bootstrap addresses (host:port). */
  readonly bootstrap: readonly string[];
  readonly failureThreshold: number;
  readonly alertmanagerUrl?: string;
  readonly holdLabel: string;
  /** host:port of /metrics and /healthz. */
  readonly listen: string;
  /** A kubeconfig file; default: in-cluster. */
  readonly kubeconfig?: string;
  /** Who holds the Lease; default: $POD_NAME, else host-pid. */
  readonly identity?: string;
  readonly leaseSeconds: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** A mounted TLS Secret (ca.crt; tls.crt and tls.key for mutual TLS): Kafka's INTERNAL listener is TLS. */
  readonly tlsDir?: string;
}

export async function runController(o: ControllerRunOptions, signal: AbortSignal): Promise<void> {
  const log = createLogger({ level: o.logLevel, base: { namespace: o.namespace, cluster: o.cluster } });
  const metrics = createControllerMetrics({ namespace: o.namespace, cluster: o.cluster });
  const identity = o.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const connection = o.kubeconfig ? KubeConnection.fromKubeconfig(o.kubeconfig) : KubeConnection.inCluster();
  const kube = new KubeClient(connection, o.namespace);
  const lease = new LeaderLease(kube, { name: `${o.cluster}-operator`, identity, durationSeconds: o.leaseSeconds });

  let lastLoopAt = Date.now();
  let leading = false;
  const server = await startHttpServer({
    listen: o.listen,
    metrics,
    health: () => {
      // A reconcile loop that stopped turning is unhealthy; a standby instance is healthy.
      const stale = leading && Date.now() - lastLoopAt > 120_000;
      return { ok: !stale, detail: stale ? `no reconcile for ${Math.round((Date.now() - lastLoopAt) / 1000)} s` : leading ? 'leading' : 'standing by' };
    },
  });
  log.info('Started', { identity, listen: server.address });
  try {
    while (!signal.aborted && !(await tryLease(lease, log))) await sleepUntil(2000, signal);
    if (signal.aborted) return;
    leading = true;
    metrics.leader(true);
    log.info('Acquired the Lease', { lease: `${o.cluster}-operator`, identity });
    await reconcileWhileLeading({ o, log, metrics, kube, lease, signal, onLoop: () => (lastLoopAt = Date.now()) });
  } finally {
    metrics.leader(false);
    await server.close();
  }
}

async function tryLease(lease: LeaderLease, log: Logger): Promise<boolean> {
  try {
    return await lease.tryAcquireOrRenew();
  } catch (err) {
    log.warn('Could not read or write the Lease', { err });
    return false;
  }
}

interface LoopDeps {
  o: ControllerRunOptions;
  log: Logger;
  metrics: ReturnType<typeof createControllerMetrics>;
  kube: KubeClient;
  lease: LeaderLease;
  signal: AbortSignal;
  onLoop: () => void;
}

async function reconcileWhileLeading({ o, log, metrics, kube, lease, signal, onLoop }: LoopDeps): Promise<void> {
  let wake: (() => void) | undefined;
  let dirty = true;
  const trigger = (): void => {
    dirty = true;
    wake?.();
  };
  const selector = `${LABEL_CLUSTER}=${o.cluster}`;
  const pods = new Informer<PodObject>(kube, 'pods', selector, trigger, log);
  const configMaps = new Informer<ConfigMapObject>(kube, 'configmaps', selector, trigger, log);
  await Promise.all([pods.start(), configMaps.start()]);
  const kafka = createKafkaAdmin({
    brokers: [...o.bootstrap],
    clientId: 'kafka-cdk8s-controller',
    requestTimeoutMs: 10_000,
    ...(o.tlsDir ? { socketFactory: tlsFilesSocketFactory(o.tlsDir), kafkajs: { ssl: kafkajsTlsFiles(o.tlsDir) } } : {}),
  });
  const event = eventRecorder(kube, log);
  const stateName = names.operatorState({ name: o.cluster });
  const tls = new ClusterTls({
    cluster: o.cluster,
    kube,
    log,
    labels: { ...clusterLabels({ name: o.cluster }), [LABEL_COMPONENT]: 'tls' },
    event: (type, reason, message) => event({ apiVersion: 'v1', kind: 'ConfigMap', name: stateName }, type, reason, message),
    reloader: new TlsReloader({
      kube,
      kafka,
      ...(o.tlsDir ? { client: () => readTlsFiles(o.tlsDir!) } : {}),
      log,
      event: (pod, type, reason, message) => event({ apiVersion: 'v1', kind: 'Pod', name: pod }, type, reason, message),
    }),
  });
  const reconciler = new ClusterReconciler({
    tls,
    cluster: o.cluster,
    kube,
    kafka,
    pods,
    configMaps,
    state: new StateStore(kube, stateName, o.cluster),
    failureThreshold: o.failureThreshold,
    alerts: o.alertmanagerUrl ? createAlertmanagerClient({ url: o.alertmanagerUrl, holdLabel: o.holdLabel }) : undefined,
    log,
    metrics,
  });

  // Renew well within the Lease's duration; a failed renewal stops everything at once.
  let lost = false;
  const renewEvery = Math.max(1000, Math.floor(lease.durationMs / 3));
  const renewer = setInterval(() => {
    lease.tryAcquireOrRenew().then((held) => {
      if (!held) lost = true;
    }, (err) => {
      log.warn('Could not renew the Lease', { err });
      lost = true;
    }).finally(() => lost && wake?.());
  }, renewEvery);
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    let requeueAfterMs = 0;
    while (!signal.aborted && !lost) {
      if (!dirty) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, requeueAfterMs);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
      }
      if (signal.aborted || lost) break;
      dirty = false;
      const started = process.hrtime.bigint();
      try {
        const outcome = await reconciler.reconcile();
        requeueAfterMs = outcome.requeueAfterMs;
        metrics.reconciled(outcome.status.phase === 'Waiting' ? 'waiting' : 'ok', seconds(started));
      } catch (err) {
        requeueAfterMs = 2000;
        metrics.reconciled('error', seconds(started));
        log.error('Reconcile failed; will retry', { err });
      }
      onLoop();
    }
    if (lost) throw new Error('lost the Lease: another instance may act now, so this one stops');
    await lease.release();
    log.info('Released the Lease');
  } finally {
    clearInterval(renewer);
    signal.removeEventListener('abort', onAbort);
    await Promise.all([pods.stop(), configMaps.stop()]);
    await kafka.close();
    log.info('Stopped');
  }
}

const seconds = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e9;

function sleepUntil(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
