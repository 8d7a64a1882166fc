/**
 * A list-and-watch cache of one kind of object (Pods or ConfigMaps of one cluster), so
 * that the reconciler reads memory instead of listing thousands of objects each time, and
 * is woken within milliseconds when something changes (a deleted Pod is recreated at once).
 * The watch restarts from the last resourceVersion seen, or from a fresh list when the
 * server has compacted it away.
 */
import type { KubeClient, ObjectMeta } from './adapters/kube/client.js';
import type { Logger } from './observability/log.js';

type Obj = { metadata: ObjectMeta };

export class Informer<T extends Obj> {
  private readonly objects = new Map<string, T>();
  private stopped = false;
  private current?: { stop(): void; done: Promise<void> };
  private loop?: Promise<void>;
  /** When a watch last reported a change (0: none since start; the first list does not count). */
  lastChangeAt = 0;

  constructor(
    private readonly kube: KubeClient,
    private readonly resource: 'pods' | 'configmaps',
    private readonly labelSelector: string,
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {}

  /** Lists once (so the cache is complete when this resolves), then keeps watching. */
  async start(): Promise<void> {
    const rv = await this.relist();
    this.loop = this.watchFrom(rv);
  }

  /** The cached objects, by name. */
  get(name: string): T | undefined {
    return this.objects.get(name);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.stop();
    await this.loop?.catch(() => undefined);
  }

  private async relist(): Promise<string> {
    const res = this.resource === 'pods' ? await this.kube.listPods(this.labelSelector) : await this.kube.listConfigMaps(this.labelSelector);
    this.objects.clear();
    for (const o of res.items as unknown as T[]) this.objects.set(o.metadata.name, o);
    this.onChange();
    return res.resourceVersion;
  }

  private async watchFrom(resourceVersion: string): Promise<void> {
    let rv = resourceVersion;
    while (!this.stopped) {
      let expired = false;
      try {
        this.current = await this.kube.watch(this.resource, this.labelSelector, rv, (e) => {
          if (e.type === 'ERROR') {
            // 410 Gone: our resourceVersion is too old; list again.
            expired = true;
            this.current?.stop();
            return;
          }
          const o = e.object as T;
          if (o?.metadata?.resourceVersion) rv = o.metadata.resourceVersion;
          if (e.type === 'BOOKMARK') return;
          this.lastChangeAt = Date.now();
          if (e.type === 'DELETED') this.objects.delete(o.metadata.name);
          else this.objects.set(o.metadata.name, o);
          this.onChange();
        });
        await this.current.done;
      } catch (err) {
        if (this.stopped) return;
        this.log.warn('Watch failed', { resource: this.resource, err });
        await sleep(1000);
        expired = true;
      }
      if (this.stopped) return;
      if (expired) {
        try {
          rv = await this.relist();
        } catch (err) {
          this.log.warn('List failed', { resource: this.resource, err });
          await sleep(1000);
        }
      }
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
