/**
 * The cluster document: what the spec says about the cluster as a whole, for the runtime
 * controller. Node ConfigMaps are prune-proof, so a node removed from Git keeps its
 * ConfigMap; only this document tells the controller which nodes the spec still has (a
 * controller that left is removed from the voters, then its objects are deleted), which
 * Kafka version it wants and where metadata.version is held. Shared by synth (render) and
 * the controller (parse); canonical JSON, so the same spec gives the same bytes.
 */
import type { ClusterModel, NodeRole, TlsModel } from '../spec/resolve.js';

export const CONFIG_KEY_CLUSTER = 'cluster.json';

export interface ClusterDocumentNode {
  readonly id: number;
  readonly name: string;
  readonly roles: readonly NodeRole[];
}

export interface ClusterDocument {
  readonly kafkaVersion: string;
  /** The release metadata.version is held at; absent: kafkaVersion's own level. */
  readonly metadataVersion?: string;
  /** Every node of the spec, by id. */
  readonly nodes: readonly ClusterDocumentNode[];
  /** With TLS: where the certificates come from, and what their names follow from. */
  readonly tls?: ClusterDocumentTls;
}

export interface ClusterDocumentTls extends Omit<TlsModel, 'issuer'> {
  readonly clusterDomain: string;
  readonly externalHost?: string;
}

const TLS_FIELDS = ['mode', 'secretName', 'operatorSecretName', 'caName', 'duration', 'renewBefore', 'clusterDomain'] as const;

export function clusterDocument(cluster: ClusterModel): ClusterDocument {
  return {
    kafkaVersion: cluster.kafkaVersion,
    ...(cluster.metadataVersion ? { metadataVersion: cluster.metadataVersion } : {}),
    nodes: [...cluster.nodes].sort((a, b) => a.id - b.id).map((n) => ({ id: n.id, name: n.name, roles: [...n.roles] })),
    ...(cluster.tls ? { tls: documentTls(cluster, cluster.tls) } : {}),
  };
}

function documentTls(cluster: ClusterModel, tls: TlsModel): ClusterDocumentTls {
  return {
    mode: tls.mode,
    secretName: tls.secretName,
    operatorSecretName: tls.operatorSecretName,
    caName: tls.caName,
    duration: tls.duration,
    renewBefore: tls.renewBefore,
    clusterDomain: cluster.clusterDomain,
    ...(cluster.externalAccess ? { externalHost: cluster.externalAccess.host } : {}),
  };
}

/** One line per node keeps the ConfigMap readable in a diff. */
export function renderClusterDocument(cluster: ClusterModel): string {
  const doc = clusterDocument(cluster);
  const head = { kafkaVersion: doc.kafkaVersion, ...(doc.metadataVersion ? { metadataVersion: doc.metadataVersion } : {}), ...(doc.tls ? { tls: doc.tls } : {}) };
  const nodes = doc.nodes.map((n) => `    ${JSON.stringify(n)}`).join(',\n');
  return `${JSON.stringify(head, null, 2).replace(/\n}$/, '')},\n  "nodes": [\n${nodes}\n  ]\n}\n`;
}

/** Reads a cluster document; throws naming what is wrong, so a broken one is never half-used. */
export function parseClusterDocument(text: string, where: string): ClusterDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON: ${(e as Error).message}`);
  }
  const o = raw as Partial<Record<keyof ClusterDocument, unknown>>;
  if (typeof o !== 'object' || o === null || typeof o.kafkaVersion !== 'string') throw new Error(`${where}: no kafkaVersion`);
  if (o.metadataVersion !== undefined && typeof o.metadataVersion !== 'string') throw new Error(`${where}: metadataVersion is not a string`);
  if (!Array.isArray(o.nodes)) throw new Error(`${where}: no nodes list`);
  const nodes = o.nodes.map((n: unknown, i: number): ClusterDocumentNode => {
    const x = n as Partial<ClusterDocumentNode>;
    if (!Number.isInteger(x?.id) || typeof x?.name !== 'string' || !Array.isArray(x?.roles)) throw new Error(`${where}: nodes[${i}] needs id, name and roles`);
    return { id: x.id!, name: x.name, roles: x.roles.filter((r): r is NodeRole => r === 'broker' || r === 'controller') };
  });
  const tls = o.tls === undefined ? undefined : parseTls(o.tls, where);
  return { kafkaVersion: o.kafkaVersion, ...(o.metadataVersion ? { metadataVersion: o.metadataVersion as string } : {}), nodes, ...(tls ? { tls } : {}) };
}

function parseTls(raw: unknown, where: string): ClusterDocumentTls {
  const t = raw as Record<string, unknown>;
  for (const f of TLS_FIELDS) if (typeof t?.[f] !== 'string') throw new Error(`${where}: tls.${f} is not a string`);
  if (!['cert-manager', 'provisioned', 'secrets'].includes(t.mode as string)) throw new Error(`${where}: tls.mode ${JSON.stringify(t.mode)} is unknown`);
  if (t.externalHost !== undefined && typeof t.externalHost !== 'string') throw new Error(`${where}: tls.externalHost is not a string`);
  return t as unknown as ClusterDocumentTls;
}
