/**
 * Flux's kustomize-controller apply, for integration tests: runs the `flux-apply` tool of
 * test/bed/go/gitops (built by `bash test/bed/install-gitops.sh`), which builds the input
 * like a Flux source directory (fluxcd/pkg/kustomize: a kustomization.yaml is generated
 * when there is none, then kustomize build) and drives fluxcd/pkg/ssa exactly as
 * kustomize-controller v1.9.4's reconcile does: field manager
 * `kustomize-controller`, owner labels kustomize.toolkit.fluxcd.io/{name,namespace},
 * ApplyAllStaged (CRDs/Namespaces/ClusterRoles first and waited for, then Class kinds,
 * then everything else; each stage is dry-run in full before any object of it is
 * written), `ssa: IfNotPresent` / `ssa: Ignore` / `reconcile: disabled` / `force: enabled`
 * selectors, the kubectl/before-first-apply managed-fields cleanup, then the inventory
 * diff and prune (DeleteAll, background propagation, only objects with this
 * Kustomization's owner labels, never `prune: disabled`).
 *
 *   const r = await fluxApply(kube, yamlText, { inventoryFile });
 *   r.changeSet  -> [{ subject: 'ConfigMap/ns/name', action: 'created', ... }]
 *   r.pruned     -> [{ subject, action: 'deleted' | 'skipped' }]
 *
 * The inventory file plays .status.inventory: pass the same file to successive calls to
 * get garbage collection across "commits". A failed apply throws FluxApplyError whose
 * message is the controller's Ready-condition message (e.g. "Pod/ns/p dry-run failed
 * (Forbidden): ...").
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODULE_DIR = join(REPO_ROOT, 'test', 'bed', 'go', 'gitops');

/**
 * Paths of the two tools, whether or not they exist: <cache>/gitops-<hash>/bin/..., where
 * the hash is computed as install-gitops.sh does (sha256 over the `sha256sum` lines of
 * go.mod, go.sum and every *.go file, sorted "./"-relative paths; first 16 hex digits).
 * KAFKA_CDK8S_GITOPS_BIN overrides the directory.
 */
export function gitopsBinaries(): { fluxApply: string; argocdNormalize: string; dir: string } {
  let dir = process.env.KAFKA_CDK8S_GITOPS_BIN;
  if (!dir) {
    const cache = process.env.KAFKA_CDK8S_CACHE || join(homedir(), '.cache', 'kafka-cdk8s');
    dir = join(cache, `gitops-${moduleHash()}`, 'bin');
  }
  return { fluxApply: join(dir, 'flux-apply'), argocdNormalize: join(dir, 'argocd-normalize'), dir };
}

function moduleHash(): string {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (e.name.endsWith('.go') || e.name === 'go.mod' || e.name === 'go.sum')) files.push(p);
    }
  };
  walk(MODULE_DIR);
  const rel = files.map((f) => `./${relative(MODULE_DIR, f)}`);
  rel.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const listing = rel
    .map((r) => `${createHash('sha256').update(readFileSync(join(MODULE_DIR, r))).digest('hex')}  ${r}\n`)
    .join('');
  return createHash('sha256').update(listing).digest('hex').slice(0, 16);
}

/** The path of one tool; throws telling how to build it when it is missing. */
export function gitopsTool(name: 'flux-apply' | 'argocd-normalize'): string {
  const bins = gitopsBinaries();
  const path = name === 'flux-apply' ? bins.fluxApply : bins.argocdNormalize;
  if (!existsSync(path)) throw new Error(`${name} not found at ${path}; run: bash test/bed/install-gitops.sh`);
  return path;
}

/** Runs a tool with stdin; resolves with its exit code and output. */
export async function runGitopsTool(
  path: string,
  args: string[],
  stdin: string,
  timeoutMs = 300_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return await new Promise((res, rej) => {
    const p = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    p.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    p.stdin.on('error', () => undefined); // the tool may exit before reading everything
    p.stdin.end(stdin);
  });
}

export type FluxAction = 'created' | 'configured' | 'unchanged' | 'deleted' | 'skipped' | 'unknown';

export interface FluxChange {
  /** Kind/namespace/name, or Kind/name for cluster-scoped objects (ssa's FmtUnstructured). */
  subject: string;
  action: FluxAction;
  /** Inventory id: <namespace>_<name>_<group>_<kind>. */
  id: string;
  version: string;
  group: string;
  kind: string;
  namespace: string;
  name: string;
  /** ApplyAllStaged stage: 'definitions' | 'classes' | 'resources'. */
  stage?: string;
}

export interface FluxInventory {
  entries: { id: string; v: string }[];
}

export interface FluxApplyResult {
  /** Change set per stage, in apply order. */
  stages: { name: string; entries: FluxChange[] }[];
  /** All entries, as the controller records them (skipped ones included). */
  changeSet: FluxChange[];
  /** The controller's change log/event text: "<subject> <action>" lines of changed entries. */
  changeLog: string;
  /** Inventory ids that left the set. */
  stale: string[];
  /** DeleteAll's change set over the stale objects (empty when prune is off). */
  pruned: FluxChange[];
  prune: boolean;
  /** The new inventory (.status.inventory). */
  inventory?: FluxInventory;
  error?: string;
}

export class FluxApplyError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    /** What the tool printed on stdout (partial change set), if it parsed. */
    readonly result?: FluxApplyResult,
  ) {
    super(message);
    this.name = 'FluxApplyError';
  }
}

export interface FluxApplyOptions {
  /** JSON file standing in for .status.inventory (read if present, written on success). */
  inventoryFile?: string;
  /** spec.prune (default true). */
  prune?: boolean;
  /** spec.force (default false). */
  force?: boolean;
  /** Kustomization name, for the owner labels (default kafka-cdk8s). */
  name?: string;
  /** Kustomization namespace, for the owner labels (default flux-system). */
  namespace?: string;
  /** spec.targetNamespace. */
  targetNamespace?: string;
  /** The controller's --override-manager values. */
  overrideManagers?: string[];
  timeoutMs?: number;
}

/**
 * Applies manifests like kustomize-controller. `manifests` is YAML text, a list of
 * objects (sent as JSON documents, so no YAML typing can change a value), or the path of
 * a YAML file or of a source directory (a string without a newline naming an existing
 * path; a directory is what a Kustomization's spec.path points at).
 */
export async function fluxApply(
  kube: { kubeconfigPath: string },
  manifests: string | object[],
  opts: FluxApplyOptions = {},
): Promise<FluxApplyResult> {
  const tool = gitopsTool('flux-apply');
  const args = [`--kubeconfig=${kube.kubeconfigPath}`];
  if (opts.name !== undefined) args.push(`--name=${opts.name}`);
  if (opts.namespace !== undefined) args.push(`--namespace=${opts.namespace}`);
  if (opts.targetNamespace !== undefined) args.push(`--target-namespace=${opts.targetNamespace}`);
  if (opts.inventoryFile !== undefined) args.push(`--inventory=${opts.inventoryFile}`);
  if (opts.prune !== undefined) args.push(`--prune=${opts.prune}`);
  if (opts.force !== undefined) args.push(`--force=${opts.force}`);
  for (const m of opts.overrideManagers ?? []) args.push(`--override-manager=${m}`);
  const timeoutMs = opts.timeoutMs ?? 300_000;
  args.push(`--timeout=${Math.ceil(timeoutMs / 1000)}s`);

  let stdin = '';
  if (Array.isArray(manifests)) {
    stdin = manifests.map((o) => JSON.stringify(o)).join('\n---\n');
    args.push('-');
  } else if (!manifests.includes('\n') && manifests.trim() !== '' && existsSync(manifests) && (statSync(manifests).isDirectory() || statSync(manifests).isFile())) {
    args.push(manifests);
  } else {
    stdin = manifests;
    args.push('-');
  }

  const r = await runGitopsTool(tool, args, stdin, timeoutMs + 10_000);
  let parsed: FluxApplyResult | undefined;
  try {
    parsed = JSON.parse(r.stdout) as FluxApplyResult;
  } catch {
    parsed = undefined;
  }
  if (r.code !== 0 || !parsed) {
    const msg = r.stderr.trim() || `flux-apply exited with ${r.code ?? r.signal}`;
    throw new FluxApplyError(msg, r.code, r.stderr, parsed);
  }
  return parsed;
}

/** Reads an inventory file written by fluxApply (undefined when absent). */
export function readFluxInventory(file: string): FluxInventory | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as FluxInventory) : undefined;
}
