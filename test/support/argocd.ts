/**
 * Argo CD's ignoreDifferences normalizer, for tests: runs the `argocd-normalize` tool of
 * test/bed/go/gitops (built by `bash test/bed/install-gitops.sh`), a port of Argo CD
 * v3.5.1's util/argo/normalizers/diff_normalizer.go with the same gojq (v0.12.19) and
 * glob matching. Each jqPathExpression E is run as `del(E)` on every object whose group
 * and kind match the entry (globs; "" is the core group), name/namespace if given.
 *
 *   const { objects } = await argoNormalize(app.spec.ignoreDifferences, [live, desired]);
 *
 * What Argo CD does with failures, reproduced: an expression that does not parse/compile
 * fails the normalizer (here: the promise rejects with Argo CD's error text; in Argo CD
 * the comparison fails); an expression that fails at run time on an object (error value,
 * no output, several outputs, timeout) or a jsonPointer that does not exist is skipped
 * for that object, which stays as it was (Argo CD logs it at debug level): reported in
 * `skippedPatches`. A result that is no longer a Kubernetes object (e.g. `del(.)` from an
 * expression that selects the whole object) fails the normalization: rejects.
 */
import { gitopsTool, runGitopsTool } from './flux.js';

/** An Application's spec.ignoreDifferences entry (v1alpha1.ResourceIgnoreDifferences). */
export interface IgnoreDifference {
  group?: string;
  kind: string;
  name?: string;
  namespace?: string;
  jsonPointers?: string[];
  jqPathExpressions?: string[];
  managedFieldsManagers?: string[];
}

export interface SkippedPatch {
  /** Index of the object in the input list. */
  object: number;
  /** Kind/namespace/name. */
  subject: string;
  expression?: string;
  jsonPointer?: string;
  error: string;
  /** Whether Argo CD would log it (shouldLogError: not for missing JSON pointer paths). */
  logged: boolean;
}

export interface ArgoNormalizeResult {
  objects: Record<string, any>[];
  skippedPatches: SkippedPatch[];
}

export class ArgoNormalizeError extends Error {
  constructor(message: string, readonly exitCode: number | null, readonly stderr: string) {
    super(message);
    this.name = 'ArgoNormalizeError';
  }
}

/**
 * Normalizes `objects` with an Application's ignoreDifferences list, or with bare jq path
 * expressions (string[]: applied to objects of every group and kind).
 */
export async function argoNormalize(
  ignoreDifferences: IgnoreDifference[] | string[],
  objects: object[],
  opts: { jqTimeoutMs?: number } = {},
): Promise<ArgoNormalizeResult> {
  const tool = gitopsTool('argocd-normalize');
  const bare = ignoreDifferences.every((x) => typeof x === 'string');
  const input = bare
    ? { expressions: ignoreDifferences as string[], objects }
    : { ignoreDifferences: ignoreDifferences as IgnoreDifference[], objects };
  const args = opts.jqTimeoutMs !== undefined ? [`--jq-timeout=${opts.jqTimeoutMs}ms`] : [];
  const r = await runGitopsTool(tool, args, JSON.stringify(input), 60_000);
  if (r.code !== 0) {
    throw new ArgoNormalizeError(r.stderr.trim() || `argocd-normalize exited with ${r.code ?? r.signal}`, r.code, r.stderr);
  }
  return JSON.parse(r.stdout) as ArgoNormalizeResult;
}
