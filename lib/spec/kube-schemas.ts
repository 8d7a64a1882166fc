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
