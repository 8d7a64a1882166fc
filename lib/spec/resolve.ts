/**
 * Turns a validated spec into the resolved cluster model: every default
 * filled, groups merged into brokers, names and ids fixed. Pure and
 * deterministic; the constructs and the controller both render from it.
 */
import { createHash } from 'node:crypto';
import { canonical } from '../render/canonical.js';
import { names } from '../render/metadata.js';
import type { AffinitySpec } from './kube-schemas.js';
import { DEFAULT_HOLD_LABEL, DEFAULT_OPERATOR_IMAGE } from './schema.js';
import type {
  BrokerGroupSpec, BrokerSpec, ClientAuth, KafkaConfigValue, OperatorSpec, ParsedClusterSpec, ResourcesSpec, TolerationSpec, VolumeSpec,
} from './schema.js';
import versions from '../../versions.json' with { type: 'json' };
import type { KafkaClusterSpec } from './schema.js';
import { parseSpec } from './validate.js';

export type NodeRole = 'broker' | 'controller';

export interface ResolvedVolume {
  readonly name: string;
  readonly size: string;
  readonly storageClass?: string;
  readonly mountPath: string;
  readonly deleteClaim: boolean;
  /** PersistentVolumeClaim name: <node name>-<volume name>. */
  readonly claimName: string;
  /** Whether this volume holds the KRaft metadata log. Exactly one volume of a node does. */
  readonly metadataLog: boolean;
}

export interface KafkaNodeModel {
  readonly id: number;
  /** Kafka process.roles; a combined-mode node has both. */
  readonly roles: readonly NodeRole[];
  /** Which pool the node's objects belong to: brokers (incl. combined nodes) or dedicated controllers. */
  readonly pool: NodeRole;
  /** Name of the Pod, its ConfigMap and its Service. */
  readonly name: string;
  /** Fully qualified DNS name of the node's Service. */
  readonly host: string;
  readonly group?: string;
  readonly image: string;
  readonly resources?: ResourcesSpec;
  readonly volumes: readonly ResolvedVolume[];
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** The user's Affinity, exactly as written (keys in canonical order). */
  readonly affinity?: AffinitySpec;
  readonly securityContext: ResolvedSecurityContext;
  readonly tolerations: readonly TolerationSpec[];
  readonly env: Readonly<Record<string, string>>;
  readonly rack?: string;
  /** User config merged cluster < group < node, as strings. Owned keys are never here. */
  readonly config: Readonly<Record<string, string>>;
}

/** uid, gid and volume group of a node's Pod. */
export interface ResolvedSecurityContext {
  readonly runAsUser: number;
  readonly runAsGroup: number;
  readonly fsGroup: number;
}

/** The runtime controller's Deployment and what it works with. */
export interface OperatorModel {
  /** Name of its Deployment, ServiceAccount, Role, RoleBinding and Service. */
  readonly name: string;
  readonly image: string;
  /** Unset: Kubernetes' own default. */
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  readonly resources: ResourcesSpec;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly TolerationSpec[];
  /** Failures a rolling-restart step tolerates (brokers out of sync or offline, plus firing hold alerts). */
  readonly failureThreshold: number;
  /** Consulted before each restart step; undefined: alerts are not consulted. */
  readonly alertmanager?: { readonly url: string; readonly holdLabel: string };
  /** The ConfigMap where the controller keeps what it must remember (it creates it). */
  readonly stateConfigMap: string;
  /** The Lease that keeps one controller active. */
  readonly lease: string;
}

/** Kafka listener names; the Pod and Service ports are named after them in lower case. */
export type ListenerName = 'INTERNAL' | 'CONTROLLER' | 'EXTERNAL';

/**
 * One Kafka listener. server.properties (listeners, advertised.listeners, the security
 * protocol map, per-listener TLS keys), the Pods' ports, the nodes' Services and the
 * bootstrap Service all derive from these.
 */
export interface ListenerModel {
  readonly name: ListenerName;
  /** Container and Service port name: the listener name in lower case. */
  readonly portName: string;
  /** The port every node of `role` listens on. */
  readonly port: number;
  /** Which nodes have it: brokers (incl. combined nodes) or controllers (incl. combined nodes). */
  readonly role: NodeRole;
  readonly tls: boolean;
  readonly clientAuth: ClientAuth;
}

/** Where the certificates come from and what they are called. */
export interface TlsModel {
  readonly mode: 'cert-manager' | 'provisioned' | 'secrets';
  /** cert-manager: the given issuer; undefined: our own CA Issuer (`caIssuer`). */
  readonly issuer?: { readonly kind: 'Issuer' | 'ClusterIssuer'; readonly name: string; readonly group: string };
  /** Secret name template with {node}. */
  readonly secretName: string;
  /** The runtime controller's client certificate Secret. */
  readonly operatorSecretName: string;
  /** cert-manager with no issuer given, and provisioned: the CA's Secret (and Issuer) name. */
  readonly caName: string;
  readonly duration: string;
  readonly renewBefore: string;
}

/** Access from outside through one address: host:externalStartingPort+id per broker, host:bootstrapPort for any. */
export interface ExternalAccessModel {
  readonly type: 'envoy' | 'istio';
  readonly host: string;
  readonly externalStartingPort: number;
  readonly bootstrapPort: number;
  readonly envoy?: EnvoyModel;
  readonly istio?: { readonly gatewaySelector: Readonly<Record<string, string>>; readonly mode: 'tcp' | 'tls-passthrough' };
}

export interface EnvoyModel {
  /** Name of its Deployment, ConfigMaps, Services and PodDisruptionBudget. */
  readonly name: string;
  readonly replicas: number;
  readonly image: string;
  readonly resources: ResourcesSpec;
  readonly serviceAnnotations: Readonly<Record<string, string>>;
  readonly loadBalancerSourceRanges: readonly string[];
  readonly loadBalancerClass?: string;
  readonly healthPort: number;
  readonly adminPort: number;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly TolerationSpec[];
}

export interface IstioModel {
  readonly nativeSidecars: boolean;
  readonly sidecarReadyTimeoutSeconds: number;
}

export interface ClusterModel {
  readonly name: string;
  readonly namespace: string;
  /** Whether the output holds the Namespace object. */
  readonly createNamespace: boolean;
  readonly clusterId: string;
  readonly kafkaVersion: string;
  /** The Kafka release ("4.3") whose metadata.version the cluster is held at; undefined: kafkaVersion's. */
  readonly metadataVersion?: string;
  readonly clusterDomain: string;
  readonly controllerMode: 'dedicated' | 'combined';
  readonly ports: { readonly internal: number; readonly controller: number };
  /** Every listener of the cluster: INTERNAL and CONTROLLER, and EXTERNAL with externalAccess. */
  readonly listeners: readonly ListenerModel[];
  readonly tls?: TlsModel;
  readonly externalAccess?: ExternalAccessModel;
  readonly istio?: IstioModel;
  readonly rackTopologyKey?: string;
  readonly topologySpread: 'preferred' | 'required' | 'none';
  /** Nodes with the controller role (the KRaft voters), by id. */
  readonly voters: readonly KafkaNodeModel[];
  /** Nodes with the broker role, by id. */
  readonly brokers: readonly KafkaNodeModel[];
  /** Every node once: dedicated controllers first, then brokers, each by id. */
  readonly nodes: readonly KafkaNodeModel[];
  /** The runtime controller; undefined when turned off. */
  readonly operator?: OperatorModel;
}

const DEFAULT_BROKER_STORAGE: readonly VolumeSpec[] = [{ name: 'data-0', size: '10Gi' }];
const DEFAULT_CONTROLLER_STORAGE: readonly VolumeSpec[] = [{ name: 'data-0', size: '5Gi' }];
const DEFAULT_CONTROLLER_REPLICAS = 3;
const DEFAULT_CONTROLLER_ID_BASE = 9000;
/** The controller holds little more than the cluster's Pods and ConfigMaps in memory. */
const DEFAULT_OPERATOR_RESOURCES: ResourcesSpec = { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } };
/** uid/gid of the user in the official apache/kafka image. */
const KAFKA_IMAGE_ID = 1000;
/** Namespaces every cluster has: never emitted, so their labels stay the platform's. */
const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

/** Validates (throwing SpecValidationError with every problem) and resolves a spec. */
export function resolveSpec(input: KafkaClusterSpec | unknown, source?: string): ClusterModel {
  return resolveParsed(parseSpec(input, source));
}

/** Kafka cluster ids are 16 bytes in base64url; derive them from namespace/name so they never change. */
export function deriveClusterId(namespace: string, name: string): string {
  const bytes = createHash('sha256').update(`kafka-cdk8s/${namespace}/${name}`).digest().subarray(0, 16);
  bytes[0] = bytes[0]! & 0x7f; // a leading '-' or '_' confuses command-line tools
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // RFC 4122 name-based (v5-style) version bits
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return bytes.toString('base64url');
}

function resolveParsed(spec: ParsedClusterSpec): ClusterModel {
  const image = spec.kafka.image ?? `apache/kafka:${spec.kafka.version}`;
  const domain = `${spec.namespace}.svc.${spec.clusterDomain}`;
  const groups = spec.brokerGroups ?? {};
  const controllerMode = spec.controllers.mode;
  const combinedIds = new Set(controllerMode === 'combined' ? combinedControllerIds(spec) : []);

  const brokers = [...spec.brokers].sort((a, b) => a.id - b.id).map((broker) => {
    const groupName = broker.group ?? (Object.hasOwn(groups, 'default') ? 'default' : undefined);
    const group: BrokerGroupSpec = groupName ? groups[groupName]! : {};
    const name = `${spec.name}-broker-${broker.id}`;
    return buildNode({
      id: broker.id,
      roles: combinedIds.has(broker.id) ? ['broker', 'controller'] : ['broker'],
      pool: 'broker',
      name,
      host: `${name}.${domain}`,
      group: groupName,
      image: broker.image ?? group.image ?? image,
      layers: [spec.kafka, group, broker],
      clusterConfig: spec.config,
      defaultStorage: DEFAULT_BROKER_STORAGE,
      rack: broker.rack ?? group.rack,
    });
  });

  const dedicated: KafkaNodeModel[] = [];
  if (controllerMode === 'dedicated') {
    for (const id of dedicatedControllerIds(spec.controllers)) {
      const name = `${spec.name}-controller-${id}`;
      dedicated.push(buildNode({
        id,
        roles: ['controller'],
        pool: 'controller',
        name,
        host: `${name}.${domain}`,
        image: spec.controllers.image ?? image,
        layers: [spec.kafka, spec.controllers],
        clusterConfig: spec.config,
        defaultStorage: DEFAULT_CONTROLLER_STORAGE,
      }));
    }
  }

  const cluster: ClusterModel = {
    name: spec.name,
    namespace: spec.namespace,
    createNamespace: spec.createNamespace ?? !SYSTEM_NAMESPACES.has(spec.namespace),
    clusterId: spec.clusterId ?? deriveClusterId(spec.namespace, spec.name),
    kafkaVersion: spec.kafka.version,
    ...(spec.kafka.metadataVersion ? { metadataVersion: spec.kafka.metadataVersion } : {}),
    clusterDomain: spec.clusterDomain,
    controllerMode,
    ports: { internal: spec.listeners.internal.port, controller: spec.listeners.controller.port },
    listeners: resolveListeners(spec),
    ...(spec.tls ? { tls: resolveTls(spec) } : {}),
    ...(spec.externalAccess ? { externalAccess: resolveExternalAccess(spec) } : {}),
    ...(spec.istio ? { istio: { nativeSidecars: spec.istio.nativeSidecars ?? false, sidecarReadyTimeoutSeconds: spec.istio.sidecarReadyTimeoutSeconds ?? DEFAULT_SIDECAR_TIMEOUT_SECONDS } } : {}),
    rackTopologyKey: spec.rackAwareness?.topologyKey,
    topologySpread: spec.topologySpread,
    voters: controllerMode === 'dedicated' ? dedicated : brokers.filter((b) => b.roles.includes('controller')),
    brokers,
    nodes: [...dedicated, ...brokers],
  };
  return { ...cluster, operator: resolveOperator(cluster, spec.operator) };
}

function resolveOperator(cluster: ClusterModel, spec: OperatorSpec = {}): OperatorModel | undefined {
  if (spec.enabled === false) return undefined;
  const alertmanager = spec.rolling?.alertmanager;
  return {
    name: names.operator(cluster),
    image: spec.image ?? DEFAULT_OPERATOR_IMAGE,
    imagePullPolicy: spec.imagePullPolicy,
    // Replaced as a whole: merged with the default, a larger request could meet the default limit below it.
    resources: canonical(spec.resources ?? DEFAULT_OPERATOR_RESOURCES),
    nodeSelector: canonical(spec.nodeSelector ?? {}),
    tolerations: canonical(spec.tolerations ?? []),
    failureThreshold: spec.rolling?.failureThreshold ?? 0,
    alertmanager: alertmanager && { url: alertmanager.url, holdLabel: alertmanager.holdLabel ?? DEFAULT_HOLD_LABEL },
    stateConfigMap: names.operatorState(cluster),
    lease: names.operator(cluster),
  };
}

const DEFAULT_SIDECAR_TIMEOUT_SECONDS = 300;
const DEFAULT_ENVOY_RESOURCES: ResourcesSpec = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } };

function resolveListeners(spec: ParsedClusterSpec): ListenerModel[] {
  const tlsOn = spec.tls !== undefined;
  const { internal, controller, external } = spec.listeners;
  const listeners: ListenerModel[] = [
    { name: 'INTERNAL', portName: 'internal', port: internal.port, role: 'broker', tls: internal.tls ?? tlsOn, clientAuth: internal.clientAuth ?? 'none' },
    // KRaft controller traffic stays inside the cluster network, in plaintext.
    { name: 'CONTROLLER', portName: 'controller', port: controller.port, role: 'controller', tls: false, clientAuth: 'none' },
  ];
  if (spec.externalAccess) {
    listeners.push({ name: 'EXTERNAL', portName: 'external', port: external.port, role: 'broker', tls: external.tls ?? tlsOn, clientAuth: external.clientAuth ?? 'none' });
  }
  return listeners;
}

function resolveTls(spec: ParsedClusterSpec): TlsModel {
  const tls = spec.tls!;
  return {
    mode: tls.mode,
    ...(tls.issuer ? { issuer: { kind: tls.issuer.kind, name: tls.issuer.name, group: tls.issuer.group ?? 'cert-manager.io' } } : {}),
    secretName: tls.secretName ?? '{node}-tls',
    operatorSecretName: tls.operatorSecretName ?? `${spec.name}-operator-tls`,
    caName: `${spec.name}-ca`,
    duration: tls.duration ?? '2160h',
    renewBefore: tls.renewBefore ?? '720h',
  };
}

function resolveExternalAccess(spec: ParsedClusterSpec): ExternalAccessModel {
  const ext = spec.externalAccess!;
  const externalTls = spec.listeners.external.tls ?? spec.tls !== undefined;
  const envoy = ext.envoy ?? {};
  return {
    type: ext.type,
    host: ext.host,
    externalStartingPort: ext.externalStartingPort,
    bootstrapPort: ext.bootstrapPort,
    ...(ext.type === 'envoy' ? {
      envoy: {
        name: `${spec.name}-envoy`,
        replicas: envoy.replicas ?? 2,
        image: envoy.image ?? `envoyproxy/envoy:v${versions.envoy}`,
        resources: canonical(envoy.resources ?? DEFAULT_ENVOY_RESOURCES),
        serviceAnnotations: canonical(envoy.serviceAnnotations ?? {}),
        loadBalancerSourceRanges: [...(envoy.loadBalancerSourceRanges ?? [])].sort(),
        ...(envoy.loadBalancerClass ? { loadBalancerClass: envoy.loadBalancerClass } : {}),
        healthPort: envoy.healthPort ?? 8081,
        adminPort: envoy.adminPort ?? 9901,
        nodeSelector: canonical(envoy.nodeSelector ?? {}),
        tolerations: canonical(envoy.tolerations ?? []),
      },
    } : {}),
    ...(ext.type === 'istio' ? {
      istio: {
        gatewaySelector: canonical(ext.istio?.gatewaySelector ?? { istio: 'ingressgateway' }),
        mode: ext.istio?.mode ?? (externalTls ? 'tls-passthrough' : 'tcp'),
      },
    } : {}),
  };
}

/** Dedicated controllers' ids, ascending: `ids`, or idBase and the next replicas - 1. */
export function dedicatedControllerIds(controllers: { ids?: readonly number[]; replicas?: number; idBase?: number }): number[] {
  if (controllers.ids) return [...controllers.ids].sort((a, b) => a - b);
  const replicas = controllers.replicas ?? DEFAULT_CONTROLLER_REPLICAS;
  const idBase = controllers.idBase ?? DEFAULT_CONTROLLER_ID_BASE;
  return Array.from({ length: replicas }, (_, i) => idBase + i);
}

function combinedControllerIds(spec: ParsedClusterSpec): number[] {
  if (spec.controllers.brokerIds) return spec.controllers.brokerIds;
  return spec.brokers.map((b) => b.id).sort((a, b) => a - b).slice(0, 3);
}

/** One layer of pod template fields: a group, a broker or the controller pool. */
type TemplateLayer = Partial<Pick<BrokerSpec, 'resources' | 'storage' | 'nodeSelector' | 'affinity' | 'tolerations' | 'env' | 'config' | 'securityContext'>>;

interface NodeInput {
  readonly id: number;
  readonly roles: readonly NodeRole[];
  readonly pool: NodeRole;
  readonly name: string;
  readonly host: string;
  readonly group?: string;
  readonly image: string;
  /** Lowest precedence first. */
  readonly layers: readonly TemplateLayer[];
  readonly clusterConfig?: Readonly<Record<string, KafkaConfigValue>>;
  readonly defaultStorage: readonly VolumeSpec[];
  readonly rack?: string;
}

function buildNode(input: NodeInput): KafkaNodeModel {
  const last = <K extends keyof TemplateLayer>(key: K): TemplateLayer[K] =>
    input.layers.reduce<TemplateLayer[K]>((acc, layer) => layer[key] ?? acc, undefined);
  // Canonical key order: the same meaning must render the same bytes and hash.
  const merged = <K extends 'nodeSelector' | 'env' | 'securityContext'>(key: K): NonNullable<TemplateLayer[K]> =>
    canonical(Object.assign({}, ...input.layers.map((layer) => layer[key] ?? {})));
  const security = merged('securityContext');
  const storage = last('storage') ?? input.defaultStorage;
  const metadataLog = metadataVolume(storage);
  return {
    id: input.id,
    roles: input.roles,
    pool: input.pool,
    name: input.name,
    host: input.host,
    group: input.group,
    image: input.image,
    resources: canonical(mergeResources(input.layers.map((layer) => layer.resources))),
    volumes: storage.map((v) => ({
      name: v.name,
      size: v.size,
      storageClass: v.storageClass,
      mountPath: v.mountPath ?? `/var/lib/kafka/${v.name}`,
      deleteClaim: v.deleteClaim ?? false,
      claimName: `${input.name}-${v.name}`,
      metadataLog: v.name === metadataLog,
    })),
    nodeSelector: merged('nodeSelector'),
    affinity: canonical(last('affinity')),
    securityContext: {
      runAsUser: security.runAsUser ?? KAFKA_IMAGE_ID,
      runAsGroup: security.runAsGroup ?? KAFKA_IMAGE_ID,
      fsGroup: security.fsGroup ?? KAFKA_IMAGE_ID,
    },
    tolerations: canonical(last('tolerations') ?? []),
    env: merged('env'),
    rack: input.rack,
    config: stringifyConfig(Object.assign({}, input.clusterConfig, ...input.layers.map((layer) => layer.config ?? {}))),
  };
}

/** The volume holding the metadata log: the marked one, else data-0, else the only one (validation ensures one). */
function metadataVolume(storage: readonly VolumeSpec[]): string | undefined {
  return (storage.find((v) => v.metadataLog) ?? storage.find((v) => v.name === 'data-0') ?? (storage.length === 1 ? storage[0] : undefined))?.name;
}

function mergeResources(layers: ReadonlyArray<ResourcesSpec | undefined>): ResourcesSpec | undefined {
  const present = layers.filter((r): r is ResourcesSpec => r !== undefined);
  if (present.length === 0) return undefined;
  const requests = Object.assign({}, ...present.map((r) => r.requests ?? {}));
  const limits = Object.assign({}, ...present.map((r) => r.limits ?? {}));
  return {
    ...(Object.keys(requests).length ? { requests } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

function stringifyConfig(config: Record<string, KafkaConfigValue>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)]));
}
