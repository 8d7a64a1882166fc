/**
 * The controller's TLS duties on each pass, for a cluster whose document has `tls`: in
 * mode 'provisioned', make missing certificates and renew due ones (a few per pass: key
 * generation takes time); in every mode, get renewed certificates served by the running
 * brokers without a restart.
 */
import type { KubeClient } from './adapters/kube/client.js';
import { provisionCertificates } from './certificates.js';
import { TlsReloader, type TlsBroker } from './tls-reload.js';
import type { NodeState } from './decide/node-state.js';
import type { ClusterDocument } from '../render/cluster-document.js';
import { names } from '../render/metadata.js';
import { desiredCertificates, durationMs } from '../tls/desired-certificates.js';
import type { Logger } from './observability/log.js';

/** Certificates made per pass at most (each is an RSA key). */
const ISSUE_PER_PASS = 10;

export interface ClusterTlsOptions {
  readonly cluster: string;
  readonly kube: KubeClient;
  readonly reloader: TlsReloader;
  readonly log: Logger;
  /** Labels of the Secrets it makes. */
  readonly labels: Readonly<Record<string, string>>;
  readonly event: (type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>;
}

export class ClusterTls {
  constructor(private readonly o: ClusterTlsOptions) {}

  /**
   * Mode 'provisioned': make missing certificates and renew due ones. Needs only the API
   * server, so it runs first on every pass: until its own Secret exists, the controller
   * cannot talk to a TLS listener at all. True while some are left for the next pass.
   */
  async provision(doc: ClusterDocument): Promise<boolean> {
    const tls = doc.tls;
    if (tls?.mode !== 'provisioned') return false;
    const result = await provisionCertificates(this.o.kube, {
      caName: tls.caName,
      caCommonName: `${this.o.kube.namespace}/${this.o.cluster} Kafka CA`,
      certificates: desiredCertificates({
        naming: { name: this.o.cluster, namespace: this.o.kube.namespace, clusterDomain: tls.clusterDomain, ...(tls.externalHost ? { externalHost: tls.externalHost } : {}) },
        tls,
        nodes: doc.nodes,
        operator: true,
      }),
      validityMs: durationMs(tls.duration),
      renewBeforeMs: durationMs(tls.renewBefore),
      labels: this.o.labels,
      limit: ISSUE_PER_PASS,
    });
    if (result.caCreated) await this.o.event('Normal', 'CertificateAuthorityCreated', `Created the cluster's CA in Secret ${tls.caName}`);
    for (const i of result.issued) {
      this.o.log.info('Issued a certificate', { secret: i.secretName, reason: i.reason });
      await this.o.event('Normal', 'CertificateIssued', `${i.secretName}: ${i.reason}`);
    }
    return result.deferred > 0;
  }

  /** Gets renewed certificates served; true while some broker does not serve its Secret's yet. */
  async reload(doc: ClusterDocument, nodes: ReadonlyArray<{ readonly state: NodeState; readonly ready: boolean }>): Promise<boolean> {
    const tls = doc.tls;
    if (!tls) return false;
    const brokers: TlsBroker[] = nodes.filter((n) => n.state.roles.includes('broker'))
      .map((n) => ({ state: n.state, ready: n.ready, secretName: names.nodeTlsSecret(tls, n.state) }));
    return (await this.o.reloader.reconcile(brokers)) > 0;
  }
}
