/**
 * The Kubernetes calls the controller makes, typed, in one namespace. Each write is safe to
 * repeat: creates tolerate AlreadyExists, deletes are conditional on the Pod's uid, updates
 * on the resourceVersion that was read (a conflict means "read again", never "overwrite").
 */
import { kubeRequest, kubeWatch, type KubeClientConfig, type KubeResponse, type KubeWatchEvent } from './rest.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  [k: string]: unknown;
}

export interface PodObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    containers: Array<{ name: string; env?: Array<{ name: string; value?: string }>; [k: string]: unknown }>;
    volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string }; [k: string]: unknown }>;
    [k: string]: unknown;
  };
  status?: {
    phase?: string;
    reason?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ restartCount?: number; ready?: boolean }>;
  };
}

export interface ConfigMapObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  data?: Record<string, string>;
}

export interface SecretObject {
  metadata: ObjectMeta;
  type?: string;
  /** base64 values, as the API returns them. */
  data?: Record<string, string>;
}

export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/** The server said the object changed since it was read (409), or a precondition failed. */
export class KubeConflictError extends Error {}

export class KubeError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

export class KubeClient {
  constructor(readonly connection: KubeClientConfig, readonly namespace: string) {}

  private path(resource: string, name?: string, group = ''): string {
    const base = group ? `/apis/${group}` : '/api/v1';
    return `${base}/namespaces/${encodeURIComponent(this.namespace)}/${resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  private async call(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse> {
    return kubeRequest(this.connection, method, path, body, contentType);
  }

  private fail(what: string, res: KubeResponse): never {
    const message = `${what}: ${res.statusCode} ${res.body?.message ?? res.text.slice(0, 300)}`;
    if (res.statusCode === 409) throw new KubeConflictError(message);
    throw new KubeError(res.statusCode, message);
  }

  async listPods(labelSelector: string): Promise<{ items: PodObject[]; resourceVersion: string }> {
    return this.list<PodObject>('pods', labelSelector);
  }

  async listConfigMaps(labelSelector: string): Promise<{ items: ConfigMapObject[]; resourceVersion: string }> {
    return this.list<ConfigMapObject>('configmaps', labelSelector);
  }

  private async list<T>(resource: string, labelSelector: string): Promise<{ items: T[]; resourceVersion: string }> {
    const res = await this.call('GET', `${this.path(resource)}?labelSelector=${encodeURIComponent(labelSelector)}`);
    if (res.statusCode !== 200) this.fail(`list ${resource}`, res);
    return { items: res.body.items as T[], resourceVersion: String(res.body.metadata?.resourceVersion ?? '') };
  }

  /** Creates a Pod; 'exists' when one of that name is already there (GitOps may have won the race). */
  async createPod(pod: PodObject): Promise<'created' | 'exists'> {
    const res = await this.call('POST', this.path('pods'), pod);
    if (res.statusCode === 201 || res.statusCode === 200) return 'created';
    if (res.statusCode === 409 && res.body?.reason === 'AlreadyExists') return 'exists';
    return this.fail(`create Pod ${pod.metadata.name}`, res);
  }

  /** Deletes the Pod only if it is still the one with `uid`; 'gone' when it is not there, 'replaced' when another uid holds the name. */
  async deletePod(name: string, uid: string): Promise<'deleted' | 'gone' | 'replaced'> {
    const res = await this.call('DELETE', this.path('pods', name), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } });
    if (res.statusCode === 200 || res.statusCode === 202) return 'deleted';
    if (res.statusCode === 404) return 'gone';
    if (res.statusCode === 409) return 'replaced';
    return this.fail(`delete Pod ${name}`, res);
  }

  /**
   * Merge-patches a Pod's annotations (null removes one), only if it is still the Pod with
   * `uid` (the server refuses a patch whose uid differs). Not conditional on resourceVersion:
   * the kubelet updates the status all the time, and annotations are ours alone.
   */
  async annotatePod(name: string, uid: string, annotations: Record<string, string | null>): Promise<PodObject> {
    const res = await this.call('PATCH', this.path('pods', name), { metadata: { uid, annotations } }, 'application/merge-patch+json');
    if (res.statusCode !== 200) this.fail(`annotate Pod ${name}`, res);
    return res.body as PodObject;
  }

  /**
   * Deletes a node's ConfigMap, Service or claim when a node is retired. With `uid`, only
   * that very object ('replaced' when another holds the name). 'gone' when not there.
   */
  async deleteObject(resource: 'configmaps' | 'services' | 'persistentvolumeclaims', name: string, uid?: string): Promise<'deleted' | 'gone' | 'replaced'> {
    const res = await this.call('DELETE', this.path(resource, name), { apiVersion: 'v1', kind: 'DeleteOptions', ...(uid ? { preconditions: { uid } } : {}) });
    if (res.statusCode === 200 || res.statusCode === 202) return 'deleted';
    if (res.statusCode === 404) return 'gone';
    if (res.statusCode === 409) return 'replaced';
    return this.fail(`delete ${resource} ${name}`, res);
  }

  async getPersistentVolumeClaim(name: string): Promise<{ metadata: ObjectMeta } | undefined> {
    const res = await this.call('GET', this.path('persistentvolumeclaims', name));
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) this.fail(`get PersistentVolumeClaim ${name}`, res);
    return res.body as { metadata: ObjectMeta };
  }

  async getConfigMap(name: string): Promise<ConfigMapObject | undefined> {
    const res = await this.call('GET', this.path('configmaps', name));
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) this.fail(`get ConfigMap ${name}`, res);
    return res.body as ConfigMapObject;
  }

  async createConfigMap(cm: ConfigMapObject): Promise<ConfigMapObject> {
    const res = await this.call('POST', this.path('configmaps'), { apiVersion: 'v1', kind: 'ConfigMap', ...cm });
    if (res.statusCode !== 201) this.fail(`create ConfigMap ${cm.metadata.name}`, res);
    return res.body as ConfigMapObject;
  }

  /** Replaces a ConfigMap read earlier (its metadata.resourceVersion is the precondition). */
  async replaceConfigMap(cm: ConfigMapObject): Promise<ConfigMapObject> {
    const res = await this.call('PUT', this.path('configmaps', cm.metadata.name), { apiVersion: 'v1', kind: 'ConfigMap', ...cm });
    if (res.statusCode !== 200) this.fail(`update ConfigMap ${cm.metadata.name}`, res);
    return res.body as ConfigMapObject;
  }

  async getSecret(name: string): Promise<SecretObject | undefined> {
    const res = await this.call('GET', this.path('secrets', name));
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) this.fail(`get Secret ${name}`, res);
    return res.body as SecretObject;
  }

  /** Creates a Secret; a KubeConflictError when one of that name appeared meanwhile. */
  async createSecret(secret: SecretObject): Promise<SecretObject> {
    const res = await this.call('POST', this.path('secrets'), { apiVersion: 'v1', kind: 'Secret', ...secret });
    if (res.statusCode !== 201) this.fail(`create Secret ${secret.metadata.name}`, res);
    return res.body as SecretObject;
  }

  /** Replaces a Secret read earlier (its metadata.resourceVersion is the precondition). */
  async replaceSecret(secret: SecretObject): Promise<SecretObject> {
    const res = await this.call('PUT', this.path('secrets', secret.metadata.name), { apiVersion: 'v1', kind: 'Secret', ...secret });
    if (res.statusCode !== 200) this.fail(`update Secret ${secret.metadata.name}`, res);
    return res.body as SecretObject;
  }

  async getLease(name: string): Promise<LeaseObject | undefined> {
    const res = await this.call('GET', this.path('leases', name, 'coordination.k8s.io/v1'));
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) this.fail(`get Lease ${name}`, res);
    return res.body as LeaseObject;
  }

  async createLease(lease: LeaseObject): Promise<LeaseObject> {
    const res = await this.call('POST', this.path('leases', undefined, 'coordination.k8s.io/v1'), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease });
    if (res.statusCode !== 201) this.fail(`create Lease ${lease.metadata.name}`, res);
    return res.body as LeaseObject;
  }

  async replaceLease(lease: LeaseObject): Promise<LeaseObject> {
    const res = await this.call('PUT', this.path('leases', lease.metadata.name, 'coordination.k8s.io/v1'), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease });
    if (res.statusCode !== 200) this.fail(`update Lease ${lease.metadata.name}`, res);
    return res.body as LeaseObject;
  }

  /** Records a core/v1 Event about an object of this namespace. */
  async createEvent(event: { involved: { kind: string; name: string; uid?: string; apiVersion: string }; type: 'Normal' | 'Warning'; reason: string; message: string; component: string }): Promise<void> {
    const now = new Date().toISOString();
    const res = await this.call('POST', this.path('events'), {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${event.involved.name}.` },
      involvedObject: { ...event.involved, namespace: this.namespace },
      type: event.type,
      reason: event.reason,
      message: event.message.slice(0, 1024),
      source: { component: event.component },
      reportingComponent: event.component,
      reportingInstance: event.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
    if (res.statusCode !== 201) this.fail(`create Event ${event.reason}`, res);
  }

  /** Watches pods or configmaps with a label selector from `resourceVersion`. */
  async watch(resource: 'pods' | 'configmaps', labelSelector: string, resourceVersion: string, onEvent: (e: KubeWatchEvent) => void): Promise<{ stop(): void; done: Promise<void> }> {
    return kubeWatch(this.connection, this.path(resource), { labelSelector, resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: '300' }, onEvent);
  }
}
