/**
 * Kubernetes types that users write inside the spec (affinity), as strict
 * zod schemas following the core/v1 API of the Kubernetes versions we test.
 * The user's JSON is passed to the Pod exactly as written; these schemas only
 * make sure a typo or a malformed value is reported by `validate`, instead of
 * being dropped, or refused later by the API server in the middle of a sync.
 */
import { z } from 'zod';

const stringList = z.array(z.string());

/** Operators with their value rules, as the API server enforces them. */
function requirement(operators: readonly [string, ...string[]], what: string) {
  return z.strictObject({
    key: z.string().min(1, `${what} key must not be empty`),
    operator: z.enum(operators),
    values: stringList.optional(),
  }).superRefine((req, ctx) => {
    const count = req.values?.length ?? 0;
    if ((req.operator === 'In' || req.operator === 'NotIn') && count === 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${req.operator} needs at least one value` });
    }
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && count > 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${req.operator} takes no values` });
    }
    if ((req.operator === 'Gt' || req.operator === 'Lt') && (count !== 1 || !/^-?\d+$/.test(req.values![0]!))) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${req.operator} needs exactly one integer value` });
    }
  });
}

const labelSelector = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(requirement(['In', 'NotIn', 'Exists', 'DoesNotExist'], 'label selector')).optional(),
});

const nodeSelectorRequirement = requirement(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'], 'node selector');
const nodeSelectorTerm = z.strictObject({
  matchExpressions: z.array(nodeSelectorRequirement).optional(),
  matchFields: z.array(nodeSelectorRequirement).optional(),
});
const weight = z.number().int('weight must be a whole number').min(1, 'weight must be in 1..100').max(100, 'weight must be in 1..100');

const nodeAffinity = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.strictObject({
    nodeSelectorTerms: z.array(nodeSelectorTerm).min(1, 'nodeSelectorTerms needs at least one term'),
  }).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight, preference: nodeSelectorTerm })).optional(),
});

const podAffinityTerm = z.strictObject({
  labelSelector: labelSelector.optional(),
  namespaceSelector: labelSelector.optional(),
  namespaces: stringList.optional(),
  topologyKey: z.string().min(1, 'topologyKey must not be empty'),
  matchLabelKeys: stringList.optional(),
  mismatchLabelKeys: stringList.optional(),
});
const podAffinity = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight, podAffinityTerm })).optional(),
});

/** core/v1 Affinity. */
export const affinitySchema = z.strictObject({
  nodeAffinity: nodeAffinity.optional(),
  podAffinity: podAffinity.optional(),
  podAntiAffinity: podAffinity.optional(),
}).meta({ description: 'A Kubernetes Affinity object (core/v1), passed to the Pod exactly as written.' });

export type AffinitySpec = z.output<typeof affinitySchema>;

/** Label value: at most 63 characters, alphanumeric at both ends, '-', '_' and '.' inside. */
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const labelValue = (what: string) => z.string()
  .max(63, `${what} must be at most 63 characters (it is a Kubernetes label value)`)
  .regex(LABEL_VALUE, `${what} must be a Kubernetes label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit`);

/** Label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}
export const labelKey = (what: string) => z.string().refine(isLabelKey,
  `${what} must be a Kubernetes label key: an optional DNS prefix and '/', then letters, digits, '-', '_' and '.' (at most 63), starting and ending with a letter or digit`);

/** Kubernetes resource quantity, e.g. `10Gi`, `500m`, `1.5`, `2e3`. */
export const QUANTITY = /^([+]?[0-9]+(\.[0-9]*)?|[+]?\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;
const SUFFIX: Readonly<Record<string, number>> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
/** The value of a quantity as a number (close enough to compare requests with limits), or NaN. */
export function quantityValue(text: string): number {
  const m = QUANTITY.exec(text);
  if (!m) return Number.NaN;
  const [, number, , suffix = ''] = m;
  if (/^[eE]/.test(suffix)) return Number(`${number}${suffix}`);
  return Number(number) * SUFFIX[suffix]!;
}
/**
 * A quantity written as a string or, as YAML readers write `cpu: 0.5`, a
 * number; always rendered as a string.
 */
export const quantity = (what: string) => {
  const message = `${what} must be a positive Kubernetes quantity such as '10Gi', '512Mi' or '500m'`;
  return z.union([z.string().regex(QUANTITY, { message, abort: true }), z.number().nonnegative(message)], { error: message })
    .transform((v) => String(v));
};

/** Resource names: cpu, memory, ephemeral-storage, hugepages-<size>, or a qualified extended resource. */
export const resourceName = z.string().refine((k) => isLabelKey(k) && !k.startsWith('requests.'),
  'resource names are cpu, memory, ephemeral-storage, hugepages-<size> or a qualified name such as example.com/gpu');

/**
 * Container image reference (the distribution reference grammar): an optional
 * registry host[:port]/, lowercase path components, then :tag and/or @digest.
 */
const HOST_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
// A first component is a registry host only if it has a '.' or a port, or is localhost.
const REGISTRY = `(?:localhost(?::[0-9]+)?|${HOST_PART}(?:\\.${HOST_PART})+(?::[0-9]+)?|${HOST_PART}:[0-9]+)`;
const IMAGE = new RegExp(
  `^(?:${REGISTRY}/)?`
  + '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*'
  + '(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?$',
);
export const imageReference = (what: string) => z.string().max(4096).regex(IMAGE,
  `${what} must be an image reference such as 'apache/kafka:4.4.0' or 'registry.example.com:5000/team/kafka@sha256:<digest>' (lowercase repository, no spaces)`);
