/**
 * What a node runs, read from a Pod manifest: the running Pod as the API server returns
 * it, or the desired Pod stored in the node's ConfigMap (they have the same shape). The
 * Pod, not the ConfigMap, is the truth about what runs: GitOps overwrites the ConfigMap
 * as soon as a commit lands, while the Pod keeps the config it was created with.
 */
import { parseProperties } from '../../config/properties-format.js';
import { ANNOTATION_DESIRED_HASH, LABEL_NODE_ID } from '../../render/metadata.js';
import { ANNOTATION_POD_FIELDS } from '../../render/pod-fields.js';
import { ENV } from '../../render/start-script.js';

/**
 * On a running node Pod: the config changes made live since the Pod was created, key →
 * the value in force (a dynamic override). Written by the controller together with the
 * desired hash, so that the Pod always says what its broker runs.
 */
export const ANNOTATION_LIVE_CONFIG = 'kafka-cdk8s.io/live-config';

export type { NodeRole } from '../../spec/resolve.js';
import type { NodeRole } from '../../spec/resolve.js';

export interface NodeState {
  readonly name: string;
  readonly id: number;
  readonly roles: readonly NodeRole[];
  /** The desired hash the Pod was created with, or brought up to date with live. */
  readonly hash: string;
  /** server.properties the Pod was created with (static for its whole life). */
  readonly properties: Readonly<Record<string, string>>;
  /** Changes made live since (see ANNOTATION_LIVE_CONFIG). Empty for a desired Pod. */
  readonly live: Readonly<Record<string, string>>;
  /** The Kafka container's env (name → value), without server.properties. */
  readonly env?: Readonly<Record<string, string>>;
  /** Pod field fingerprint (render/pod-fields.ts); undefined when the Pod has none. */
  readonly podFields?: Readonly<Record<string, string>>;
}

type PodLike = { metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } };

/** Reads a node's state off a Pod manifest; throws naming the Pod when it is not one of ours. */
export function readNodeState(pod: PodLike): NodeState {
  const name = pod.metadata?.name ?? '(unnamed)';
  const annotations = pod.metadata?.annotations ?? {};
  const env = pod.spec?.containers?.flatMap((c) => c.env ?? []) ?? [];
  const text = env.find((e) => e.name === ENV.serverProperties)?.value;
  if (text === undefined) throw new Error(`Pod ${name} has no ${ENV.serverProperties}: not a kafka-cdk8s node Pod`);
  const properties = parseProperties(text);
  const id = Number(properties['node.id'] ?? pod.metadata?.labels?.[LABEL_NODE_ID]);
  if (!Number.isInteger(id)) throw new Error(`Pod ${name}: no node.id in its server.properties`);
  const roles = (properties['process.roles'] ?? '').split(',').map((r) => r.trim()).filter((r): r is NodeRole => r === 'broker' || r === 'controller');
  return {
    name,
    id,
    roles,
    hash: annotations[ANNOTATION_DESIRED_HASH] ?? '',
    properties,
    live: parseJsonObject(annotations[ANNOTATION_LIVE_CONFIG], `Pod ${name} annotation ${ANNOTATION_LIVE_CONFIG}`) as Record<string, string>,
    env: Object.fromEntries(env.filter((e) => e.name !== ENV.serverProperties).map((e) => [e.name, e.value ?? ''])),
    podFields: annotations[ANNOTATION_POD_FIELDS] === undefined
      ? undefined
      : parseJsonObject(annotations[ANNOTATION_POD_FIELDS], `Pod ${name} annotation ${ANNOTATION_POD_FIELDS}`) as Record<string, string>,
  };
}

/** The config a node runs now: its static server.properties with the live changes on top. */
export function effectiveConfig(state: NodeState): Record<string, string> {
  return { ...state.properties, ...state.live };
}

function parseJsonObject(text: string | undefined, what: string): Record<string, unknown> {
  if (text === undefined || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${what} is not a JSON object`);
  return parsed as Record<string, unknown>;
}
