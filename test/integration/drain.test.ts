/**
 * Draining every node of a cluster through the PodDisruptionBudgets, with the kafka-cdk8s
 * controller not running: real Kafka (3 dedicated controllers, 3 brokers) run by the pod
 * runner with its real probes, the real API server's Eviction API and the real disruption
 * controller computing the budgets, and a GitOps stand-in recreating evicted Pods.
 * Every Pod is evicted at once, retried on 429 like `kubectl drain`; the proof is taken at
 * the moment each eviction is accepted, before the evicted node has even stopped:
 *  - a broker goes only while every partition has its full ISR (but for that broker);
 *  - a controller goes only while every other voter is caught up and there is a leader;
 *  - per pool, never more than one Pod missing or not Ready;
 * and acks=all writes go on throughout with nothing acknowledged lost.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTROLLER_CAUGHT_UP_LAG } from '../../lib/render/start-script.js';
import { isReady } from '../../lib/controller/reconciler.js';
import { LABEL_NODE_ID, LABEL_POOL } from '../../lib/render/metadata.js';
import { kubeRequest } from '../support/kube-apply.js';
import { consumeAll, eventually, produceUntilStopped, sleep, startBedCluster, type BedCluster } from '../support/bed-cluster.js';
import { drain, type Eviction } from '../support/drain.js';
import { ONCE } from '../support/once.js';

const NAMESPACE = 'drain';
const NAME = 'kd';
const spec: Record<string, unknown> = {
  name: NAME,
  namespace: NAMESPACE,
  controllers: { mode: 'dedicated' },
  brokers: [{ id: 0 }, { id: 1 }, { id: 2 }],
  // replica.lag.time.max.ms stays at its default: an evicted broker leaves the ISR by its
  // controlled shutdown, and a short lag time would let load alone shrink ISRs. One offsets
  // partition and no rebalance delay: the read-back's consumer group joins in seconds.
  config: {
    'min.insync.replicas': 2, 'default.replication.factor': 3, 'offsets.topic.replication.factor': 3,
    'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0,
  },
};
const TOPIC = 'drain-load';
const PARTITIONS = 6;
const POOLS = ['controller', 'broker'] as const;
type Pool = (typeof POOLS)[number];

let bed: BedCluster;
let startedIn = 0;

describe('draining a cluster through its PodDisruptionBudgets', ONCE, () => {
  before(async () => {
    const t = Date.now();
    bed = await startBedCluster(spec);
    startedIn = Date.now() - t;
  }, { timeout: 400_000 });

  after(async () => {
    await bed?.close();
  });

  interface KafkaPod { readonly name: string; readonly uid: string; readonly pool: Pool; readonly id: number }

  async function listPods(): Promise<any[]> {
    const res = await kubeRequest(bed.kube.client, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods`);
    assert.equal(res.statusCode, 200, res.text);
    return res.body.items;
  }

  /** Each budget's status, by pool: what the disruption controller computed. */
  async function budgets(): Promise<Record<Pool, any>> {
    const res = await kubeRequest(bed.kube.client, 'GET', `/apis/policy/v1/namespaces/${NAMESPACE}/poddisruptionbudgets`);
    assert.equal(res.statusCode, 200, res.text);
    const by = (pool: Pool) => res.body.items.find((b: any) => b.metadata.name === `${NAME}-${pool}s`);
    return { controller: by('controller'), broker: by('broker') };
  }

  const budgetText = (b: Record<Pool, any>): string => POOLS.map((p) => {
    const s = b[p]?.status ?? {};
    return `${p}s: allowed ${s.disruptionsAllowed} healthy ${s.currentHealthy}/${s.desiredHealthy} expected ${s.expectedPods} disrupted ${Object.keys(s.disruptedPods ?? {}).join(',') || '-'}`;
  }).join('; ');

  interface Sample { readonly at: number; readonly down: Record<Pool, string[]>; readonly uids: Map<string, string>; readonly budgets?: string }

  /**
   * Every ~200 ms until stopped: per pool, the Pods missing, terminating or not Ready, and
   * every Pod's uid (to count replacements).
   */
  function watch(nodes: readonly KafkaPod[]): { samples: Sample[]; stop(): Promise<void> } {
    const samples: Sample[] = [];
    let on = true;
    const loop = (async () => {
      while (on) {
        try {
          const [pods, b] = await Promise.all([listPods(), budgets()]);
          const down: Record<Pool, string[]> = { controller: [], broker: [] };
          for (const n of nodes) {
            const p = pods.find((x) => x.metadata.name === n.name);
            if (!isReady(p)) down[n.pool].push(p ? `${n.name}(${p.metadata.deletionTimestamp ? 'terminating' : 'not Ready'})` : `${n.name}(missing)`);
          }
          samples.push({ at: Date.now(), down, uids: new Map(pods.map((p) => [p.metadata.name, p.metadata.uid])), budgets: budgetText(b) });
        } catch {
          // A failed read is a missing sample, not a finding.
        }
        await sleep(200);
      }
    })();
    return { samples, async stop() { on = false; await loop; } };
  }

  /** The GitOps stand-in: applies the spec every ~2 s, recreating missing create-only Pods as Flux or Argo CD would. */
  function gitops(): { applies: number; errors: string[]; stop(): Promise<void> } {
    const state = { applies: 0, errors: [] as string[], on: true };
    const loop = (async () => {
      while (state.on) {
        try {
          await bed.apply(spec);
          state.applies++;
        } catch (err) {
          state.errors.push((err as Error).message);
        }
        await sleep(2_000);
      }
    })();
    return { get applies() { return state.applies; }, errors: state.errors, async stop() { state.on = false; await loop; } };
  }

  test('draining every node at once evicts through the PodDisruptionBudgets alone: a second broker only at full ISR, a second controller only with the quorum caught up, never two down per pool, nothing acknowledged lost', { timeout: 600_000 }, async () => {
    const setupStart = Date.now();
    const nodes: KafkaPod[] = (await listPods()).map((p) => ({
      name: p.metadata.name, uid: p.metadata.uid, pool: p.metadata.labels[LABEL_POOL], id: Number(p.metadata.labels[LABEL_NODE_ID]),
    }));
    assert.deepEqual(nodes.map((n) => n.name).sort(), [...bed.pods].sort());
    // The disruption controller has computed both budgets: one disruption allowed each.
    let last = '';
    await eventually('both budgets computed, one disruption allowed each', async () => {
      const b = await budgets();
      last = budgetText(b);
      return POOLS.every((p) => b[p]?.status?.observedGeneration === b[p]?.metadata.generation && b[p]?.status?.disruptionsAllowed === 1
        && b[p]?.status?.expectedPods === 3 && b[p]?.status?.currentHealthy === 3) || undefined;
    }, 60_000, () => last);

    await bed.admin.createTopics([{ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
    const topicsBefore = (await bed.admin.listTopics()).sort();
    const votersBefore = (await bed.admin.describeQuorum()).voters.map((v) => `${v.id}:${v.directoryId}`).sort();
    // Not idempotent, as in controller.test.ts: kafkajs 2.2.4 reuses sequence numbers after a
    // failed request, and the broker then drops a batch it acknowledges as a duplicate.
    const producer = bed.kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 2000 } });
    await producer.connect();
    const load = produceUntilStopped(producer, TOPIC, PARTITIONS);
    const sampler = watch(nodes);
    const flux = gitops();
    // What held at the moment each eviction was accepted.
    const checks: Array<{ pod: string; after: number; running: boolean; problems: string[] }> = [];
    let evictions: Eviction[] = [];
    let drainedIn = 0;
    let backIn = 0;
    const t0 = Date.now();
    const setupIn = t0 - setupStart;
    try {
      await eventually('load flowing', async () => (load.acked.size > 200 ? true : undefined));
      const started = Date.now();
      // No cordon: on the bed every Pod runs on the one runner Node, where the replacements must run too.
      evictions = await drain(bed.kube.client, NAMESPACE, nodes, {
        retryMs: 500,
        onEvicted: async (e) => {
          const node = nodes.find((n) => n.name === e.name)!;
          const running = bed.runner.processes().has(`${NAMESPACE}/${e.name}`);
          const problems: string[] = [];
          if (node.pool === 'broker') {
            // Below full ISR but for this broker: some earlier eviction's broker is not back in sync.
            for (const t of await eventually('Metadata', () => bed.admin.describeTopics(), 10_000)) {
              for (const p of t.partitions) {
                const missing = p.replicas.filter((r) => r !== node.id && !p.isr.includes(r));
                if (missing.length > 0) problems.push(`${t.name}-${p.partition} replicas ${p.replicas} isr ${p.isr}`);
              }
            }
          } else {
            const q = await eventually('DescribeQuorum', () => bed.admin.describeQuorum(), 10_000);
            if (q.leaderId < 0) problems.push(`no leader (epoch ${q.leaderEpoch})`);
            for (const v of q.voters) {
              if (v.id !== node.id && (v.lag < 0 || v.lag > CONTROLLER_CAUGHT_UP_LAG)) problems.push(`voter ${v.id} lag ${v.lag}`);
            }
          }
          const after = Date.now() - e.at;
          // What the budgets said just after, to tell a wrong budget from a wrong probe.
          if (problems.length > 0) problems.push(budgetText(await budgets()));
          checks.push({ pod: e.name, after, running, problems });
        },
      });
      drainedIn = Date.now() - started;
      await eventually('every Pod replaced and Ready', async () => {
        const pods = await listPods();
        return nodes.every((n) => pods.some((p) => p.metadata.name === n.name && p.metadata.uid !== n.uid && isReady(p))) || undefined;
      }, 180_000, () => bed.runner.problems.join('\n'));
      backIn = Date.now() - started;
    } finally {
      await flux.stop();
      await sampler.stop();
      await load.stop();
      await producer.disconnect();
    }
    const b = budgetText(await budgets());

    // The budgets did the work: some evictions were refused, and each original Pod went once.
    const refusals = evictions.reduce((n, e) => n + e.refusals, 0);
    assert.ok(refusals > 0, 'no eviction was ever refused: the drain did not test the budgets');
    assert.deepEqual(evictions.map((e) => e.uid).sort(), nodes.map((n) => n.uid).sort(), 'every original Pod evicted, once');
    for (const n of nodes) {
      const uids = new Set(sampler.samples.map((s) => s.uids.get(n.name)).filter((u) => u !== undefined));
      assert.equal(uids.size, 2, `${n.name}: the original and one replacement, never evicted again (${[...uids].join(', ')})`);
    }
    for (const c of checks) assert.deepEqual(c.problems, [], `when ${c.pod} was evicted (checked ${c.after} ms after): ${c.problems.join('; ')}`);
    for (const pool of POOLS) {
      const worst = sampler.samples.reduce((w, s) => (s.down[pool].length > w.down[pool].length ? s : w), sampler.samples[0]!);
      assert.ok(worst.down[pool].length <= 1, `${pool}s: ${worst.down[pool].join(', ')} down at once (${new Date(worst.at).toISOString()}; ${worst.budgets})`);
    }
    assert.ok(sampler.samples.length > 50, `only ${sampler.samples.length} samples`);

    // The cluster is the same cluster: the voters (ids and directories: the disks stayed), the topics.
    const q = await bed.admin.describeQuorum();
    assert.ok(q.leaderId >= 0);
    assert.deepEqual(q.voters.map((v) => `${v.id}:${v.directoryId}`).sort(), votersBefore);
    assert.deepEqual((await bed.admin.listTopics()).sort(), topicsBefore);
    const consumeStart = Date.now();
    const seen = await consumeAll(bed.kafka, TOPIC, load.acked);
    const consumedIn = Date.now() - consumeStart;
    const lost = [...load.acked].filter((v) => !seen.has(v));
    assert.equal(lost.length, 0, `${lost.length} of ${load.acked.size} acknowledged messages lost: ${lost.slice(0, 6).map((v) => `${v} (${load.where.get(v)})`).join(', ')}`);

    const order = [...evictions].sort((x, y) => x.at - y.at).map((e) => `${e.name} +${((e.at - t0) / 1000).toFixed(1)}s (${e.refusals}×429)`);
    process.stdout.write(`# drain: cluster up in ${(startedIn / 1000).toFixed(0)} s, budgets and topic in ${(setupIn / 1000).toFixed(1)} s, read back in ${(consumedIn / 1000).toFixed(1)} s; every eviction accepted after ${(drainedIn / 1000).toFixed(1)} s, every Pod back Ready after ${(backIn / 1000).toFixed(1)} s\n`
      + `# evictions: ${order.join(', ')}\n`
      + `# ${refusals} refusals (429); checks ${checks.map((c) => `${c.pod} ${c.after} ms${c.running ? '' : ' (already stopped)'}`).join(', ')}\n`
      + `# first refusal: ${evictions.find((e) => e.refusal)?.refusal?.slice(0, 300)}\n`
      + `# ${load.acked.size} acknowledged, 0 lost (${load.skipped} not acknowledged); ${flux.applies} GitOps applies${flux.errors.length ? `, ${flux.errors.length} failed: ${flux.errors[0]}` : ''}; ${sampler.samples.length} samples; budgets at the end: ${b}\n`);
  });
});
