import { Construct } from 'constructs';
import { containerResources, RESTRICTED_CONTAINER_SECURITY } from './restricted-container.js';
import {
  IntOrString, KubeDeployment, KubeRole, KubeRoleBinding, KubeService, KubeServiceAccount, Quantity,
} from 'cdk8s-plus-27/lib/imports/k8s.js';
import type { ClusterModel, OperatorModel } from '../spec/resolve.js';
import { clusterLabels, LABEL_CLUSTER, LABEL_COMPONENT, names } from '../render/metadata.js';
import { listenerByName, namingContext } from '../config/listeners.js';
import { desiredCertificates } from '../tls/desired-certificates.js';

/** Whether the controller's Kafka connection (the INTERNAL listener) is TLS. */
const internalTls = (cluster: ClusterModel): boolean => listenerByName(cluster, 'INTERNAL')?.tls === true;

export interface KafkaOperatorProps {
  /** The resolved cluster the controller looks after. */
  readonly cluster: ClusterModel;
  /** The controller's settings (the cluster's `operator`). */
  readonly operator: OperatorModel;
}

const COMPONENT = 'operator';
/** /healthz (probes) and /metrics. */
const HTTP_PORT = 8080;
/** The uid and gid of the `node` user of the Node.js image the Dockerfile builds on. */
const NODE_IMAGE_ID = 1000;

/**
 * The Role's rules: what the controller does, and no more. Kubernetes RBAC
 * cannot restrict `create` by resourceNames (the name is not known when the
 * request is authorized), so creating ConfigMaps and Leases is open in the
 * namespace, while changing them is limited to the controller's own; the same
 * holds for deleting a retired controller's objects (by uid, see decide/quorum.ts).
 */
function operatorRules(cluster: ClusterModel, operator: OperatorModel) {
  return [
    ...tlsRules(cluster),
    // Roll a node: delete its Pod, create it from the desired Pod; record progress in its annotations.
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete', 'patch'] },
    // Read each node's desired config and Pod; create the state ConfigMap on first start.
    // Delete: a retired controller's ConfigMap (RBAC cannot narrow a delete to a label; the
    // controller deletes only nodes that left the spec and the quorum, by uid).
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
    { apiGroups: [''], resources: ['configmaps'], resourceNames: [operator.stateConfigMap], verbs: ['update', 'patch'] },
    // A retired controller's Service, and its claims when the spec marks them deleteClaim.
    { apiGroups: [''], resources: ['services'], verbs: ['delete'] },
    { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'delete'] },
    // Tell people what it did, on the objects it acted on (both Event APIs are in use).
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    // One active controller: create the Lease once, then hold and renew it.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [operator.lease], verbs: ['get', 'update'] },
  ];
}

/**
 * TLS: read the nodes' Secrets (to see a renewal, and whether the brokers serve it). In
 * mode 'provisioned' the controller also makes and renews them and the CA, so it may
 * create Secrets and change exactly those.
 */
function tlsRules(cluster: ClusterModel) {
  const tls = cluster.tls;
  if (!tls) return [];
  const certificates = desiredCertificates({ naming: namingContext(cluster), tls, nodes: cluster.nodes, operator: true }).map((c) => c.secretName);
  if (tls.mode !== 'provisioned') return [{ apiGroups: [''], resources: ['secrets'], resourceNames: certificates, verbs: ['get'] }];
  return [
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    { apiGroups: [''], resources: ['secrets'], resourceNames: [tls.caName, ...certificates], verbs: ['get', 'update'] },
  ];
}

/** Where the controller's own client certificate is mounted. */
export const OPERATOR_TLS_DIR = '/etc/kafka-cdk8s-tls';

/** `kafka-cdk8s controller` arguments (the image's entrypoint is the CLI). */
function operatorArgs(cluster: ClusterModel, operator: OperatorModel): string[] {
  const bootstrap = `${names.bootstrapService(cluster)}.${cluster.namespace}.svc.${cluster.clusterDomain}:${cluster.ports.internal}`;
  return [
    'controller',
    '--namespace', cluster.namespace,
    '--cluster', cluster.name,
    '--bootstrap', bootstrap,
    '--failure-threshold', String(operator.failureThreshold),
    '--listen', `0.0.0.0:${HTTP_PORT}`,
    ...(operator.alertmanager ? ['--alertmanager-url', operator.alertmanager.url, '--hold-label', operator.alertmanager.holdLabel] : []),
    ...(internalTls(cluster) ? ['--tls-dir', OPERATOR_TLS_DIR] : []),
  ];
}

/**
 * The runtime controller: a one-replica Deployment running `kafka-cdk8s
 * controller`, its ServiceAccount, a least-privilege Role and its
 * RoleBinding, and a Service for /metrics. Plain GitOps objects, applied and
 * pruned normally. No Pod of the output names the ServiceAccount (Flux would
 * refuse it in the same apply stage); the Deployment does, which admission
 * does not check.
 */
export class KafkaOperator extends Construct {
  constructor(scope: Construct, id: string, props: KafkaOperatorProps) {
    super(scope, id);
    const { cluster, operator } = props;
    const selector = { [LABEL_CLUSTER]: cluster.name, [LABEL_COMPONENT]: COMPONENT };
    const labels = { ...clusterLabels(cluster), [LABEL_COMPONENT]: COMPONENT };
    const metadata = { name: operator.name, namespace: cluster.namespace, labels };

    // The token is mounted (the default): the controller talks to the API server.
    new KubeServiceAccount(this, 'ServiceAccount', { metadata });
    new KubeRole(this, 'Role', { metadata, rules: operatorRules(cluster, operator) });
    new KubeRoleBinding(this, 'RoleBinding', {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: operator.name },
      subjects: [{ kind: 'ServiceAccount', name: operator.name, namespace: cluster.namespace }],
    });

    const probe = { httpGet: { path: '/healthz', port: IntOrString.fromString('http') } };
    new KubeDeployment(this, 'Deployment', {
      metadata,
      spec: {
        replicas: 1,
        // A Lease keeps one instance active anyway; Recreate also avoids two running during an update.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: operator.name,
            // Service links put one env var per Service into the Pod: thousands with 1000 brokers.
            enableServiceLinks: false,
            // Pod Security Standard "restricted", like the broker Pods.
            securityContext: {
              runAsNonRoot: true,
              runAsUser: NODE_IMAGE_ID,
              runAsGroup: NODE_IMAGE_ID,
              // The mounted certificate's files belong to this group (mode 0440).
              ...(internalTls(cluster) ? { fsGroup: NODE_IMAGE_ID } : {}),
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [{
              name: COMPONENT,
              image: operator.image,
              imagePullPolicy: operator.imagePullPolicy,
              args: operatorArgs(cluster, operator),
              env: [
                // Who holds the Lease, and where it runs.
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              ],
              ports: [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }],
              livenessProbe: probe,
              readinessProbe: probe,
              resources: containerResources(operator.resources),
              securityContext: RESTRICTED_CONTAINER_SECURITY,
              // The root file system is read-only; Node.js keeps its compile cache in /tmp.
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                ...(internalTls(cluster) ? [{ name: 'tls', mountPath: OPERATOR_TLS_DIR, readOnly: true }] : []),
              ],
            }],
            volumes: [
              { name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('64Mi') } },
              // Optional: in mode 'provisioned' the controller makes this Secret itself (see README "TLS").
              ...(internalTls(cluster) ? [{ name: 'tls', secret: { secretName: cluster.tls!.operatorSecretName, defaultMode: 0o440, optional: cluster.tls!.mode === 'provisioned' } }] : []),
            ],
            nodeSelector: Object.keys(operator.nodeSelector).length ? { ...operator.nodeSelector } : undefined,
            tolerations: operator.tolerations.length ? [...operator.tolerations] : undefined,
          },
        },
      },
    });

    new KubeService(this, 'Service', {
      metadata,
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [{ name: 'http', port: HTTP_PORT, targetPort: IntOrString.fromString('http'), protocol: 'TCP' }],
      },
    });
  }
}
