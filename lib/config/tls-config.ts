/**
 * Kafka keys for TLS listeners reading the node's TLS Secret as PEM files (no keystore
 * passwords: the key is unencrypted PKCS#8 in a read-only, owner-only Secret volume).
 */
import type { ClientAuth } from '../spec/schema.js';
import { TLS_MOUNT_DIR, tlsFilePaths } from '../tls/secret-layout.js';

export type { ClientAuth };

/** Kafka's per-listener prefix; Kafka lower-cases the listener name in it. */
export function listenerPrefix(listenerName: string): string {
  return `listener.name.${listenerName.toLowerCase()}.`;
}

/**
 * The listener-prefixed keys of one TLS listener. The broker's own client for this listener
 * (inter-broker) reads the same keys; its hostname verification stays at Kafka's default
 * (https), so the certificate's SANs must cover the advertised names.
 */
export function tlsListenerConfig(listenerName: string, opts: { clientAuth: ClientAuth; dir?: string }): Record<string, string> {
  const p = listenerPrefix(listenerName);
  const files = tlsFilePaths(opts.dir ?? TLS_MOUNT_DIR);
  return {
    [`${p}ssl.client.auth`]: opts.clientAuth,
    [`${p}ssl.keystore.location`]: files.keystore,
    [`${p}ssl.keystore.type`]: 'PEM',
    [`${p}ssl.truststore.location`]: files.truststore,
    [`${p}ssl.truststore.type`]: 'PEM',
  };
}

/**
 * The keys a TLS listener reloads on an (Incremental)AlterConfigs of the same value
 * (KAFKA-7429; KAFKA-14136 for KRaft): keystore for a renewed certificate, truststore for a
 * changed CA bundle.
 */
export function tlsReloadKeys(listenerName: string): { keystore: string; truststore: string } {
  const p = listenerPrefix(listenerName);
  return { keystore: `${p}ssl.keystore.location`, truststore: `${p}ssl.truststore.location` };
}

/**
 * Java client properties (for Kafka's own CLI tools, e.g. the readiness probe) reaching a TLS
 * listener with the node's own Secret. A client certificate goes along whenever the listener
 * asks for one. `verifyHostname: false` for tools that dial 127.0.0.1, a name no
 * certificate carries; the chain is still verified.
 */
export function clientTlsProperties(opts: { dir?: string; clientAuth: ClientAuth; verifyHostname: boolean }): Record<string, string> {
  const files = tlsFilePaths(opts.dir ?? TLS_MOUNT_DIR);
  return {
    'security.protocol': 'SSL',
    'ssl.endpoint.identification.algorithm': opts.verifyHostname ? 'https' : '',
    'ssl.truststore.location': files.truststore,
    'ssl.truststore.type': 'PEM',
    ...(opts.clientAuth === 'none' ? {} : { 'ssl.keystore.location': files.keystore, 'ssl.keystore.type': 'PEM' }),
  };
}
