/**
 * What the controller's end-to-end proofs share: plan through the real CLI, Pod sampling
 * (never two down, restart order), the status the controller publishes, and the kill -9
 * loop of the crash-safety proofs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { synthCluster } from '../../lib/synth.js';
import { kubeRequest } from './kube-apply.js';
import { REPO_ROOT } from './kube-server.js';
import { sleep, type BedCluster, type PodSample } from './bed-cluster.js';
import type { ControllerProcess } from './controller-process.js';

/**
 * What `kafka-cdk8s plan --json` says for moving from `from` to `to`: the real CLI, on the
 * previous output written to a directory and the new spec written to a file.
 */
export function planFor(from: Record<string, unknown>, to: Record<string, unknown>): any {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-plan-'));
  try {
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', `${String(from.name)}.k8s.yaml`), synthCluster(from).yaml);
    writeFileSync(join(dir, 'cluster.yaml'), stringify(to));
    const res = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'kafka-cdk8s.js'), 'plan', '-f', join(dir, 'cluster.yaml'), '--previous', join(dir, 'dist'), '--json'], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    return JSON.parse(res.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface PodWatch {
  readonly samples: Array<{ at: number; pods: Map<string, PodSample>; leader?: number }>;
  stop(): Promise<void>;
}

/** Samples every Pod (and the quorum leader) every 150 ms until stopped. */
export function watchPods(bed: BedCluster): PodWatch {
  const samples: PodWatch['samples'] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const [pods, leader] = await Promise.all([bed.podStates(), bed.admin.describeQuorum().then((q) => q.leaderId, () => undefined)]);
      samples.push({ at: Date.now(), pods, leader });
      await sleep(150);
    }
  })();
  return { samples, async stop() { on = false; await loop; } };
}

/** Of `names`, those down (missing or not Ready) in a sample. */
export const downIn = (s: { pods: Map<string, PodSample> }, names: readonly string[]): string[] => names.filter((p) => !s.pods.get(p)?.ready);

/** Order in which Pods got a new uid, from the samples. */
export function replacements(samples: ReadonlyArray<{ pods: Map<string, PodSample> }>, first: Map<string, PodSample>): string[] {
  const seen = new Map([...first].map(([n, s]) => [n, s.uid]));
  const order: string[] = [];
  for (const s of samples) {
    for (const [n, p] of s.pods) {
      if (seen.has(n) && seen.get(n) !== p.uid) {
        order.push(n);
        seen.set(n, p.uid);
      }
    }
  }
  return order;
}

/** The status the controller publishes in `<cluster>-operator-state`. */
export async function operatorStatus(bed: BedCluster): Promise<any> {
  const cm = await kubeRequest(bed.kube.client, 'GET', `/api/v1/namespaces/${bed.namespace}/configmaps/${bed.name}-operator-state`);
  return cm.body?.data?.status ? JSON.parse(cm.body.data.status) : undefined;
}

/**
 * Crash safety: every 1 to 4 s, kill -9 the controller and start it again, until `done`.
 * All it remembers is in the cluster, so the operation must finish all the same.
 */
export async function killUntil(controller: ControllerProcess, done: () => Promise<unknown>, timeoutMs = 480_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let kills = 0;
  for (;;) {
    await sleep(1000 + Math.floor(Math.random() * 3000));
    if (await done()) return kills;
    if (Date.now() > deadline) throw new Error(`not done after ${timeoutMs / 1000} s and ${kills} kills\n${controller.tail(60)}`);
    await controller.kill9();
    kills++;
    controller.restart();
  }
}
