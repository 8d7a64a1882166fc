/**
 * Mode 'provisioned': whether a node's (or the controller's) Secret needs a new
 * certificate. Pure; the I/O is in controller/certificates.ts.
 */
import type { CertificateDescription } from '../../tls/pki.js';
import type { DesiredCertificate } from '../../tls/desired-certificates.js';

export type CertificateStep =
  | { readonly action: 'keep' }
  | { readonly action: 'issue'; readonly reason: string };

export interface CurrentCertificate {
  /** The Secret's leaf certificate; undefined when it has none, or none that parses. */
  readonly leaf?: CertificateDescription;
  /** Whether the Secret holds every key Kafka reads (tls.crt, tls.key, ca.crt, tls-combined.pem). */
  readonly complete: boolean;
  /** Whether its ca.crt is the CA that signs now (after a CA change, every leaf is reissued). */
  readonly trustsCurrentCa: boolean;
}

const sameNames = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

export function certificateStep(current: CurrentCertificate | undefined, desired: DesiredCertificate, now: Date, renewBeforeMs: number): CertificateStep {
  if (!current) return { action: 'issue', reason: `Secret ${desired.secretName} does not exist` };
  if (!current.complete || !current.leaf) return { action: 'issue', reason: `Secret ${desired.secretName} lacks a certificate, its key or the CA` };
  if (!current.trustsCurrentCa) return { action: 'issue', reason: `Secret ${desired.secretName} was signed by another CA` };
  if (!sameNames(current.leaf.dnsNames, desired.dnsNames)) {
    return { action: 'issue', reason: `the names of ${desired.secretName} changed (has ${current.leaf.dnsNames.length}, wants ${desired.dnsNames.length})` };
  }
  if (current.leaf.notAfter.getTime() <= now.getTime()) return { action: 'issue', reason: `the certificate in ${desired.secretName} expired on ${current.leaf.notAfter.toISOString()}` };
  if (current.leaf.notAfter.getTime() - now.getTime() <= renewBeforeMs) {
    return { action: 'issue', reason: `the certificate in ${desired.secretName} expires on ${current.leaf.notAfter.toISOString()}: renewing` };
  }
  return { action: 'keep' };
}
