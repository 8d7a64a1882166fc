/**
 * The layout of a node's TLS Secret and where it is mounted. One layout for every way a
 * certificate is made (cert-manager, `kafka-cdk8s certs` / the controller, bring your own),
 * so Kafka's config never depends on who issued the certificate.
 */
import { posix } from 'node:path';

/** Where every node mounts its TLS Secret (read-only). */
export const TLS_MOUNT_DIR = '/etc/kafka-cdk8s-tls';

/** Leaf certificate followed by its chain (never the self-signed root). */
export const TLS_CERT_KEY = 'tls.crt';
/** The leaf's private key, PKCS#8 (`BEGIN PRIVATE KEY`): Kafka's PEM loader reads only that. */
export const TLS_KEY_KEY = 'tls.key';
/** The CA certificate(s) to trust: Kafka's PEM truststore. */
export const CA_CERT_KEY = 'ca.crt';
/**
 * Private key then the chain, in one file: Kafka's PEM keystore (`ssl.keystore.location`)
 * reads both from one file. cert-manager writes this key for `additionalOutputFormats:
 * [{ type: CombinedPEM }]`.
 */
export const COMBINED_PEM_KEY = 'tls-combined.pem';

export const TLS_SECRET_KEYS = [TLS_CERT_KEY, TLS_KEY_KEY, CA_CERT_KEY, COMBINED_PEM_KEY] as const;
export type TlsSecretKey = (typeof TLS_SECRET_KEYS)[number];

/** What a TLS Secret holds, whoever made it. */
export interface TlsMaterial {
  /** Leaf + chain. */
  readonly certificatePem: string;
  /** PKCS#8. */
  readonly privateKeyPem: string;
  readonly caPem: string;
}

/** Byte-identical to cert-manager's CombinedPEM (key and chain joined by a newline). */
export function combinePem(privateKeyPem: string, certificatePem: string): string {
  return `${privateKeyPem}\n${certificatePem}`;
}

/** The Secret's `stringData` (plain PEM text) in this layout. */
export function secretData(m: TlsMaterial): Record<TlsSecretKey, string> {
  if (!m.privateKeyPem.includes('-----BEGIN PRIVATE KEY-----')) {
    throw new Error(`${TLS_KEY_KEY} must be a PKCS#8 key ("BEGIN PRIVATE KEY"): Kafka's PEM keystore reads no other form`);
  }
  return {
    [TLS_CERT_KEY]: m.certificatePem,
    [TLS_KEY_KEY]: m.privateKeyPem,
    [CA_CERT_KEY]: m.caPem,
    [COMBINED_PEM_KEY]: combinePem(m.privateKeyPem, m.certificatePem),
  };
}

/** The same map base64-encoded, for a Secret's `data`. */
export function secretDataBase64(m: TlsMaterial): Record<TlsSecretKey, string> {
  const d = secretData(m);
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) as Record<TlsSecretKey, string>;
}

/** Paths of the files Kafka reads, under a mount dir. */
export function tlsFilePaths(dir: string = TLS_MOUNT_DIR): { keystore: string; truststore: string; certificate: string; privateKey: string } {
  return {
    keystore: posix.join(dir, COMBINED_PEM_KEY),
    truststore: posix.join(dir, CA_CERT_KEY),
    certificate: posix.join(dir, TLS_CERT_KEY),
    privateKey: posix.join(dir, TLS_KEY_KEY),
  };
}
