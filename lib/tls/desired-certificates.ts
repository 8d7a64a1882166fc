/**
 * Which certificates a cluster needs and what each must say: one per node (server and
 * client: brokers also connect to each other) and one for the runtime controller
 * (client). The single source of the SANs for every mode: cert-manager Certificates
 * (synth), and the Secrets that `kafka-cdk8s certs` and the controller make.
 */
import { nodeDnsNames, type NamingContext } from '../config/listeners.js';
import type { NodeRole, TlsModel } from '../spec/resolve.js';
import { names } from '../render/metadata.js';

export interface DesiredCertificate {
  /** The Secret the certificate lives in. */
  readonly secretName: string;
  readonly commonName: string;
  /** Empty for a client-only certificate. */
  readonly dnsNames: readonly string[];
  /** 'node': server and client auth; 'client': client auth only. */
  readonly usage: 'node' | 'client';
  /** The node's id; undefined for the controller's certificate. */
  readonly nodeId?: number;
}

export interface CertificateInputs {
  readonly naming: NamingContext;
  readonly tls: Pick<TlsModel, 'secretName' | 'operatorSecretName'>;
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly name: string; readonly roles: readonly NodeRole[] }>;
  /** Whether the runtime controller runs (and needs its client certificate). */
  readonly operator: boolean;
}

export function desiredCertificates(inputs: CertificateInputs): DesiredCertificate[] {
  const nodes = [...inputs.nodes].sort((a, b) => a.id - b.id).map((node): DesiredCertificate => ({
    secretName: names.nodeTlsSecret(inputs.tls, node),
    commonName: node.name,
    dnsNames: nodeDnsNames(inputs.naming, node),
    usage: 'node',
    nodeId: node.id,
  }));
  const operator: DesiredCertificate[] = inputs.operator
    ? [{ secretName: inputs.tls.operatorSecretName, commonName: `${inputs.naming.name}-operator`, dnsNames: [], usage: 'client' }]
    : [];
  return [...nodes, ...operator];
}

/** A Go duration in hours and minutes ('2160h', '720h30m'), as the spec writes it, in ms. */
export function durationMs(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(text);
  if (!m || text === '') throw new Error(`'${text}' is not a duration in hours and minutes`);
  return (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60_000;
}
