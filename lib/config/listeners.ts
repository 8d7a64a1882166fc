/**
 * The listener model turned into what each node needs: which listeners it has, the
 * address each one advertises, and the names a node is reached by (its certificate's
 * SANs). server.properties, the Pod's ports, the node's Service and the bootstrap
 * Service all derive from `ClusterModel.listeners` through these.
 */
import type { ClusterModel, KafkaNodeModel, ListenerModel } from '../spec/resolve.js';

/** The cluster's listeners that this node has (by role), in model order. */
export function nodeListeners(cluster: Pick<ClusterModel, 'listeners'>, node: Pick<KafkaNodeModel, 'roles'>): ListenerModel[] {
  return cluster.listeners.filter((l) => node.roles.includes(l.role));
}

export function listenerByName(cluster: Pick<ClusterModel, 'listeners'>, name: ListenerModel['name']): ListenerModel | undefined {
  return cluster.listeners.find((l) => l.name === name);
}

/** What a listener advertises for a node: its Service name, or for EXTERNAL the external host and the node's own port. */
export function advertisedAddress(cluster: ClusterModel, listener: ListenerModel, node: KafkaNodeModel): { host: string; port: number } {
  if (listener.name === 'EXTERNAL' && cluster.externalAccess) {
    return { host: cluster.externalAccess.host, port: cluster.externalAccess.externalStartingPort + node.id };
  }
  return { host: node.host, port: listener.port };
}

/** Kafka's security protocol of a listener. */
export const securityProtocol = (listener: ListenerModel): 'SSL' | 'PLAINTEXT' => (listener.tls ? 'SSL' : 'PLAINTEXT');

/** The listener keys of server.properties for a node. */
export function listenerConfig(cluster: ClusterModel, node: KafkaNodeModel): Record<string, string> {
  const own = nodeListeners(cluster, node);
  const brokerListeners = own.filter((l) => l.role === 'broker');
  return {
    'listeners': own.map((l) => `${l.name}://:${l.port}`).join(','),
    'advertised.listeners': own.map((l) => {
      const a = advertisedAddress(cluster, l, node);
      return `${l.name}://${a.host}:${a.port}`;
    }).join(','),
    // Every listener of the cluster, so that a broker knows how to reach controllers and vice versa.
    'listener.security.protocol.map': [...cluster.listeners].sort((a, b) => (a.name < b.name ? -1 : 1)).map((l) => `${l.name}:${securityProtocol(l)}`).join(','),
    'controller.listener.names': 'CONTROLLER',
    ...(brokerListeners.length ? { 'inter.broker.listener.name': 'INTERNAL' } : {}),
  };
}

/** What the names of a node follow from: the cluster's place in DNS and its external host. */
export interface NamingContext {
  readonly name: string;
  readonly namespace: string;
  readonly clusterDomain: string;
  readonly externalHost?: string;
}

export const namingContext = (cluster: ClusterModel): NamingContext => ({
  name: cluster.name,
  namespace: cluster.namespace,
  clusterDomain: cluster.clusterDomain,
  ...(cluster.externalAccess ? { externalHost: cluster.externalAccess.host } : {}),
});

/**
 * Every DNS name a node is reached by, for its certificate: its Service in every short
 * form, the bootstrap Service (a client verifies the bootstrap name against whichever
 * broker answers), and the external host.
 */
export function nodeDnsNames(ctx: NamingContext, node: Pick<KafkaNodeModel, 'name' | 'roles'>): string[] {
  const serviceNames = (name: string) => [name, `${name}.${ctx.namespace}`, `${name}.${ctx.namespace}.svc`, `${name}.${ctx.namespace}.svc.${ctx.clusterDomain}`];
  const names = serviceNames(node.name);
  if (node.roles.includes('broker')) {
    names.push(...serviceNames(`${ctx.name}-bootstrap`));
    if (ctx.externalHost) names.push(ctx.externalHost);
  }
  return [...new Set(names)];
}
