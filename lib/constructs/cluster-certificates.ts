import { Construct } from 'constructs';
import { ApiObject } from 'cdk8s';
import type { ClusterModel, TlsModel } from '../spec/resolve.js';
import { clusterLabels, GITOPS_PRUNE_PROOF_ANNOTATIONS, LABEL_COMPONENT, LABEL_NODE_ID } from '../render/metadata.js';
import { namingContext } from '../config/listeners.js';
import { desiredCertificates, type DesiredCertificate } from '../tls/desired-certificates.js';

export interface ClusterCertificatesProps {
  /** The resolved cluster whose nodes need certificates. */
  readonly cluster: ClusterModel;
  /** Its TLS settings (mode 'cert-manager'). */
  readonly tls: TlsModel;
}

const API_VERSION = 'cert-manager.io/v1';
/** Our own CA lives long; the node certificates it signs are short-lived and renewed. */
const CA_DURATION = '87600h';
const COMPONENT = 'tls';

/**
 * cert-manager objects: a Certificate per node (SANs: every name the node is reached
 * by; PKCS#8 key and the CombinedPEM output Kafka's PEM keystore reads) and one for the
 * runtime controller (client auth), signed by the spec's Issuer or ClusterIssuer, or by
 * a CA of the cluster's own: a self-signed Issuer, the CA Certificate, and a CA Issuer.
 * No key is in the output: cert-manager writes the Secrets in the cluster. Per-node
 * Certificates are prune-proof like the node's other objects: a broker removed from Git
 * keeps its certificate until it is drained.
 */
export class ClusterCertificates extends Construct {
  constructor(scope: Construct, id: string, props: ClusterCertificatesProps) {
    super(scope, id);
    const { cluster, tls } = props;
    const labels = { ...clusterLabels(cluster), [LABEL_COMPONENT]: COMPONENT };
    const meta = (name: string, extra: Record<string, string> = {}, annotations?: Record<string, string>) => ({
      name, namespace: cluster.namespace, labels: { ...labels, ...extra }, ...(annotations ? { annotations } : {}),
    });
    const object = (kind: string, name: string, spec: unknown, m = meta(name)) =>
      new ApiObject(this, `${kind}-${name}`, { apiVersion: API_VERSION, kind, metadata: m, spec } as never);

    let issuerRef: Record<string, string>;
    if (tls.issuer) {
      issuerRef = { group: tls.issuer.group, kind: tls.issuer.kind, name: tls.issuer.name };
    } else {
      const selfSigned = `${tls.caName}-selfsigned`;
      object('Issuer', selfSigned, { selfSigned: {} });
      object('Certificate', tls.caName, {
        isCA: true,
        commonName: `${cluster.namespace}/${cluster.name} Kafka CA`,
        secretName: tls.caName,
        duration: CA_DURATION,
        privateKey: { algorithm: 'RSA', size: 2048, encoding: 'PKCS8', rotationPolicy: 'Always' },
        issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: selfSigned },
      });
      object('Issuer', tls.caName, { ca: { secretName: tls.caName } });
      issuerRef = { group: 'cert-manager.io', kind: 'Issuer', name: tls.caName };
    }

    const certificates = desiredCertificates({ naming: namingContext(cluster), tls, nodes: cluster.nodes, operator: cluster.operator !== undefined });
    for (const cert of certificates) {
      const nodeLabel: Record<string, string> = cert.nodeId === undefined ? {} : { [LABEL_NODE_ID]: String(cert.nodeId) };
      object('Certificate', cert.secretName, certificateSpec(cert, tls, issuerRef, { ...labels, ...nodeLabel }),
        meta(cert.secretName, nodeLabel, cert.nodeId === undefined ? undefined : { ...GITOPS_PRUNE_PROOF_ANNOTATIONS }));
    }
  }
}

function certificateSpec(cert: DesiredCertificate, tls: TlsModel, issuerRef: Record<string, string>, secretLabels: Record<string, string>) {
  return {
    secretName: cert.secretName,
    // The controller finds the Secrets by these labels.
    secretTemplate: { labels: secretLabels },
    commonName: cert.commonName,
    ...(cert.dnsNames.length ? { dnsNames: [...cert.dnsNames] } : {}),
    duration: tls.duration,
    renewBefore: tls.renewBefore,
    // Kafka's PEM keystore reads PKCS#8 only, key and chain from one file (CombinedPEM).
    privateKey: { algorithm: 'RSA', size: 2048, encoding: 'PKCS8', rotationPolicy: 'Always' },
    additionalOutputFormats: [{ type: 'CombinedPEM' }],
    usages: cert.usage === 'node' ? ['digital signature', 'key encipherment', 'server auth', 'client auth'] : ['digital signature', 'key encipherment', 'client auth'],
    issuerRef,
  };
}
