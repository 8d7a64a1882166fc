/**
 * Controller benchmark, on the test bed (real Kafka run by the pod runner, the real API
 * server, the controller as its own process): figures printed, nothing asserted.
 *
 *  - Pod recreation: from a broker Pod's deletion (gone from the API server) to its new
 *    Pod created. Target <= 1 s.
 *  - Live change: from the ConfigMaps applied to the new value read back on every broker.
 *    Target <= 2 s.
 *  - Roll time against the floor: a read-only change restarts every node; the floor is the
 *    sum, for each node, of its own restart and catch-up (Pod gone → new Pod Ready and back
 *    in every ISR), measured in the same run. Target <= 1.15x.
 *  - Controller memory (RSS) when idle and during the roll. Target <= 100 MB.
 *
 *   npm run bench:controller          # needs the test bed (bash test/bed/install.sh) and a build (npx tsc -p .)
 */
import { readFileSync } from 'node:fs';
import { kubeRequest, kubeWatch } from '../test/support/kube-apply.js';
import { eventually, sleep, startBedCluster, type BedCluster } from '../test/support/bed-cluster.js';

const NS = 'bench';
let spec: Record<string, unknown> = {
  name: 'kb',
  namespace: NS,
  controllers: { mode: 'dedicated' },
  brokers: [{ id: 0 }, { id: 1 }, { id: 2 }],
  config: { 'min.insync.replicas': 2, 'default.replication.factor': 3, 'offsets.topic.replication.factor': 3, 'replica.lag.time.max.ms': 3000 },
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rssMB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;


async function podRecreation(bed: BedCluster, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const name = bed.brokers[i % bed.brokers.length]!;
    let goneAt = 0;
    let createdAt = 0;
    const w = await kubeWatch(bed.kube.client, `/api/v1/namespaces/${NS}/pods`, { fieldSelector: `metadata.name=${name}` }, (e) => {
      if (e.type === 'DELETED') goneAt = performance.now();
      else if (e.type === 'ADDED' && goneAt) createdAt ||= performance.now();
    });
    await kubeRequest(bed.kube.client, 'DELETE', `/api/v1/namespaces/${NS}/pods/${name}`);
    await eventually('recreated', async () => (createdAt ? true : undefined), 120_000);
    w.stop();
    out.push(createdAt - goneAt);
    await eventually('Ready', async () => ((await bed.podStates()).get(name)?.ready ? true : undefined), 180_000);
  }
  return out;
}

async function liveChange(bed: BedCluster, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const next = structuredClone(spec);
    const value = String(2 + (i % 3));
    next.config = { ...(next.config as object), 'log.cleaner.threads': value };
    await bed.apply(next);
    const applied = performance.now();
    await eventually('read back everywhere', async () => {
      for (const id of [0, 1, 2]) {
        const [e] = await bed.admin.describeBrokerConfigs(id, { names: ['log.cleaner.threads'], includeSynonyms: false });
        if (e?.value !== value) return undefined;
      }
      return true;
    }, 60_000);
    out.push(performance.now() - applied);
    await eventually('up to date', () => bed.upToDate(next), 60_000);
    spec = next;
  }
  return out;
}

async function roll(bed: BedCluster, pid: () => number): Promise<{ totalMs: number; floorMs: number; perNode: Record<string, number>; rss: number[] }> {
  const next = structuredClone(spec);
  next.config = { ...(next.config as object), 'auto.create.topics.enable': false };
  const before = await bed.podStates();
  const down = new Map<string, number>();
  const back = new Map<string, number>();
  const rss: number[] = [];
  let on = true;
  const sampler = (async () => {
    while (on) {
      const [pods, topics] = await Promise.all([bed.podStates(), bed.admin.describeTopics().catch(() => undefined)]);
      const t = performance.now();
      for (const name of bed.pods) {
        const p = pods.get(name);
        const old = before.get(name)!;
        if (!down.has(name) && (!p || p.uid !== old.uid || !p.ready)) down.set(name, t);
        const id = Number(name.split('-').at(-1));
        const inIsr = !topics || topics.every((tp) => tp.partitions.every((x) => !x.replicas.includes(id) || x.isr.includes(id)));
        if (down.has(name) && !back.has(name) && p && p.uid !== old.uid && p.ready && inIsr) back.set(name, t);
      }
      rss.push(rssMB(pid()));
      await sleep(100);
    }
  })();
  const start = performance.now();
  await bed.apply(next);
  await eventually('roll finished', () => bed.upToDate(next), 900_000);
  const totalMs = performance.now() - start;
  await sleep(300);
  on = false;
  await sampler;
  const perNode = Object.fromEntries(bed.pods.map((n) => [n, (back.get(n) ?? NaN) - (down.get(n) ?? NaN)]));
  spec = next;
  return { totalMs, floorMs: Object.values(perNode).reduce((a, b) => a + b, 0), perNode, rss };
}

const bed = await startBedCluster(spec);
const controller = await bed.startController();
try {
  const pid = (): number => controller.pid;
  await eventually('controller leading', async () => (controller.logs().some((l) => l.msg === 'Acquired the Lease') ? true : undefined), 60_000);
  await sleep(15_000);
  const idle: number[] = [];
  for (let i = 0; i < 10; i++) {
    idle.push(rssMB(pid()));
    await sleep(500);
  }
  const recreate = await podRecreation(bed, 3);
  const live = await liveChange(bed, 5);
  const r = await roll(bed, pid);
  const f = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  console.log('controller benchmark (3 dedicated controllers, 3 brokers, test bed)');
  console.log(`  Pod recreation (deleted → new Pod created): median ${Math.round(median(recreate))} ms, max ${Math.round(Math.max(...recreate))} ms  (target <= 1000 ms)`);
  console.log(`  live change (ConfigMaps applied → read back on every broker): median ${Math.round(median(live))} ms, max ${Math.round(Math.max(...live))} ms  (target <= 2000 ms)`);
  console.log(`  roll of ${bed.pods.length} nodes: ${f(r.totalMs)}; floor (Σ own restart + catch-up) ${f(r.floorMs)}; ratio ${(r.totalMs / r.floorMs).toFixed(2)}x  (target <= 1.15x)`);
  for (const [n, ms] of Object.entries(r.perNode)) console.log(`    ${n}: ${f(ms)}`);
  console.log(`  controller RSS: idle ${Math.max(...idle).toFixed(0)} MB, during the roll max ${Math.max(...r.rss).toFixed(0)} MB  (target <= 100 MB)`);
} finally {
  await controller.close();
  await bed.close();
}
