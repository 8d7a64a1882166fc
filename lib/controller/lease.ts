/**
 * One active controller per cluster, chosen by a coordination.k8s.io Lease, as Kubernetes'
 * own controllers do: take the Lease when it is free or expired, renew it well within its
 * duration, and stop acting the moment it cannot be renewed (another instance may take it
 * once it expires, so acting longer could mean two controllers rolling at once).
 */
import { KubeConflictError, type KubeClient, type LeaseObject } from './adapters/kube/client.js';

export interface LeaseOptions {
  readonly name: string;
  readonly identity: string;
  /** @default 15 */
  readonly durationSeconds?: number;
}

export class LeaderLease {
  private lease?: LeaseObject;
  readonly durationMs: number;

  constructor(private readonly kube: KubeClient, private readonly opts: LeaseOptions) {
    this.durationMs = (opts.durationSeconds ?? 15) * 1000;
  }

  /** Tries once to take or renew the Lease; true when we hold it afterwards. */
  async tryAcquireOrRenew(now = new Date()): Promise<boolean> {
    const current = await this.kube.getLease(this.opts.name);
    const spec = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: this.durationMs / 1000,
      renewTime: micro(now),
    };
    try {
      if (!current) {
        this.lease = await this.kube.createLease({ metadata: { name: this.opts.name }, spec: { ...spec, acquireTime: micro(now), leaseTransitions: 0 } });
        return true;
      }
      const holder = current.spec.holderIdentity;
      const renewed = Date.parse(current.spec.renewTime ?? current.spec.acquireTime ?? '') || 0;
      const expired = renewed + (current.spec.leaseDurationSeconds ?? 15) * 1000 < now.getTime();
      if (holder && holder !== this.opts.identity && !expired) return false;
      const taking = holder !== this.opts.identity;
      this.lease = await this.kube.replaceLease({
        metadata: { name: this.opts.name, resourceVersion: current.metadata.resourceVersion },
        spec: {
          ...current.spec,
          ...spec,
          ...(taking ? { acquireTime: micro(now), leaseTransitions: (current.spec.leaseTransitions ?? 0) + 1 } : {}),
        },
      });
      return true;
    } catch (err) {
      // Someone else wrote it between our read and write: they hold it.
      if (err instanceof KubeConflictError) return false;
      throw err;
    }
  }

  /**
   * Gives the Lease up (on a clean stop), so that a standby takes over at once instead of
   * after the Lease expires. Only if we still hold it; a failure is harmless (it expires).
   */
  async release(): Promise<void> {
    const current = await this.kube.getLease(this.opts.name);
    if (!current || current.spec.holderIdentity !== this.opts.identity) return;
    await this.kube.replaceLease({
      metadata: { name: this.opts.name, resourceVersion: current.metadata.resourceVersion },
      spec: { ...current.spec, holderIdentity: '', renewTime: micro(new Date()) },
    }).catch(() => undefined);
  }

  get holder(): string | undefined {
    return this.lease?.spec.holderIdentity;
  }
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
const micro = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
