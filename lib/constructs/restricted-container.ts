/**
 * What the Deployments of the output (the runtime controller, Envoy) share: Pod Security
 * "restricted" for a container with a read-only root, and resources as typed quantities.
 */
import { Quantity, type ResourceRequirements, type SecurityContext } from 'cdk8s-plus-27/lib/imports/k8s.js';
import type { ResourcesSpec } from '../spec/schema.js';

export const RESTRICTED_CONTAINER_SECURITY: SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
};

export function containerResources(resources: ResourcesSpec): ResourceRequirements {
  const quantities = (list?: Readonly<Record<string, string>>) =>
    list && Object.fromEntries(Object.entries(list).map(([k, v]) => [k, Quantity.fromString(v)]));
  return { requests: quantities(resources.requests), limits: quantities(resources.limits) };
}
