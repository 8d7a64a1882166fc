/**
 * Evicts Pods as `kubectl drain` does: a policy/v1 Eviction per Pod, all in parallel,
 * each retried while the API server refuses it (429: it would break a
 * PodDisruptionBudget). Each Eviction names the Pod's uid, so a Pod recreated under the
 * same name is never evicted in its place, and an original Pod is evicted once.
 */
import type { KubeClientConfig } from './kube-apply.js';
import { kubeRequest } from './kube-apply.js';

export interface DrainTarget {
  readonly name: string;
  readonly uid: string;
}

export interface Eviction {
  readonly name: string;
  readonly uid: string;
  /** When the API server accepted the Eviction (201). */
  readonly at: number;
  /** 429 answers before it did. */
  readonly refusals: number;
  /** The first 429's message (the API server names the budget), if any. */
  readonly refusal?: string;
}

export interface DrainOptions {
  /** Wait after a 429, as kubectl does (its default is 5 s). @default 500 */
  readonly retryMs?: number;
  /** Give up on a Pod still refused after this long. @default 300_000 */
  readonly timeoutMs?: number;
  /**
   * Awaited as soon as a Pod's Eviction is accepted, before that Pod's drain resolves;
   * the other Pods' evictions go on meanwhile.
   */
  readonly onEvicted?: (eviction: Eviction) => Promise<void>;
}

/** POSTs one Eviction of Pod `name` with uid `uid`; resolves with the API server's answer. */
export async function evict(kube: KubeClientConfig, namespace: string, target: DrainTarget): Promise<{ statusCode: number; text: string }> {
  const res = await kubeRequest(kube, 'POST', `/api/v1/namespaces/${namespace}/pods/${target.name}/eviction`, {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: target.name, namespace },
    deleteOptions: { preconditions: { uid: target.uid } },
  });
  return { statusCode: res.statusCode, text: res.text };
}

/** Drains the targets in parallel; resolves with one Eviction per target, in acceptance order. */
export async function drain(kube: KubeClientConfig, namespace: string, targets: readonly DrainTarget[], opts: DrainOptions = {}): Promise<Eviction[]> {
  const retryMs = opts.retryMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const done: Eviction[] = [];
  await Promise.all(targets.map(async (target) => {
    const deadline = Date.now() + timeoutMs;
    let refusals = 0;
    let refusal: string | undefined;
    for (;;) {
      const res = await evict(kube, namespace, target);
      if (res.statusCode === 201) {
        const eviction: Eviction = { name: target.name, uid: target.uid, at: Date.now(), refusals, refusal };
        done.push(eviction);
        await opts.onEvicted?.(eviction);
        return;
      }
      // Anything but "the budget refused" (404, 409: the Pod with that uid is gone) means
      // something other than this drain removed the Pod: the proof would not hold.
      if (res.statusCode !== 429) throw new Error(`eviction of ${namespace}/${target.name}: ${res.statusCode} ${res.text}`);
      refusals++;
      refusal ??= res.text;
      if (Date.now() > deadline) throw new Error(`eviction of ${namespace}/${target.name} still refused after ${timeoutMs} ms (${refusals} refusals): ${res.text}`);
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }));
  return done;
}
