/**
 * Certificates for TLS tests, in the three ways a cluster gets them, written where a node
 * reads them exactly as the kubelet mounts a Secret (so a renewal is the same atomic
 * `..data` swap Kafka sees in a Pod):
 * - `issueAsCertManager`: what cert-manager's CA Issuer puts in a Certificate's Secret;
 * - lib/tls/pki.ts: what `kafka-cdk8s certs` and the controller make;
 * - `issueWithOpenssl`: bring-your-own, made with the openssl CLI.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate, type CertificateAuthority } from '../../lib/tls/pki.js';
import { TLS_CERT_KEY, TLS_KEY_KEY, CA_CERT_KEY, COMBINED_PEM_KEY, combinePem, type TlsMaterial } from '../../lib/tls/secret-layout.js';
import { writeAtomicDir } from './atomic-dir.js';

/** The Pod's Secret volume mode (owner and group read). */
const SECRET_FILE_MODE = 0o440;

/** Sets a Secret volume dir's files as the kubelet does (atomic `..data` swap). */
export function writeSecretDir(dir: string, data: Readonly<Record<string, string>>): void {
  writeAtomicDir(dir, data, SECRET_FILE_MODE);
}

/** The fields of a cert-manager `Certificate` (cert-manager.io/v1) this issuer honours. */
export interface CertificateManifest {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec: {
    readonly secretName: string;
    readonly commonName?: string;
    readonly dnsNames?: readonly string[];
    readonly ipAddresses?: readonly string[];
    /** Go duration, e.g. `2160h`, `720h0m0s`. @default 90 days */
    readonly duration?: string;
    readonly usages?: readonly string[];
    readonly privateKey?: { readonly algorithm?: string; readonly encoding?: 'PKCS1' | 'PKCS8'; readonly size?: number; readonly rotationPolicy?: string };
    readonly additionalOutputFormats?: readonly { readonly type: 'DER' | 'CombinedPEM' }[];
    readonly issuerRef?: { readonly name: string; readonly kind?: string; readonly group?: string };
  };
}

const GO_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, for the units cert-manager accepts. */
export function parseGoDuration(d: string): number {
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== d) throw new Error(`not a Go duration: "${d}"`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * GO_UNITS_MS[p[2]!]!, 0);
}

/** Usages this issuer can honour: a leaf for server and client auth, as our pki makes. */
const SUPPORTED_USAGES = new Set(['digital signature', 'key encipherment', 'server auth', 'client auth']);

/**
 * What cert-manager's CA Issuer writes into `spec.secretName` for this Certificate, signed by
 * `ca`: tls.crt (leaf + chain without the self-signed root), tls.key (in
 * `privateKey.encoding`, PKCS1 unless told), ca.crt (the root) and the additional output
 * format CombinedPEM (tls-combined.pem: key, newline, tls.crt).
 */
export async function issueAsCertManager(cert: CertificateManifest, ca: CertificateAuthority, now = new Date()): Promise<{ secretName: string; data: Record<string, string> }> {
  const s = cert.spec;
  const algorithm = s.privateKey?.algorithm ?? 'RSA';
  if (algorithm !== 'RSA' || (s.privateKey?.size ?? 2048) !== 2048) throw new Error(`this test issuer makes RSA 2048 keys only, not ${algorithm} ${s.privateKey?.size ?? ''}`);
  const unsupported = (s.usages ?? []).filter((u) => !SUPPORTED_USAGES.has(u));
  if (unsupported.length) throw new Error(`this test issuer cannot honour usages ${unsupported.join(', ')}`);
  const validityMs = parseGoDuration(s.duration ?? '2160h');
  const issued = await issueCertificate(ca, {
    commonName: s.commonName,
    dnsNames: s.dnsNames ?? [],
    ipAddresses: s.ipAddresses,
    notBefore: now,
    notAfter: new Date(now.getTime() + validityMs),
  });
  const key = s.privateKey?.encoding === 'PKCS8' ? issued.privateKeyPem : createPrivateKey(issued.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
  const data: Record<string, string> = { [TLS_CERT_KEY]: issued.certificatePem, [TLS_KEY_KEY]: key, [CA_CERT_KEY]: issued.caPem };
  for (const f of s.additionalOutputFormats ?? []) {
    // DER (key.der) is binary and our layout never reads it.
    if (f.type !== 'CombinedPEM') throw new Error(`this test issuer writes no ${f.type} output`);
    data[COMBINED_PEM_KEY] = combinePem(key, issued.certificatePem);
  }
  return { secretName: s.secretName, data };
}

/** A CA and a leaf made with the openssl CLI only (the "bring your own" path), as PEM text. */
export interface OpensslIssued extends TlsMaterial {
  readonly caKeyPem: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A self-signed CA and a server+client leaf made by `openssl` (keys RSA 2048; openssl 3
 * writes PKCS#8). Pass `ca` to sign with an existing openssl CA.
 */
export function issueWithOpenssl(opts: { commonName: string; dnsNames: readonly string[]; ipAddresses?: readonly string[]; days?: number; ca?: { certificatePem: string; privateKeyPem: string } }): OpensslIssued {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-openssl-'));
  try {
    const days = String(opts.days ?? 30);
    if (opts.ca) {
      writeFileSync(join(dir, 'ca.crt'), opts.ca.certificatePem);
      writeFileSync(join(dir, 'ca.key'), opts.ca.privateKeyPem);
    } else {
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', days, '-subj', `/CN=${opts.commonName} CA`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    }
    const san = [...opts.dnsNames.map((n) => `DNS:${n}`), ...(opts.ipAddresses ?? []).map((ip) => `IP:${ip}`)].join(',');
    writeFileSync(join(dir, 'leaf.ext'), [
      `subjectAltName=${san}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
    ].join('\n') + '\n');
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', `/CN=${opts.commonName}`], dir);
    openssl(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', days, '-sha256', '-extfile', 'leaf.ext', '-out', 'tls.crt'], dir);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { certificatePem: read('tls.crt'), privateKeyPem: read('tls.key'), caPem: read('ca.crt'), caKeyPem: read('ca.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
