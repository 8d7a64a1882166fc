/**
 * The cluster spec: the single definition behind the TypeScript types
 * (`KafkaClusterSpec`), runtime validation (`validateSpec`) and the published
 * JSON Schema (`schema/kafka-cluster.schema.json`, generated from this file).
 *
 * Structural rules live here; rules that relate several fields (duplicate ids,
 * unknown groups, owned keys, replication factors) live in `semantics.ts`.
 */
import { z } from 'zod';
import versions from '../../versions.json' with { type: 'json' };
import pkg from '../../package.json' with { type: 'json' };
import {
  affinitySchema, imageReference, labelKey, labelValue, quantity, resourceName,
} from './kube-schemas.js';
import { mountPathProblem } from './paths.js';

/** The Kafka version the toolkit is tested against; the default image tag. */
export const DEFAULT_KAFKA_VERSION: string = versions.kafka;

/** The runtime controller's image: this package, built by the repo's Dockerfile, at this very version. */
export const DEFAULT_OPERATOR_IMAGE = `ghcr.io/kafka-cdk8s/kafka-cdk8s:${pkg.version}`;
/** Alerts carrying this label set to "true" hold rolling restarts. */
export { DEFAULT_HOLD_LABEL } from '../render/metadata.js';
import { DEFAULT_HOLD_LABEL } from '../render/metadata.js';

/** RFC 1035 label: the rule for Service names, which every node gets. */
export const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = (what: string) =>
  z.string().max(63, `${what} must be at most 63 characters`)
    .regex(DNS_LABEL, `${what} must be a DNS label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`);

/**
 * A Kafka config value as written by the user; rendered as a string. A YAML
 * integer beyond JavaScript's exact range arrives as a BigInt and is kept
 * exactly; a JavaScript number that already lost digits is refused.
 */
const configValue = z.union([
  z.string(),
  z.number().refine((n) => Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n)),
    'this number is beyond the range JavaScript numbers hold exactly (2^53); write it as a string'),
  z.boolean(),
  z.bigint(),
], { error: 'Kafka config values are strings, numbers or booleans (lists are comma-separated strings)' });
const kafkaConfig = z.record(
  z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'Kafka config keys are dotted names such as log.retention.ms'),
  configValue,
).meta({ description: 'Kafka broker configuration as plain keys (server.properties). Merged broker over group over cluster.' });

const nodeId = z.number().int('node ids must be whole numbers').min(0, 'node ids must be >= 0').max(2_147_483_647);

export const volumeSchema = z.strictObject({
  name: dnsLabel('volume name').meta({ description: 'Volume name; part of the PVC name <cluster>-broker-<id>-<name>.' }),
  size: quantity('size').refine((v) => Number.parseFloat(v) > 0, 'size must be greater than zero').meta({ description: "Requested size, e.g. '100Gi'." }),
  storageClass: z.string().min(1).optional().meta({ description: 'StorageClass of the PVC. @default the cluster default StorageClass' }),
  mountPath: z.string().superRefine((path, ctx) => {
    const problem = mountPathProblem(path);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).optional()
    .meta({ description: 'Where the volume is mounted. @default /var/lib/kafka/<name>' }),
  deleteClaim: z.boolean().optional().meta({ description: 'Delete the PVC when its broker is removed. @default false' }),
  metadataLog: z.boolean().optional().meta({ description: "Holds the KRaft metadata log (metadata.log.dir). Pinned so that a change to the volume list never moves it. @default the volume named 'data-0', or the only volume" }),
});

const resourceList = z.record(resourceName, quantity('resource quantity'));
const resourcesSchema = z.strictObject({
  requests: resourceList.optional(),
  limits: resourceList.optional(),
}).meta({ description: 'Container resources (requests / limits).' });

const nodeSelectorSchema = z.record(labelKey('nodeSelector key'), labelValue('nodeSelector value'));

const tolerationSchema = z.strictObject({
  key: labelKey('toleration key').optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});

const linuxId = (what: string, min: number, why: string) => z.number().int(`${what} must be a whole number`)
  .min(min, `${what} must be at least ${min}${why}`).max(2_147_483_647, `${what} must fit in 32 bits`);
export const securityContextSchema = z.strictObject({
  // Pod Security "restricted" forbids uid 0; group 0 is allowed (and common in images built for OpenShift).
  runAsUser: linuxId('runAsUser', 1, ': Pods run as a non-root user').optional().meta({ description: 'uid Kafka runs as. @default 1000 (the apache/kafka image)' }),
  runAsGroup: linuxId('runAsGroup', 0, '').optional().meta({ description: 'gid Kafka runs as. @default 1000' }),
  fsGroup: linuxId('fsGroup', 0, '').optional().meta({ description: 'Group that owns the volumes. @default 1000' }),
}).meta({ description: 'User and group ids for images other than apache/kafka. Merged field by field: broker over group over kafka.securityContext.' });

/** Uuid.ZERO_UUID and Uuid.ONE_UUID, which Kafka refuses as ids. */
const RESERVED_UUIDS = ['AAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAQ'];

/** Environment variables the Pods get from kafka-cdk8s itself. */
export const RESERVED_ENV_PREFIX = 'KAFKA_CDK8S_';

/** Fields shared by broker groups, single brokers and the controller pool. */
const podTemplateFields = {
  image: imageReference('image').optional().meta({ description: 'Container image. @default apache/kafka:<kafka.version>' }),
  resources: resourcesSchema.optional(),
  storage: z.array(volumeSchema).min(1, 'storage needs at least one volume').optional()
    .meta({ description: "Volumes, each a PVC listed in log.dirs. @default one 10Gi volume named 'data-0'" }),
  nodeSelector: nodeSelectorSchema.optional(),
  affinity: affinitySchema.optional(),
  securityContext: securityContextSchema.optional(),
  tolerations: z.array(tolerationSchema).optional(),
  env: z.record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names are letters, digits and _, not starting with a digit')
      .refine((name) => !name.startsWith(RESERVED_ENV_PREFIX), `environment variables starting with ${RESERVED_ENV_PREFIX} are set by kafka-cdk8s`),
    z.string(),
  ).optional()
    .meta({ description: 'Extra environment variables, e.g. KAFKA_HEAP_OPTS.' }),
  config: kafkaConfig.optional(),
};

export const brokerGroupSchema = z.strictObject({
  ...podTemplateFields,
  rack: labelValue('rack').min(1).optional().meta({ description: 'broker.rack for every broker of the group (a broker may override); a Kubernetes label value, as it must match a node label.' }),
}).meta({ description: 'A template for brokers: resources, storage, image, scheduling and config.' });

export const brokerSchema = z.strictObject({
  id: nodeId.meta({ description: 'node.id of the broker; unique in the cluster, never reused for another broker.' }),
  group: z.string().optional().meta({ description: "Broker group (template) to use. @default 'default' if such a group exists, else none" }),
  rack: labelValue('rack').min(1).optional().meta({ description: 'broker.rack (rack awareness); a Kubernetes label value. @default the group rack' }),
  ...podTemplateFields,
});

export const controllersSchema = z.strictObject({
  mode: z.enum(['dedicated', 'combined']).default('dedicated')
    .meta({ description: "'dedicated': separate controller nodes; 'combined': some brokers also act as controllers (small clusters)." }),
  replicas: z.number().int().min(1, 'replicas must be at least 1').max(9, 'replicas must be at most 9').optional()
    .meta({ description: 'Dedicated mode: number of controller nodes. @default 3' }),
  idBase: nodeId.optional().meta({ description: 'Dedicated mode: node.id of the first controller; the others follow. @default 9000' }),
  ids: z.array(nodeId).min(1, 'ids needs at least one controller').max(9, 'at most 9 controllers').optional()
    .meta({ description: 'Dedicated mode: the controllers\' node ids, instead of replicas and idBase; to retire one particular controller, or replace it with another id. @default idBase..idBase+replicas-1' }),
  brokerIds: z.array(nodeId).min(1).optional()
    .meta({ description: 'Combined mode: ids of the brokers that are also controllers. @default the lowest (up to 3) broker ids' }),
  ...podTemplateFields,
}).meta({ description: 'KRaft controller quorum.' });

const portSchema = z.number().int().min(1024, 'ports must be in 1024..65535 (the image runs as a non-root user)').max(65535, 'ports must be in 1024..65535');
const clientAuthSchema = z.enum(['none', 'requested', 'required'])
  .meta({ description: "TLS client authentication (Kafka ssl.client.auth): 'required' is mutual TLS. @default none" });
const tlsListenerFields = {
  tls: z.boolean().optional().meta({ description: 'Encrypt this listener with the certificates of `tls`. @default true when `tls` is set, else false' }),
  clientAuth: clientAuthSchema.optional(),
};
export const listenersSchema = z.strictObject({
  internal: z.strictObject({ port: portSchema.default(9092), ...tlsListenerFields }).default({ port: 9092 })
    .meta({ description: 'Listener used by clients inside Kubernetes, for replication (inter-broker) and by the runtime controller.' }),
  controller: z.strictObject({ port: portSchema.default(9093) }).default({ port: 9093 })
    .meta({ description: 'Listener of the KRaft controllers (plaintext, inside the cluster network).' }),
  external: z.strictObject({ port: portSchema.default(9094), ...tlsListenerFields }).default({ port: 9094 })
    .meta({ description: 'Listener reached from outside Kubernetes through `externalAccess`; each broker advertises the external host and its own port. Only present with externalAccess.' }),
});

/** A Go duration as cert-manager takes it, in hours and minutes: '2160h', '720h30m'. */
const certDuration = (what: string) => z.string().regex(/^(\d+h)?(\d+m)?$/, `${what} must be a duration in hours and minutes such as '2160h' or '720h30m'`)
  .refine((v) => v !== '' && /[1-9]/.test(v), `${what} must be longer than zero`);

export const tlsSchema = z.strictObject({
  mode: z.enum(['cert-manager', 'provisioned', 'secrets'])
    .meta({ description: "Where the certificates come from. 'cert-manager': Certificates (and unless `issuer` is given, a CA Issuer) in the output, issued by cert-manager. 'provisioned': the runtime controller (or `kafka-cdk8s certs`) makes a CA and each node's Secret in the cluster, and renews them. 'secrets': you bring the Secrets, named by `secretName`." }),
  issuer: z.strictObject({
    kind: z.enum(['Issuer', 'ClusterIssuer']).default('Issuer'),
    name: z.string().min(1),
    group: z.string().min(1).optional().meta({ description: '@default cert-manager.io' }),
  }).optional().meta({ description: "cert-manager: sign with this existing Issuer or ClusterIssuer. @default a self-signed CA of the cluster's own (Issuer <name>-ca)" }),
  secretName: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$|^[a-z0-9-]*\{node\}[a-z0-9-]*$/, "secretName must be a Secret name template containing {node}, e.g. '{node}-tls'")
    .refine((v) => v.includes('{node}'), "secretName must contain {node} (each node has its own certificate)").optional()
    .meta({ description: "Each node's Secret ({node}: its name, e.g. demo-broker-0): keys tls.crt, tls.key (PKCS#8), ca.crt and tls-combined.pem (key then chain). @default '{node}-tls'" }),
  operatorSecretName: dnsLabel('operatorSecretName').optional()
    .meta({ description: "The runtime controller's client certificate (same keys), for mutual TLS. @default '<name>-operator-tls'" }),
  duration: certDuration('duration').optional().meta({ description: "Certificate lifetime (cert-manager and provisioned). @default '2160h' (90 days)" }),
  renewBefore: certDuration('renewBefore').optional().meta({ description: "Renew this long before expiry (cert-manager and provisioned). @default '720h' (30 days)" }),
}).meta({ description: 'TLS for the internal and external listeners and the runtime controller. A renewed certificate reaches the running brokers without a restart. No private key is ever written to the output.' });

const envoySchema = z.strictObject({
  replicas: z.number().int().min(1, 'replicas must be at least 1').max(100).optional().meta({ description: '@default 2' }),
  image: imageReference('image').optional().meta({ description: `@default envoyproxy/envoy:v${versions.envoy}` }),
  resources: resourcesSchema.optional().meta({ description: '@default requests cpu 100m, memory 128Mi; limits memory 512Mi' }),
  serviceAnnotations: z.record(z.string(), z.string()).optional()
    .meta({ description: "Annotations of the LoadBalancer Service, e.g. your cloud's load balancer settings." }),
  loadBalancerSourceRanges: z.array(z.string().regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, 'loadBalancerSourceRanges are CIDRs such as 203.0.113.0/24')).optional(),
  loadBalancerClass: z.string().min(1).optional(),
  healthPort: portSchema.optional().meta({ description: 'Port answering load-balancer health checks (HTTP /healthz). @default 8081' }),
  adminPort: portSchema.optional().meta({ description: 'Envoy admin (readiness, metrics); never on the LoadBalancer, only on a ClusterIP Service. @default 9901' }),
  nodeSelector: nodeSelectorSchema.optional(),
  tolerations: z.array(tolerationSchema).optional(),
}).meta({ description: 'The Envoy Deployment behind the single LoadBalancer.' });

const istioIngressSchema = z.strictObject({
  gatewaySelector: z.record(labelKey('gatewaySelector key'), labelValue('gatewaySelector value')).optional()
    .meta({ description: "Labels of the Istio ingress gateway Pods. @default { istio: ingressgateway }" }),
  mode: z.enum(['tcp', 'tls-passthrough']).optional()
    .meta({ description: "'tcp': route by port; 'tls-passthrough': TLS kept end to end, routed by port and SNI (needs listeners.external TLS). @default tls-passthrough when the external listener has TLS, else tcp" }),
});

export const externalAccessSchema = z.strictObject({
  type: z.enum(['envoy', 'istio']).meta({ description: "'envoy': an Envoy Deployment behind one LoadBalancer Service. 'istio': an Istio Gateway and VirtualService on the mesh's ingress gateway." }),
  host: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'host must be a DNS name such as kafka.example.com')
    .meta({ description: "The DNS name clients outside use (the LoadBalancer's or gateway's address); every broker advertises it with its own port. Also in each broker's certificate." }),
  externalStartingPort: z.number().int().min(1024).max(65535).default(19000)
    .meta({ description: 'Broker N is reached at host:externalStartingPort+N. @default 19000' }),
  bootstrapPort: portSchema.default(19092).meta({ description: 'Reaches any broker: the address clients bootstrap from. @default 19092' }),
  envoy: envoySchema.optional(),
  istio: istioIngressSchema.optional(),
}).meta({ description: 'Access from outside Kubernetes through a single load-balanced address.' });

export const istioSchema = z.strictObject({
  nativeSidecars: z.boolean().optional()
    .meta({ description: "The mesh runs native sidecars (Kubernetes >= 1.29, Istio's ENABLE_NATIVE_SIDECARS): the proxy starts before Kafka and stops after it, so Kafka neither waits for it nor stops it. @default false" }),
  sidecarReadyTimeoutSeconds: z.number().int().min(1).max(3600).optional()
    .meta({ description: "How long Kafka's start waits for the sidecar to be ready before the container fails. @default 300" }),
}).meta({ description: 'The cluster runs in an Istio mesh: per-node Services are ClusterIP (mesh routing needs a Service VIP), and Kafka starts only once the sidecar is ready and stops it on exit.' });

/** Prometheus label names, which Alertmanager alerts carry. */
const PROMETHEUS_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const operatorSchema = z.strictObject({
  enabled: z.boolean().optional()
    .meta({ description: 'Deploy the runtime controller (`kafka-cdk8s controller`). @default true' }),
  image: imageReference('image').optional()
    .meta({ description: `Controller image (the repo's Dockerfile builds it). @default ${DEFAULT_OPERATOR_IMAGE}: the version of kafka-cdk8s that synthesizes` }),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional()
    .meta({ description: "Image pull policy. @default Kubernetes' own default (Always for :latest, else IfNotPresent)" }),
  resources: resourcesSchema.optional()
    .meta({ description: 'Container resources, replacing the default as a whole. @default requests cpu 50m, memory 128Mi; limits memory 256Mi' }),
  nodeSelector: nodeSelectorSchema.optional(),
  tolerations: z.array(tolerationSchema).optional(),
  rolling: z.strictObject({
    failureThreshold: z.number().int('failureThreshold must be a whole number').min(0, 'failureThreshold must be at least 0').max(2_147_483_647).optional()
      .meta({ description: 'Failures a rolling-restart step tolerates: brokers (other than the one to restart) out of the ISR of some partition or holding an offline partition, plus firing Alertmanager alerts that carry the hold label. @default 0' }),
    alertmanager: z.strictObject({
      url: z.url({ protocol: /^https?$/, error: 'url must be an http or https URL such as http://alertmanager.monitoring:9093' })
        .meta({ description: 'Alertmanager base URL, e.g. http://alertmanager.monitoring:9093.' }),
      holdLabel: z.string().regex(PROMETHEUS_LABEL_NAME, 'holdLabel must be a Prometheus label name: letters, digits and _, not starting with a digit').optional()
        .meta({ description: `An active alert with <holdLabel>="true" holds rolling restarts. @default ${DEFAULT_HOLD_LABEL}` }),
    }).optional().meta({ description: 'Consult Alertmanager before each restart step. @default none: alerts are not consulted' }),
  }).optional().meta({ description: 'How the controller rolls brokers.' }),
}).meta({ description: "The runtime controller ('operator', not the KRaft controllers): a Deployment with its ServiceAccount, Role, RoleBinding and metrics Service." });

export const kafkaClusterSpecSchema = z.strictObject({
  name: dnsLabel('name').meta({ description: 'Cluster name; prefix of every object name.' }),
  namespace: dnsLabel('namespace').default('default'),
  createNamespace: z.boolean().optional()
    .meta({ description: "Emit the Namespace (prune-proof, Pod Security 'restricted' enforced), so that Flux and Argo CD create it in their first apply stage. Turn off for a namespace that the platform owns. @default true, except for namespaces that always exist (default, kube-system, kube-public, kube-node-lease)" }),
  kafka: z.strictObject({
    version: z.string().regex(/^\d+\.\d+\.\d+$/, "version must look like '4.1.1'").default(DEFAULT_KAFKA_VERSION)
      .meta({ description: `Kafka version. @default ${DEFAULT_KAFKA_VERSION}` }),
    image: imageReference('image').optional().meta({ description: 'Container image for every node. @default apache/kafka:<version>' }),
    metadataVersion: z.string().regex(/^\d+\.\d+$/, "metadataVersion must be a Kafka release like '4.3'").optional()
      .meta({ description: "Hold the cluster's metadata.version at this Kafka release's level (e.g. '4.3' while trying 4.4). After an upgrade, the controller finalizes metadata.version (and kraft.version) up to it with UpdateFeatures; finalizing is one-way: Kafka older than the finalized level cannot run the cluster any more. @default the level of kafka.version: finalized once every node runs it" }),
    securityContext: securityContextSchema.optional(),
  }).default({ version: DEFAULT_KAFKA_VERSION }),
  clusterId: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/, "clusterId must be 22 base64url characters, not starting with '-' (as printed by kafka-storage.sh random-uuid)")
    .refine((id) => !RESERVED_UUIDS.includes(id), 'clusterId must not be one of the UUIDs that Kafka reserves (all zeros, or zeros and a final 1)').optional()
    .meta({ description: 'KRaft cluster id. @default derived from namespace/name (stable, never random)' }),
  clusterDomain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'clusterDomain must be a DNS name').default('cluster.local'),
  controllers: controllersSchema.default({ mode: 'dedicated' }),
  brokerGroups: z.record(dnsLabel('group name'), brokerGroupSchema).optional(),
  brokers: z.array(brokerSchema).min(1, 'a cluster needs at least one broker'),
  config: kafkaConfig.optional(),
  listeners: listenersSchema.default({ internal: { port: 9092 }, controller: { port: 9093 }, external: { port: 9094 } }),
  tls: tlsSchema.optional(),
  externalAccess: externalAccessSchema.optional(),
  istio: istioSchema.optional(),
  topologySpread: z.enum(['preferred', 'required', 'none']).default('preferred')
    .meta({ description: "Spread each pool's Pods across nodes and zones: 'preferred' (topology spread constraints that never block scheduling), 'required' (at most one Pod of a pool per node, zones preferred) or 'none'. Your own affinity is kept and added to. @default preferred" }),
  rackAwareness: z.strictObject({
    topologyKey: z.string().min(1).default('topology.kubernetes.io/zone'),
  }).optional().meta({ description: "Spread brokers by rack: each broker's Pod is pinned to nodes whose topologyKey label equals its rack; every broker needs a rack." }),
  operator: operatorSchema.optional(),
}).meta({
  title: 'KafkaClusterSpec',
  description: 'A Kafka (KRaft) cluster for kafka-cdk8s.',
});

/** What the user writes (TS object or YAML): optional fields may be left out. */
export type KafkaClusterSpec = z.input<typeof kafkaClusterSpecSchema>;
/** The spec after structural validation and field defaults. */
export type ParsedClusterSpec = z.output<typeof kafkaClusterSpecSchema>;
export type VolumeSpec = z.output<typeof volumeSchema>;
export type BrokerSpec = z.output<typeof brokerSchema>;
export type BrokerGroupSpec = z.output<typeof brokerGroupSchema>;
export type ControllersSpec = z.output<typeof controllersSchema>;
export type KafkaConfigValue = z.output<typeof configValue>;
export type ResourcesSpec = z.output<typeof resourcesSchema>;
export type TolerationSpec = z.output<typeof tolerationSchema>;
export type OperatorSpec = z.output<typeof operatorSchema>;
export type TlsSpec = z.output<typeof tlsSchema>;
export type ExternalAccessSpec = z.output<typeof externalAccessSchema>;
export type IstioSpec = z.output<typeof istioSchema>;
export type ClientAuth = z.output<typeof clientAuthSchema>;

/** The JSON Schema for editors (YAML form), generated from the zod schema. */
export function kafkaClusterJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(kafkaClusterSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
