/**
 * The contribution point: features (listeners, TLS, Istio, and later monitoring and
 * Cruise Control) add what they need to a node before its Pod and server.properties
 * are rendered and hashed. Nothing edits a rendered Pod after the fact, so the
 * desired hash covers every feature, and the controller's copy of the Pod is the
 * same as the synth's.
 *
 * Contributions are merged in the fixed order of NODE_FEATURES; two features
 * claiming the same config key, volume, mount path, port or env var is a bug, and
 * throws.
 */
import type { ClusterModel, KafkaNodeModel } from '../spec/resolve.js';
import { listenersFeature } from './features/listeners.js';
import { tlsFeature } from './features/tls.js';
import { istioFeature } from './features/istio.js';

type Json = Record<string, unknown>;

export interface NodeContribution {
  /** server.properties keys. */
  readonly config?: Readonly<Record<string, string>>;
  /** Properties for the Kafka tools the probes and the start script run against this node (e.g. TLS). */
  readonly adminProperties?: Readonly<Record<string, string>>;
  readonly env?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  readonly volumes?: readonly Json[];
  readonly volumeMounts?: ReadonlyArray<{ readonly name: string; readonly mountPath: string; readonly readOnly?: boolean }>;
  readonly initContainers?: readonly Json[];
  readonly ports?: ReadonlyArray<{ readonly name: string; readonly containerPort: number; readonly protocol: 'TCP' }>;
  readonly podAnnotations?: Readonly<Record<string, string>>;
  /** Bash run by the start script before anything else (e.g. wait for a sidecar). */
  readonly beforeStart?: string;
  /**
   * How Kafka is launched, given the bash command that starts it; default `exec`. E.g. run
   * it as a child and stop a sidecar after it exited. One feature at most.
   */
  readonly launch?: (command: string) => string;
}

export interface NodeFeature {
  readonly name: string;
  contribute(cluster: ClusterModel, node: KafkaNodeModel): NodeContribution | undefined;
}

/** Every feature, in merge order. */
export const NODE_FEATURES: readonly NodeFeature[] = [listenersFeature, tlsFeature, istioFeature];

/** Everything the features contribute to one node, merged. */
export interface MergedContribution {
  readonly config: Readonly<Record<string, string>>;
  readonly adminProperties: Readonly<Record<string, string>>;
  readonly env: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  readonly volumes: readonly Json[];
  readonly volumeMounts: ReadonlyArray<{ readonly name: string; readonly mountPath: string; readonly readOnly?: boolean }>;
  readonly initContainers: readonly Json[];
  readonly ports: ReadonlyArray<{ readonly name: string; readonly containerPort: number; readonly protocol: 'TCP' }>;
  readonly podAnnotations: Readonly<Record<string, string>>;
  readonly beforeStart: readonly string[];
  readonly launch: (command: string) => string;
}

const execLaunch = (command: string) => `exec ${command}`;

export function nodeContributions(cluster: ClusterModel, node: KafkaNodeModel, features: readonly NodeFeature[] = NODE_FEATURES): MergedContribution {
  const config: Record<string, string> = {};
  const adminProperties: Record<string, string> = {};
  const podAnnotations: Record<string, string> = {};
  const env: Array<{ name: string; value: string }> = [];
  const volumes: Json[] = [];
  const volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }> = [];
  const initContainers: Json[] = [];
  const ports: Array<{ name: string; containerPort: number; protocol: 'TCP' }> = [];
  const beforeStart: string[] = [];
  let launch = execLaunch;
  const claimed = new Map<string, string>();
  const claim = (what: string, feature: string) => {
    const prior = claimed.get(what);
    if (prior) throw new Error(`features '${prior}' and '${feature}' both contribute ${what} to node ${node.name}`);
    claimed.set(what, feature);
  };
  for (const feature of features) {
    const c = feature.contribute(cluster, node);
    if (!c) continue;
    const f = feature.name;
    for (const [k, v] of Object.entries(c.config ?? {})) { claim(`config key ${k}`, f); config[k] = v; }
    for (const [k, v] of Object.entries(c.adminProperties ?? {})) { claim(`admin property ${k}`, f); adminProperties[k] = v; }
    for (const [k, v] of Object.entries(c.podAnnotations ?? {})) { claim(`annotation ${k}`, f); podAnnotations[k] = v; }
    for (const e of c.env ?? []) { claim(`env ${e.name}`, f); env.push({ ...e }); }
    for (const v of c.volumes ?? []) { claim(`volume ${String(v.name)}`, f); volumes.push(v); }
    for (const m of c.volumeMounts ?? []) { claim(`mount path ${m.mountPath}`, f); volumeMounts.push({ ...m }); }
    for (const i of c.initContainers ?? []) { claim(`init container ${String(i.name)}`, f); initContainers.push(i); }
    for (const p of c.ports ?? []) { claim(`port ${p.containerPort}`, f); claim(`port name ${p.name}`, f); ports.push({ ...p }); }
    if (c.beforeStart) beforeStart.push(c.beforeStart);
    if (c.launch) { claim('the launch of Kafka', f); launch = c.launch; }
  }
  return { config, adminProperties, env, volumes, volumeMounts, initContainers, ports, podAnnotations, beforeStart, launch };
}
