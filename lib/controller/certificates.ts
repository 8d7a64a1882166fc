/**
 * Mode 'provisioned': the cluster's own CA and every node's (and the controller's)
 * Secret, made and renewed in the cluster, by `kafka-cdk8s certs` and by the controller
 * on every pass. Secrets hold the same keys as cert-manager's (tls.crt, tls.key PKCS#8,
 * ca.crt, tls-combined.pem); the CA's Secret holds its own key and never leaves the
 * cluster. Renewed certificates reach running brokers through controller/tls-reload.ts.
 */
import { KubeConflictError, type KubeClient, type SecretObject } from './adapters/kube/client.js';
import { certificateStep } from './decide/certificates.js';
import {
  certificateAuthorityFromPem, createCertificateAuthority, describeCertificate, issueCertificate, type CertificateAuthority,
} from '../tls/pki.js';
import { CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY, TLS_SECRET_KEYS, secretDataBase64 } from '../tls/secret-layout.js';
import type { DesiredCertificate } from '../tls/desired-certificates.js';

/** The CA outlives many node certificates; replacing it means reissuing every one. */
const CA_VALIDITY_DAYS = 3650;

export interface ProvisionOptions {
  readonly caName: string;
  readonly caCommonName: string;
  readonly certificates: readonly DesiredCertificate[];
  readonly validityMs: number;
  readonly renewBeforeMs: number;
  /** Labels of every Secret made (the cluster's). */
  readonly labels: Readonly<Record<string, string>>;
  /** At most this many certificates per call (key generation takes time); the rest next time. @default all */
  readonly limit?: number;
  readonly now?: Date;
}

export interface ProvisionResult {
  readonly caCreated: boolean;
  readonly issued: ReadonlyArray<{ readonly secretName: string; readonly reason: string }>;
  /** Certificates that need issuing but were left for the next call (limit). */
  readonly deferred: number;
}

const decode = (secret: SecretObject | undefined, key: string): string | undefined => {
  const v = secret?.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};

export async function provisionCertificates(kube: KubeClient, o: ProvisionOptions): Promise<ProvisionResult> {
  const now = o.now ?? new Date();
  const { ca, created } = await ensureCa(kube, o, now);
  const caFingerprint = describeCertificate(ca.rootPem).sha256Fingerprint;
  const issued: Array<{ secretName: string; reason: string }> = [];
  let deferred = 0;
  for (const desired of o.certificates) {
    const secret = await kube.getSecret(desired.secretName);
    const step = certificateStep(secret && currentOf(secret, caFingerprint), desired, now, o.renewBeforeMs);
    if (step.action === 'keep') continue;
    if (o.limit !== undefined && issued.length >= o.limit) { deferred++; continue; }
    const cert = await issueCertificate(ca, {
      commonName: desired.commonName,
      dnsNames: desired.dnsNames,
      usage: desired.usage,
      notBefore: now,
      notAfter: new Date(now.getTime() + o.validityMs),
    });
    const body: SecretObject = {
      metadata: {
        name: desired.secretName,
        labels: { ...o.labels, ...(desired.nodeId === undefined ? {} : { 'kafka-cdk8s.io/node-id': String(desired.nodeId) }) },
        ...(secret?.metadata.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
      },
      type: 'kubernetes.io/tls',
      data: secretDataBase64(cert),
    };
    // A Secret that appeared or changed meanwhile (another controller, or the command) is looked at again next time.
    try {
      if (secret) await kube.replaceSecret(body);
      else await kube.createSecret(body);
    } catch (err) {
      if (err instanceof KubeConflictError) { deferred++; continue; }
      throw err;
    }
    issued.push({ secretName: desired.secretName, reason: step.reason });
  }
  return { caCreated: created, issued, deferred };
}

function currentOf(secret: SecretObject, caFingerprint: string) {
  const complete = TLS_SECRET_KEYS.every((k) => secret.data?.[k] !== undefined);
  let leaf;
  let trustsCurrentCa = false;
  try {
    leaf = describeCertificate(decode(secret, TLS_CERT_KEY)!);
    trustsCurrentCa = describeCertificate(decode(secret, CA_CERT_KEY)!).sha256Fingerprint === caFingerprint;
  } catch {
    leaf = undefined;
  }
  return { leaf, complete, trustsCurrentCa };
}

async function ensureCa(kube: KubeClient, o: ProvisionOptions, now: Date): Promise<{ ca: CertificateAuthority; created: boolean }> {
  const existing = await kube.getSecret(o.caName);
  if (existing) {
    const cert = decode(existing, TLS_CERT_KEY);
    const key = decode(existing, TLS_KEY_KEY);
    if (!cert || !key) throw new Error(`Secret ${o.caName} (the cluster's CA) lacks ${TLS_CERT_KEY} or ${TLS_KEY_KEY}; delete it to make a new CA (every certificate is then reissued)`);
    return { ca: certificateAuthorityFromPem(cert, key), created: false };
  }
  const ca = await createCertificateAuthority({ commonName: o.caCommonName, validityDays: CA_VALIDITY_DAYS, now });
  try {
    await kube.createSecret({
      metadata: { name: o.caName, labels: { ...o.labels } },
      type: 'kubernetes.io/tls',
      data: {
        [TLS_CERT_KEY]: Buffer.from(ca.certificatePem).toString('base64'),
        [TLS_KEY_KEY]: Buffer.from(ca.privateKeyPem).toString('base64'),
        [CA_CERT_KEY]: Buffer.from(ca.rootPem).toString('base64'),
      },
    });
  } catch (err) {
    // Made by someone else meanwhile: use theirs, so that every certificate has one CA.
    if (err instanceof KubeConflictError) return ensureCa(kube, o, now);
    throw err;
  }
  return { ca, created: true };
}
