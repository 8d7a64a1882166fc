/**
 * A fingerprint of a node Pod's fields: one short hash per field that a change
 * can touch (labels, each spec field, each field of the Kafka container), kept
 * on the Pod as an annotation. The controller compares the running Pod's
 * fingerprint with the desired one to say *which* Pod fields changed, without
 * the Pod it was created from (GitOps has already overwritten that copy) and
 * without guessing which fields the API server defaulted.
 *
 * The server.properties env var is left out: config is compared key by key.
 */
import { createHash } from 'node:crypto';
import { canonical, compareStrings } from './canonical.js';
import { ENV } from './start-script.js';

/** On node Pods: JSON object, field path → short hash of its value. */
export const ANNOTATION_POD_FIELDS = 'kafka-cdk8s.io/pod-fields';

type Json = Record<string, unknown>;

const short = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(canonical(value) ?? null)).digest('hex').slice(0, 12);

/**
 * The fingerprint of a rendered Pod manifest, before the hash annotations are added. Only
 * ever computed from what the renderer made (a running Pod is read through its annotation),
 * so fields the API server defaults never show up as changes.
 */
export function podFields(pod: Json): Record<string, string> {
  const metadata = (pod.metadata ?? {}) as Json;
  const spec = (pod.spec ?? {}) as Json;
  const out: Record<string, string> = {
    'metadata.labels': short(metadata.labels),
    'metadata.annotations': short(metadata.annotations),
  };
  for (const [key, value] of Object.entries(spec)) {
    if (key !== 'containers') out[`spec.${key}`] = short(value);
  }
  for (const container of (spec.containers ?? []) as Json[]) {
    const name = String(container.name);
    for (const [key, value] of Object.entries(container)) {
      if (key === 'name') continue;
      const v = key === 'env' ? (value as Array<{ name: string }>).filter((e) => e.name !== ENV.serverProperties) : value;
      out[`spec.containers[${name}].${key}`] = short(v);
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => compareStrings(a, b)));
}

/** Field paths whose hashes differ, sorted; a field present on one side only counts. */
export function changedPodFields(running: Readonly<Record<string, string>>, desired: Readonly<Record<string, string>>): string[] {
  const keys = new Set([...Object.keys(running), ...Object.keys(desired)]);
  return [...keys].filter((k) => running[k] !== desired[k]).sort();
}
