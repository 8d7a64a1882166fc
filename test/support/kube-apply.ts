// Server-side apply of manifests against a real kube-apiserver (test bed, issue #4).
//
// Why raw REST and not KubernetesObjectApi.patch: client-node serializes objects of the
// kinds it knows (Pod, Service, ...) through its generated models, which silently drops
// every field the model does not know (a typo, or a field newer than the client). The
// test bed exists to have the real server judge our output, so the objects are sent
// as they are, with fieldValidation=Strict (unknown or duplicate fields are errors).
// Authentication and TLS come from a KubeClientConfig (e.g. a client-node KubeConfig).
import { parseAllDocuments } from 'yaml';

export type { KubeClientConfig, KubeResponse, KubeWatchEvent } from '../../lib/controller/adapters/kube/rest.js';
export { kubeRequest, kubeWatch } from '../../lib/controller/adapters/kube/rest.js';
import { kubeRequest, type KubeClientConfig, type KubeResponse } from '../../lib/controller/adapters/kube/rest.js';

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  action: ApplyAction;
  /** The object as the server returned it after the apply. */
  object: ManifestObject;
}

export interface ApplyOptions {
  /** Field manager of the apply (default 'kafka-cdk8s-test'). */
  fieldManager?: string;
  /** Take over fields owned by other managers (default true). */
  force?: boolean;
  /** Server field validation (default 'Strict': unknown/duplicate fields are errors). */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  /** Namespace for namespaced objects that have none (default 'default'). */
  defaultNamespace?: string;
  /** How long to wait for applied CRDs to become Established (default 30 s). */
  crdTimeoutMs?: number;
}

export interface DeleteResult {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  action: 'deleted' | 'absent';
}

/** An error of one object: names the object and carries the server's status and message. */
export class KubeApplyError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly object: { apiVersion: string; kind: string; namespace?: string; name: string },
    readonly status?: unknown,
  ) {
    super(message);
    this.name = 'KubeApplyError';
  }
}

interface ResourceInfo {
  name: string;
  namespaced: boolean;
}

/** Finds the REST resource of apiVersion+kind by discovery, cached per KubeConfig. */
class Discovery {
  private cache = new Map<string, Map<string, ResourceInfo>>();
  constructor(private readonly kc: KubeClientConfig) {}

  async resource(apiVersion: string, kind: string, waitMs = 0): Promise<ResourceInfo> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      let list = this.cache.get(apiVersion);
      if (!list || !list.has(kind)) {
        list = await this.fetch(apiVersion);
        if (list) this.cache.set(apiVersion, list);
      }
      const info = list?.get(kind);
      if (info) return info;
      if (Date.now() >= deadline) {
        throw new Error(`the server has no resource for kind ${kind} in ${apiVersion} (is its CRD installed?)`);
      }
      await sleep(200);
    }
  }

  private async fetch(apiVersion: string): Promise<Map<string, ResourceInfo> | undefined> {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const res = await kubeRequest(this.kc, 'GET', path);
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw new Error(`discovery GET ${path}: ${res.statusCode} ${res.text}`);
    const out = new Map<string, ResourceInfo>();
    for (const r of res.body.resources as { name: string; kind: string; namespaced: boolean }[]) {
      if (r.name.includes('/')) continue; // subresources
      out.set(r.kind, { name: r.name, namespaced: r.namespaced });
    }
    return out;
  }
}

const discoveries = new WeakMap<KubeClientConfig, Discovery>();
function discoveryFor(kc: KubeClientConfig): Discovery {
  let d = discoveries.get(kc);
  if (!d) discoveries.set(kc, (d = new Discovery(kc)));
  return d;
}

/** REST path of an object (collection path when name is omitted). */
export async function objectPath(
  kubeConfig: KubeClientConfig,
  obj: { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string } },
  opts: { defaultNamespace?: string; discoveryWaitMs?: number } = {},
): Promise<{ path: string; namespace?: string }> {
  const info = await discoveryFor(kubeConfig).resource(obj.apiVersion, obj.kind, opts.discoveryWaitMs ?? 0);
  const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const namespace = info.namespaced ? (obj.metadata?.namespace ?? opts.defaultNamespace ?? 'default') : undefined;
  let path = namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${info.name}` : `${base}/${info.name}`;
  if (obj.metadata?.name) path += `/${encodeURIComponent(obj.metadata.name)}`;
  return { path, namespace };
}

// ---------------------------------------------------------------------------------------

/** Parses multi-document YAML (or takes objects), dropping empty documents and flattening `kind: List`. */
export function toObjects(input: object[] | string): ManifestObject[] {
  let docs: unknown[];
  if (typeof input === 'string') {
    docs = [];
    for (const doc of parseAllDocuments(input)) {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]!.message}`);
      docs.push(doc.toJS());
    }
  } else {
    docs = input;
  }
  const out: ManifestObject[] = [];
  const add = (d: unknown): void => {
    if (d === null || d === undefined) return;
    if (typeof d !== 'object') throw new Error(`manifest document is not an object: ${JSON.stringify(d)}`);
    const o = d as ManifestObject;
    if (o.kind === 'List' && Array.isArray((o as { items?: unknown[] }).items)) {
      for (const i of (o as unknown as { items: unknown[] }).items) add(i);
      return;
    }
    if (!o.apiVersion || !o.kind || !o.metadata?.name) {
      throw new Error(`manifest object lacks apiVersion, kind or metadata.name: ${JSON.stringify(d).slice(0, 200)}`);
    }
    out.push(o);
  };
  for (const d of docs) add(d);
  return out;
}

function describe(o: { kind: string; namespace?: string; name: string }): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

function serverMessage(res: KubeResponse): string {
  const m = res.body && typeof res.body === 'object' && typeof res.body.message === 'string' ? res.body.message : res.text;
  return `${res.statusCode} ${res.body?.reason ?? ''}: ${m}`.replace(/ +:/, ':');
}

/** Order: CRDs, Namespaces, then everything else in input order (stable). */
function applyRank(o: ManifestObject): number {
  if (o.kind === 'CustomResourceDefinition') return 0;
  if (o.kind === 'Namespace') return 1;
  return 2;
}

/**
 * Server-side applies the objects (force, fieldValidation=Strict), creating CRDs first
 * (waiting until Established) and Namespaces next. Returns one result per object, in
 * apply order: 'created' (did not exist), 'unchanged' (same resourceVersion, or nothing
 * but resourceVersion/managedFields differs), else 'configured'. Throws a KubeApplyError naming the first failing object and the server's
 * message; objects before it stay applied.
 */
export async function applyManifests(
  kubeConfig: KubeClientConfig,
  objects: object[] | string,
  options: ApplyOptions = {},
): Promise<ApplyResult[]> {
  const fieldManager = options.fieldManager ?? 'kafka-cdk8s-test';
  const force = options.force ?? true;
  const fieldValidation = options.fieldValidation ?? 'Strict';
  const list = toObjects(objects)
    .map((o, i) => ({ o, i }))
    .sort((a, b) => applyRank(a.o) - applyRank(b.o) || a.i - b.i)
    .map((x) => x.o);

  const results: ApplyResult[] = [];
  const crds: string[] = [];
  let crdsWaited = false;
  for (const obj of list) {
    if (!crdsWaited && obj.kind !== 'CustomResourceDefinition') {
      if (crds.length > 0) await waitForCrdsEstablished(kubeConfig, crds, options.crdTimeoutMs ?? 30_000);
      crdsWaited = true;
    }
    const ref = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace };
    let path: string;
    let namespace: string | undefined;
    try {
      // a kind whose CRD was applied just now may take a moment to show up in discovery
      ({ path, namespace } = await objectPath(kubeConfig, obj, {
        defaultNamespace: options.defaultNamespace,
        discoveryWaitMs: crds.length > 0 ? 10_000 : 0,
      }));
    } catch (e) {
      throw new KubeApplyError(`apply ${describe(ref)}: ${(e as Error).message}`, 0, ref);
    }
    ref.namespace = namespace;
    const body: ManifestObject = { ...obj, metadata: { ...obj.metadata } };
    delete body.metadata.resourceVersion;
    if (namespace) body.metadata.namespace = namespace;

    const before = await kubeRequest(kubeConfig, 'GET', path);
    if (before.statusCode !== 200 && before.statusCode !== 404) {
      throw new KubeApplyError(`apply ${describe(ref)}: GET ${serverMessage(before)}`, before.statusCode, ref, before.body);
    }
    const query = new URLSearchParams({ fieldManager, fieldValidation });
    if (force) query.set('force', 'true');
    const res = await kubeRequest(kubeConfig, 'PATCH', `${path}?${query}`, body, 'application/apply-patch+yaml');
    if (res.statusCode !== 200 && res.statusCode !== 201) {
      throw new KubeApplyError(`apply ${describe(ref)}: ${serverMessage(res)}`, res.statusCode, ref, res.body);
    }
    const after = res.body as ManifestObject;
    const action: ApplyAction =
      before.statusCode === 404 ? 'created' : sameContent(before.body, after) ? 'unchanged' : 'configured';
    results.push({ apiVersion: obj.apiVersion, kind: obj.kind, namespace, name: obj.metadata.name, action, object: after });
    if (obj.kind === 'CustomResourceDefinition') crds.push(obj.metadata.name);
  }
  if (!crdsWaited && crds.length > 0) await waitForCrdsEstablished(kubeConfig, crds, options.crdTimeoutMs ?? 30_000);
  return results;
}

/** Waits until every named CRD has condition Established=True (and NamesAccepted). */
export async function waitForCrdsEstablished(kubeConfig: KubeClientConfig, names: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(names);
  let last = '';
  while (pending.size > 0) {
    for (const name of [...pending]) {
      const res = await kubeRequest(kubeConfig, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      const conds: { type: string; status: string; message?: string }[] = res.body?.status?.conditions ?? [];
      if (conds.some((c) => c.type === 'Established' && c.status === 'True')) pending.delete(name);
      else last = `${name}: ${res.statusCode} ${JSON.stringify(conds)}`;
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) throw new Error(`CRDs not Established after ${timeoutMs} ms: ${[...pending].join(', ')} (${last})`);
    await sleep(100);
  }
}

/**
 * Deletes the objects in reverse apply order (propagationPolicy Background). Missing
 * objects are reported 'absent'. Note: the test bed has no garbage collector, namespace
 * controller or kubelet, so dependents, namespace contents and Pods bound to a node
 * are not cleaned up by the server the way a real cluster does.
 */
export async function deleteManifests(
  kubeConfig: KubeClientConfig,
  objects: object[] | string,
  options: { defaultNamespace?: string; gracePeriodSeconds?: number } = {},
): Promise<DeleteResult[]> {
  const list = toObjects(objects)
    .map((o, i) => ({ o, i }))
    .sort((a, b) => applyRank(b.o) - applyRank(a.o) || b.i - a.i)
    .map((x) => x.o);
  const results: DeleteResult[] = [];
  for (const obj of list) {
    const ref = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace };
    let path: string;
    let namespace: string | undefined;
    try {
      ({ path, namespace } = await objectPath(kubeConfig, obj, { defaultNamespace: options.defaultNamespace }));
    } catch (e) {
      // kind unknown to the server (e.g. its CRD is gone): nothing to delete
      results.push({ ...ref, action: 'absent' });
      void e;
      continue;
    }
    ref.namespace = namespace;
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' };
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    const res = await kubeRequest(kubeConfig, 'DELETE', path, body);
    if (res.statusCode === 404) results.push({ ...ref, action: 'absent' });
    else if (res.statusCode === 200 || res.statusCode === 202) results.push({ ...ref, action: 'deleted' });
    else throw new KubeApplyError(`delete ${describe(ref)}: ${serverMessage(res)}`, res.statusCode, ref, res.body);
  }
  return results;
}

/**
 * Same resourceVersion, or equal apart from resourceVersion and managedFields. The second
 * part matters because some no-op applies still write: an object whose apply set no
 * tracked field (e.g. a Namespace with only a name) gets a `before-first-apply`
 * managedFields entry on its next apply, and a PersistentVolumeClaim is rewritten once
 * on its first re-apply (Kubernetes 1.37) with no visible change.
 */
function sameContent(before: any, after: any): boolean {
  if (before?.metadata?.resourceVersion === after?.metadata?.resourceVersion) return true;
  const strip = (o: any): any => {
    const { resourceVersion: _rv, managedFields: _mf, ...metadata } = o?.metadata ?? {};
    return { ...o, metadata };
  };
  return canonical(strip(before)) === canonical(strip(after));
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
