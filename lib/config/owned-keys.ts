/**
 * Kafka keys that kafka-cdk8s sets itself, because they follow from the
 * topology (ids, roles, listeners, volumes, quorum). A user value would break
 * the cluster or silently disagree with the Kubernetes objects, so it is an error.
 */
const OWNED: Readonly<Record<string, string>> = {
  'node.id': 'brokers[].id (or controllers.idBase)',
  'broker.id': 'brokers[].id',
  'process.roles': 'controllers.mode',
  'listeners': 'listeners',
  'advertised.listeners': 'listeners',
  'listener.security.protocol.map': 'listeners',
  'inter.broker.listener.name': 'listeners',
  // Kafka refuses it next to inter.broker.listener.name, which we set.
  'security.inter.broker.protocol': 'listeners',
  'controller.listener.names': 'listeners',
  'log.dirs': 'storage',
  'log.dir': 'storage',
  'metadata.log.dir': 'storage',
  'broker.rack': 'brokers[].rack or brokerGroups.<name>.rack',
  // The quorum is dynamic and its membership is managed; timeouts (controller.quorum.*.ms) stay the user's.
  'controller.quorum.voters': 'controllers',
  'controller.quorum.bootstrap.servers': 'controllers',
  'controller.quorum.auto.join.enable': 'controllers',
};

/** TLS of our own listeners: their key and trust stores and client auth follow from `tls` and the listeners. */
const OWNED_LISTENER_TLS = /^listener\.name\.(internal|external|controller)\.ssl\.(keystore\.|truststore\.|key\.password$|client\.auth$)/;

/** If `key` is owned by the tool, the spec field to use instead; else undefined. */
export function ownedKeyReplacement(key: string): string | undefined {
  if (OWNED_LISTENER_TLS.test(key)) return 'tls and listeners.<name>.clientAuth';
  return Object.hasOwn(OWNED, key) ? OWNED[key] : undefined;
}
