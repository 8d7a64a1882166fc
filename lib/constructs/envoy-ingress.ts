import { Construct } from 'constructs';
import { containerResources, RESTRICTED_CONTAINER_SECURITY } from './restricted-container.js';
import { ApiObject } from 'cdk8s';
import {
  IntOrString, KubeConfigMap, KubeDeployment, KubePodDisruptionBudget, KubeService,
} from 'cdk8s-plus-27/lib/imports/k8s.js';
import type { ClusterModel, EnvoyModel, ExternalAccessModel } from '../spec/resolve.js';
import { clusterLabels, LABEL_CLUSTER, LABEL_COMPONENT } from '../render/metadata.js';
import { listenerByName } from '../config/listeners.js';
import {
  ENVOY_FILES, envoyBrokerName, renderEnvoyBootstrap, renderEnvoyClusters, renderEnvoyListeners, type EnvoyRouting,
} from '../render/envoy-config.js';

export interface EnvoyIngressProps {
  /** The resolved cluster whose brokers Envoy exposes. */
  readonly cluster: ClusterModel;
  /** The cluster's `externalAccess`: host, per-broker and bootstrap ports. */
  readonly access: ExternalAccessModel;
  /** The Envoy settings (`externalAccess.envoy`). */
  readonly envoy: EnvoyModel;
}

const COMPONENT = 'envoy';
/** uid and gid of the `envoy` user of the official envoyproxy/envoy image. */
const ENVOY_IMAGE_ID = 101;
const BOOTSTRAP_DIR = '/etc/envoy/bootstrap';
/** A mount of its own (never subPath, never nested in the bootstrap's): only then does the kubelet swap it in place. */
export const ENVOY_DYNAMIC_DIR = '/etc/envoy/dynamic';
/** A removed broker's listener keeps its open connections this long (the broker is drained by then anyway). */
const DRAIN_TIME_SECONDS = 30;
/**
 * preStop wait: the Pod is already out of the Service's ready endpoints, so kube-proxy sends
 * it no new connections and the LB's health check of its node (healthCheckNodePort) fails
 * once no ready Envoy is left there; 30 s covers the usual LB check (10 s x 3).
 */
const PRESTOP_SLEEP_SECONDS = 30;
/** The preStop wait plus Envoy's own exit. */
const TERMINATION_GRACE_SECONDS = PRESTOP_SLEEP_SECONDS + 15;

/** The routing the ConfigMaps are rendered from: every broker at externalStartingPort + id, to its Service's EXTERNAL port. */
export function envoyRouting(cluster: ClusterModel, access: ExternalAccessModel, envoy: EnvoyModel): EnvoyRouting {
  const external = listenerByName(cluster, 'EXTERNAL');
  if (!external) throw new Error(`cluster '${cluster.name}': externalAccess needs the EXTERNAL listener`);
  return {
    clusterName: cluster.name,
    brokers: cluster.brokers.map((node) => ({
      id: node.id,
      listenPort: access.externalStartingPort + node.id,
      upstream: { host: node.host, port: external.port },
    })),
    bootstrapPort: access.bootstrapPort,
    healthPort: envoy.healthPort,
    adminPort: envoy.adminPort,
    dynamicDir: ENVOY_DYNAMIC_DIR,
  };
}

/**
 * External access through Envoy: a Deployment of Envoy behind one LoadBalancer Service,
 * each broker at host:externalStartingPort+id and any broker at host:bootstrapPort.
 *
 * Two ConfigMaps: `<name>` the static bootstrap, `<name>-routes` the listeners and
 * clusters (LDS/CDS files), which Envoy reloads from the mounted directory when the
 * kubelet swaps it. A broker added or removed changes only `-routes` and the
 * LoadBalancer's ports: the Pod template depends on no broker, so no Envoy restarts
 * (no checksum annotation of the routes, on purpose). The admin port is on a ClusterIP
 * Service of its own, never on the LoadBalancer: anyone reaching it could stop Envoy.
 * Plain GitOps objects, applied and pruned normally.
 */
export class EnvoyIngress extends Construct {
  public readonly routing: EnvoyRouting;

  constructor(scope: Construct, id: string, props: EnvoyIngressProps) {
    super(scope, id);
    const { cluster, access, envoy } = props;
    const routing = envoyRouting(cluster, access, envoy);
    this.routing = routing;
    const selector = { [LABEL_CLUSTER]: cluster.name, [LABEL_COMPONENT]: COMPONENT };
    const labels = { ...clusterLabels(cluster), [LABEL_COMPONENT]: COMPONENT };
    const meta = (name: string) => ({ name, namespace: cluster.namespace, labels });
    const routesName = `${envoy.name}-routes`;

    new KubeConfigMap(this, 'Bootstrap', {
      metadata: meta(envoy.name),
      data: { [ENVOY_FILES.bootstrap]: renderEnvoyBootstrap(routing) },
    });
    new KubeConfigMap(this, 'Routes', {
      metadata: meta(routesName),
      data: { [ENVOY_FILES.clusters]: renderEnvoyClusters(routing), [ENVOY_FILES.listeners]: renderEnvoyListeners(routing) },
    });

    // Spread over nodes and zones: with externalTrafficPolicy Local the LB shares traffic per
    // node, so two Envoys on one node would each get half a node's share, and one node or zone
    // going down takes one Envoy. ScheduleAnyway: never keeps a Pod from scheduling on a small cluster.
    const spread = (topologyKey: string) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } });
    const deployment = KubeDeployment.manifest({
      metadata: meta(envoy.name),
      spec: {
        replicas: envoy.replicas,
        // A new Envoy is ready before an old one goes: the LB never has fewer.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: IntOrString.fromNumber(0), maxSurge: IntOrString.fromNumber(1) } },
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            // Envoy talks to no API server; service links would add an env var per Service (one per broker).
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            // Pod Security Standard "restricted".
            securityContext: {
              runAsNonRoot: true,
              runAsUser: ENVOY_IMAGE_ID,
              runAsGroup: ENVOY_IMAGE_ID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            topologySpreadConstraints: [spread('kubernetes.io/hostname'), spread('topology.kubernetes.io/zone')],
            containers: [{
              name: COMPONENT,
              image: envoy.image,
              // Envoy itself, not the image's entrypoint script (which switches users and needs root).
              // No hot restart: Kubernetes replaces Pods instead, and it would need shared memory.
              command: [
                'envoy',
                '-c', `${BOOTSTRAP_DIR}/${ENVOY_FILES.bootstrap}`,
                '--disable-hot-restart',
                '--drain-time-s', String(DRAIN_TIME_SECONDS),
                '--log-level', 'info',
              ],
              // Only the fixed ports: one per broker would change the Pod template with every
              // broker (the Service targets them by number, which needs no declaration).
              ports: [
                { name: 'admin', containerPort: envoy.adminPort, protocol: 'TCP' },
                { name: 'health', containerPort: envoy.healthPort, protocol: 'TCP' },
                { name: 'bootstrap', containerPort: access.bootstrapPort, protocol: 'TCP' },
              ],
              // /ready is 200 once the listeners and clusters are loaded, 503 while draining.
              readinessProbe: { httpGet: { path: '/ready', port: IntOrString.fromString('admin') }, periodSeconds: 5 },
              // /server_info answers while Envoy runs, draining or not: a drain is no reason to kill it.
              livenessProbe: { httpGet: { path: '/server_info', port: IntOrString.fromString('admin') }, periodSeconds: 10, failureThreshold: 3 },
              resources: containerResources(envoy.resources),
              // Envoy writes nothing to disk: no access log files, no hot-restart state.
              securityContext: RESTRICTED_CONTAINER_SECURITY,
              volumeMounts: [
                { name: 'bootstrap', mountPath: BOOTSTRAP_DIR, readOnly: true },
                { name: 'routes', mountPath: ENVOY_DYNAMIC_DIR, readOnly: true },
              ],
            }],
            volumes: [
              { name: 'bootstrap', configMap: { name: envoy.name } },
              { name: 'routes', configMap: { name: routesName } },
            ],
            nodeSelector: Object.keys(envoy.nodeSelector).length ? { ...envoy.nodeSelector } : undefined,
            tolerations: envoy.tolerations.length ? [...envoy.tolerations] : undefined,
          },
        },
      },
    });
    // Kubernetes' own sleep action (GA in 1.34), which the generated 1.27 types lack (and
    // KubeDeployment would drop): the image may have no shell or curl, and Envoy's admin takes
    // /healthcheck/fail only as a POST (a GET gets 405), which a preStop httpGet cannot send.
    // The wait alone drains: see PRESTOP_SLEEP_SECONDS.
    deployment.spec.template.spec.containers[0].lifecycle = { preStop: { sleep: { seconds: PRESTOP_SLEEP_SECONDS } } };
    new ApiObject(this, 'Deployment', deployment);

    const tcp = (name: string, port: number) => ({ name, port, targetPort: IntOrString.fromNumber(port), protocol: 'TCP' });
    new KubeService(this, 'LoadBalancer', {
      metadata: { ...meta(envoy.name), annotations: Object.keys(envoy.serviceAnnotations).length ? { ...envoy.serviceAnnotations } : undefined },
      spec: {
        type: 'LoadBalancer',
        // Local: the client's address reaches Envoy (and loadBalancerSourceRanges), no second
        // hop between nodes for Kafka's heavy traffic, and the LB health-checks each node on
        // healthCheckNodePort, which fails for a node whose Envoys are all terminating: the
        // drain on a rollout. Needs Envoys spread over nodes (above) for an even share.
        externalTrafficPolicy: 'Local',
        loadBalancerClass: envoy.loadBalancerClass,
        loadBalancerSourceRanges: envoy.loadBalancerSourceRanges.length ? [...envoy.loadBalancerSourceRanges] : undefined,
        selector,
        ports: [
          tcp('bootstrap', access.bootstrapPort),
          ...routing.brokers.map((b) => tcp(envoyBrokerName(b.id), b.listenPort)),
          tcp('health', envoy.healthPort),
        ],
      },
    });

    new KubeService(this, 'Admin', {
      metadata: meta(`${envoy.name}-admin`),
      spec: { type: 'ClusterIP', selector, ports: [tcp('admin', envoy.adminPort)] },
    });

    new KubePodDisruptionBudget(this, 'Budget', {
      metadata: meta(envoy.name),
      // The Deployment owns these Pods, so maxUnavailable works (unlike for broker Pods).
      spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
  }
}
