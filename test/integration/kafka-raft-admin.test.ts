/**
 * Proves the KIP-853 / KIP-584 / KIP-919 admin calls of our Kafka adapter (addRaftVoter,
 * removeRaftVoter, describeFeatures[At], describeControllers, updateFeatures) against a real
 * KRaft cluster of the pinned Kafka version with a DYNAMIC quorum: 3 voters formatted with
 * --initial-controllers, a 4th controller formatted with --no-initial-controllers (it joins
 * as an observer), and one broker. The whole cluster is formatted at release 4.3, below the
 * latest metadata.version, so that a real feature upgrade can be shown.
 *
 * test/support/kafka-cluster.ts builds static quorums (controller.quorum.voters); this file
 * lays out its own nodes with the same per-node helpers (kafka-process.ts).
 * Needs `bash test/bed/install-kafka.sh` first.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKafkaAdmin, type KafkaAdmin, type NodeFeatures, type QuorumDescription } from '../../lib/controller/adapters/kafka/admin.js';
import { KafkaConnection } from '../../lib/controller/adapters/kafka/connection.js';
import { KafkaProtocolError } from '../../lib/controller/adapters/kafka/errors.js';
import { AddRaftVoter, DescribeCluster, RemoveRaftVoter, UpdateFeatures } from '../../lib/controller/adapters/kafka/requests.js';
import { kafkaHome, randomClusterId, renderProperties, startKafkaNodeListening, type KafkaNodeHandle } from '../support/kafka-process.js';
import { allocatePorts } from '../support/ports.js';
import { HOST, TEST_NODE_CONFIG } from '../support/kafka-cluster.js';
import { eventually } from '../support/wait.js';

const VOTERS = [9000, 9001, 9002];
const OBSERVER = 9003;
const BROKER = 0;
/** Formatting release: metadata.version 30 in Kafka 4.4, below its latest (33). */
const FORMAT_RELEASE = '4.3';

interface Node {
  id: number;
  roles: 'controller' | 'broker';
  port: number;
  dir: string;
  props: string;
  formatArgs: string[];
  handle?: KafkaNodeHandle;
}

let dir: string;
let nodes: Node[];
let admin: KafkaAdmin;
/** Directory ids we chose for the initial voters. */
const voterDirs = new Map<number, string>();
/** Directory id the storage tool gave the observer (read from its meta.properties). */
let observerDir: string;
const byId = (id: number): Node => nodes.find((n) => n.id === id)!;
const endpoint = (id: number): { host: string; port: number } => ({ host: HOST, port: byId(id).port });


const timedOut = (e: unknown): e is KafkaProtocolError => e instanceof KafkaProtocolError && e.type === 'REQUEST_TIMED_OUT';

/**
 * Kafka answers REQUEST_TIMED_OUT while an earlier voter change is uncommitted, and also when
 * its own change did not commit in time (it may still commit later). For calls that must be
 * refused anyway, sending again is harmless.
 */
async function retryingTimeouts<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!timedOut(e) || Date.now() > deadline) throw e;
      console.log(`# retrying after ${e.message}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/**
 * A voter change that must take effect: after REQUEST_TIMED_OUT, wait a moment for the change
 * to show in describeQuorum (it may commit late), and only then send it again; a resend that
 * Kafka refuses because the change is already there counts as done. The way a
 * level-triggered caller should use addRaftVoter / removeRaftVoter.
 */
async function voterChange(send: () => Promise<void>, done: (q: QuorumDescription) => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await send();
      return;
    } catch (e) {
      if (attempt > 0 && done(await admin.describeQuorum())) return;
      if (!timedOut(e) || Date.now() > deadline) throw e;
      console.log(`# ${e.message}`);
      const settled = Date.now() + 2_000;
      while (Date.now() < settled) {
        if (done(await admin.describeQuorum())) return;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}

const isVoter = (id: number, directoryId: string) => (q: QuorumDescription): boolean => q.voters.some((v) => v.id === id && v.directoryId === directoryId);

/** Asserts a KafkaProtocolError of this type whose message matches. */
async function refused(p: Promise<unknown>, type: string, message: RegExp): Promise<KafkaProtocolError> {
  let err: unknown;
  await assert.rejects(p, (e: unknown) => {
    err = e;
    return e instanceof KafkaProtocolError && e.type === type && message.test(e.message);
  });
  return err as KafkaProtocolError;
}

function readDirectoryId(n: Node): string {
  const meta = readFileSync(join(n.dir, 'data', 'meta.properties'), 'utf8');
  const m = /^directory\.id=(.+)$/m.exec(meta);
  if (!m) throw new Error(`no directory.id in ${n.dir}/data/meta.properties:\n${meta}`);
  return m[1]!.trim();
}

const sortedIds = (xs: { id: number }[]): number[] => xs.map((x) => x.id).sort((a, b) => a - b);
const memberKeys = (q: QuorumDescription, of: 'voters' | 'observers'): [number, string | null][] => q[of].map((m): [number, string | null] => [m.id, m.directoryId]).sort((a, b) => a[0] - b[0]);

before(async () => {
  const t0 = Date.now();
  kafkaHome(); // fail fast with the install hint
  dir = mkdtempSync(join(tmpdir(), 'kafka-cdk8s-raft-admin-'));
  const clusterId = randomClusterId();
  const ports = await allocatePorts(VOTERS.length + 2);
  // Directory ids: any 16 random bytes; randomClusterId() already avoids a leading '-'.
  for (const id of VOTERS) voterDirs.set(id, randomClusterId());
  const bootstrap = VOTERS.map((_, i) => `${HOST}:${ports[i]}`).join(',');
  const initialControllers = VOTERS.map((id, i) => `${id}@${HOST}:${ports[i]}:${voterDirs.get(id)}`).join(',');
  const specs: Omit<Node, 'dir' | 'props'>[] = [
    ...VOTERS.map((id, i) => ({ id, roles: 'controller' as const, port: ports[i]!, formatArgs: ['--initial-controllers', initialControllers] })),
    { id: OBSERVER, roles: 'controller', port: ports[VOTERS.length]!, formatArgs: ['--no-initial-controllers'] },
    { id: BROKER, roles: 'broker', port: ports[VOTERS.length + 1]!, formatArgs: ['--no-initial-controllers'] },
  ];
  nodes = specs.map((s) => {
    const nodeDir = join(dir, `node-${s.id}`);
    mkdirSync(nodeDir, { recursive: true });
    const listener = s.roles === 'controller' ? 'CONTROLLER' : 'PLAINTEXT';
    const props: Record<string, string> = {
      'process.roles': s.roles,
      'node.id': String(s.id),
      'controller.quorum.bootstrap.servers': bootstrap,
      // Explicit: an observer that joins on its own would make addRaftVoter moot.
      'controller.quorum.auto.join.enable': 'false',
      'controller.listener.names': 'CONTROLLER',
      listeners: `${listener}://${HOST}:${s.port}`,
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'log.dirs': join(nodeDir, 'data'),
      ...TEST_NODE_CONFIG,
    };
    if (s.roles === 'broker') {
      Object.assign(props, {
        'advertised.listeners': `PLAINTEXT://${HOST}:${s.port}`,
        'inter.broker.listener.name': 'PLAINTEXT',
        'offsets.topic.replication.factor': '1',
        'transaction.state.log.replication.factor': '1',
        'transaction.state.log.min.isr': '1',
        'share.coordinator.state.topic.replication.factor': '1',
        'share.coordinator.state.topic.min.isr': '1',
      });
    }
    const propsFile = join(nodeDir, 'server.properties');
    writeFileSync(propsFile, renderProperties(props));
    return { ...s, dir: nodeDir, props: propsFile, formatArgs: ['--release-version', FORMAT_RELEASE, ...s.formatArgs] };
  });
  const started = await Promise.allSettled(
    nodes.map(async (n) => {
      n.handle = await startKafkaNodeListening({
        propertiesFile: n.props,
        logDir: join(n.dir, 'logs'),
        clusterId,
        formatArgs: n.formatArgs,
        name: `${n.roles}-${n.id}`,
        ports: [n.port],
        timeoutMs: 180_000, // ~15 s on an idle 2-core machine; generous for a shared one
      });
    }),
  );
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  observerDir = readDirectoryId(byId(OBSERVER));
  admin = createKafkaAdmin({ brokers: [`${HOST}:${byId(BROKER).port}`], clientId: 'kafka-raft-admin-test' });
  // Ready: the broker answers and the leader sees both the observer controller and the broker.
  await eventually(
    'observer and broker in the quorum',
    async () => {
      const q = await admin.describeQuorum();
      const ids = q.observers.map((o) => o.id);
      return ids.includes(OBSERVER) && ids.includes(BROKER) ? q : undefined;
    },
    120_000,
  );
  console.log(`# dynamic quorum (3 voters + observer controller + broker) ready in ${Date.now() - t0} ms`);
});

after(async () => {
  await admin?.close().catch(() => undefined);
  await Promise.all((nodes ?? []).map((n) => n.handle?.kill()));
  if (dir && process.env.KAFKA_TEST_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

describe('request versions of the pinned Kafka', () => {
  it('a broker and a controller speak AddRaftVoter v0-1, RemoveRaftVoter v0, UpdateFeatures v0-2, DescribeCluster v0-2', async () => {
    for (const addr of [`${HOST}:${byId(BROKER).port}`, `${HOST}:${byId(VOTERS[0]!).port}`]) {
      const c = await KafkaConnection.open(addr);
      try {
        const range = (key: number): string => {
          const r = c.supportedVersions(key);
          return r ? `${r.minVersion}-${r.maxVersion}` : 'none';
        };
        assert.equal(range(AddRaftVoter.apiKey), '0-1', addr);
        assert.equal(range(RemoveRaftVoter.apiKey), '0-0', addr);
        assert.equal(range(UpdateFeatures.apiKey), '0-2', addr);
        assert.equal(range(DescribeCluster.apiKey), '0-2', addr);
        // The features of the ApiVersions exchange at open are kept on the connection.
        assert.ok(c.features.finalized.some((f) => f.name === 'metadata.version'), JSON.stringify(c.features));
      } finally {
        c.close();
      }
    }
  });
});

describe('quorum and controllers', () => {
  it('describeQuorum: the 3 initial voters with the directory ids we formatted, the observer with its own', async () => {
    const q = await admin.describeQuorum();
    assert.deepEqual(
      memberKeys(q, 'voters'),
      VOTERS.map((id) => [id, voterDirs.get(id)!]),
    );
    assert.deepEqual(
      memberKeys(q, 'observers').find(([id]) => id === OBSERVER),
      [OBSERVER, observerDir],
    );
    assert.deepEqual(
      q.nodes.map((n) => n.nodeId).sort(),
      VOTERS,
    );
  });

  it('describeControllers: every registered controller, the observer included, with its CONTROLLER host/port', async () => {
    const res = await eventually('4 controller registrations', async () => {
      const x = await admin.describeControllers();
      return x.controllers.length === 4 ? x : undefined;
    });
    assert.deepEqual(
      res.controllers,
      [...VOTERS, OBSERVER].map((id) => ({ id, host: HOST, port: byId(id).port, rack: null })),
    );
    assert.equal(res.activeControllerId, (await admin.describeQuorum()).leaderId);
    // Any controller answers, the observer too.
    assert.deepEqual(sortedIds((await admin.describeControllers(endpoint(OBSERVER))).controllers), [...VOTERS, OBSERVER]);
  });

  it('describeControllers via a broker is refused: brokers only describe broker endpoints', async () => {
    await refused(admin.describeControllers(endpoint(BROKER)), 'MISMATCHED_ENDPOINT_TYPE', /endpoint of type BROKER/);
  });
});

describe('voter changes (KIP-853)', () => {
  const controllerEndpoint = (port: number) => [{ name: 'CONTROLLER', host: HOST, port }];

  it('addRaftVoter without an endpoint for the leader\'s controller listener name is refused', async () => {
    const err = await refused(
      admin.addRaftVoter({ id: OBSERVER, directoryId: observerDir, listeners: [{ name: 'OTHER', host: HOST, port: byId(OBSERVER).port }] }),
      'INVALID_REQUEST',
      /default listener .*CONTROLLER/,
    );
    console.log(`# ${err.message}`);
  });

  it('addRaftVoter with an endpoint the leader cannot reach is refused (the leader asks it for ApiVersions first)', async () => {
    // First on purpose: the leader's client keys connections by node id. Once it has talked
    // to node 9003 (a successful add), an add naming a closed port for 9003 was seen to
    // succeed over the old connection; and right after this failure, a good add of 9003
    // failed the same way for a few seconds.
    const [closedPort] = await allocatePorts(1);
    const err = await refused(
      admin.addRaftVoter({ id: OBSERVER, directoryId: observerDir, listeners: controllerEndpoint(closedPort!) }),
      'REQUEST_TIMED_OUT',
      /API_VERSIONS returned an error|not ready to receive requests/,
    );
    console.log(`# ${err.message}`);
    assert.ok(!(await admin.describeQuorum()).voters.some((v) => v.id === OBSERVER));
  });

  it('addRaftVoter(observer, its directory id, its CONTROLLER endpoint) makes it a voter', async () => {
    const t0 = Date.now();
    await voterChange(() => admin.addRaftVoter({ id: OBSERVER, directoryId: observerDir, listeners: controllerEndpoint(byId(OBSERVER).port) }), isVoter(OBSERVER, observerDir));
    console.log(`# addRaftVoter took ${Date.now() - t0} ms`);
    // Resolved means committed: the leader's view has it right away.
    const q = await admin.describeQuorum();
    assert.deepEqual(
      memberKeys(q, 'voters'),
      [...VOTERS.map((id): [number, string] => [id, voterDirs.get(id)!]), [OBSERVER, observerDir]],
    );
    assert.ok(!q.observers.some((o) => o.id === OBSERVER));
    assert.deepEqual(q.nodes.find((n) => n.nodeId === OBSERVER)?.listeners, [{ name: 'CONTROLLER', ...endpoint(OBSERVER) }]);
  });

  it('adding the same voter again is refused with DUPLICATE_VOTER', async () => {
    const err = await refused(
      retryingTimeouts(() => admin.addRaftVoter({ id: OBSERVER, directoryId: observerDir, listeners: controllerEndpoint(byId(OBSERVER).port) })),
      'DUPLICATE_VOTER',
      new RegExp(`voter id for ReplicaKey\\(id=${OBSERVER}.*already part of the set of voters`),
    );
    console.log(`# ${err.message}`);
  });

  it('removeRaftVoter with the right id but a wrong directory id is refused with VOTER_NOT_FOUND', async () => {
    const err = await refused(
      retryingTimeouts(() => admin.removeRaftVoter({ id: OBSERVER, directoryId: randomClusterId() })),
      'VOTER_NOT_FOUND',
      /Cannot remove voter/,
    );
    console.log(`# ${err.message}`);
    assert.ok((await admin.describeQuorum()).voters.some((v) => v.id === OBSERVER));
  });

  it('removeRaftVoter(id, directory id) makes it an observer again', async () => {
    await voterChange(() => admin.removeRaftVoter({ id: OBSERVER, directoryId: observerDir }), (q) => !isVoter(OBSERVER, observerDir)(q));
    const q = await admin.describeQuorum();
    assert.deepEqual(
      memberKeys(q, 'voters'),
      VOTERS.map((id) => [id, voterDirs.get(id)!]),
    );
    // The controller keeps running and fetching: it shows up as an observer again.
    await eventually('observer again', async () => ((await admin.describeQuorum()).observers.some((o) => o.id === OBSERVER && o.directoryId === observerDir) ? true : undefined));
  });
});

describe('features (KIP-584)', () => {
  let initial: NodeFeatures;

  it('describeFeatures: metadata.version and kraft.version finalized (kraft.version 1: dynamic quorum), supported ranges', async () => {
    initial = await admin.describeFeatures();
    assert.equal(initial.finalized['kraft.version']?.max, 1, JSON.stringify(initial));
    // Release 4.3 = metadata.version 30 in Kafka 4.4.
    assert.equal(initial.finalized['metadata.version']?.max, 30, JSON.stringify(initial));
    assert.ok(initial.finalizedEpoch >= 0);
    const mv = initial.supported['metadata.version']!;
    assert.ok(mv.min <= 30 && mv.max > 30, JSON.stringify(mv));
    // kraft.version supports 0..1: only listed with ApiVersions v4+ (v3 drops min-0 features).
    assert.deepEqual(initial.supported['kraft.version'], { min: 0, max: 1 });
    // By broker id: the same view.
    assert.deepEqual((await admin.describeFeatures(BROKER)).finalized, initial.finalized);
  });

  it('describeFeaturesAt(a controller endpoint of describeQuorum().nodes) gives the controller\'s view', async () => {
    const q = await admin.describeQuorum();
    const l = q.nodes.find((n) => n.nodeId === q.leaderId)!.listeners[0]!;
    const f = await admin.describeFeaturesAt({ host: l.host, port: l.port });
    assert.equal(f.finalized['metadata.version']?.max, 30);
    assert.equal(f.finalized['kraft.version']?.max, 1);
    assert.deepEqual(f.supported['metadata.version'], initial.supported['metadata.version']);
    const o = await admin.describeFeaturesAt(endpoint(OBSERVER));
    assert.equal(o.finalized['metadata.version']?.max, 30);
  });

  it('updateFeatures validateOnly to the current level succeeds and changes nothing', async () => {
    await admin.updateFeatures([{ feature: 'metadata.version', maxVersionLevel: 30 }], { validateOnly: true });
    const f = await admin.describeFeatures();
    assert.deepEqual(f.finalized, initial.finalized);
    // A broker's FinalizedFeaturesEpoch is the offset of its metadata image: it moves with any
    // metadata record (heartbeats, registrations), not only feature changes.
    assert.ok(f.finalizedEpoch >= initial.finalizedEpoch);
  });

  it('updateFeatures validateOnly to the latest level succeeds and changes nothing', async () => {
    await admin.updateFeatures([{ feature: 'metadata.version', maxVersionLevel: initial.supported['metadata.version']!.max }], { validateOnly: true });
    assert.equal((await admin.describeFeatures()).finalized['metadata.version']?.max, 30);
  });

  it('updateFeatures above the supported max is refused with Kafka\'s message', async () => {
    const above = initial.supported['metadata.version']!.max + 1;
    const err = await refused(admin.updateFeatures([{ feature: 'metadata.version', maxVersionLevel: above }]), 'INVALID_UPDATE_VERSION', /metadata\.version/);
    console.log(`# ${err.message}`);
    const err2 = await refused(admin.updateFeatures([{ feature: 'kraft.version', maxVersionLevel: 2 }], { validateOnly: true }), 'INVALID_UPDATE_VERSION', /kraft\.version/);
    console.log(`# ${err2.message}`);
  });

  it('updateFeatures to a lower level without a downgrade type is refused', async () => {
    const err = await refused(admin.updateFeatures([{ feature: 'metadata.version', maxVersionLevel: 29 }]), 'INVALID_UPDATE_VERSION', /metadata\.version/);
    console.log(`# ${err.message}`);
  });

  it('updateFeatures metadata.version to the latest: the finalized level changes on brokers and controllers', async () => {
    const latest = initial.supported['metadata.version']!.max;
    await admin.updateFeatures([{ feature: 'metadata.version', maxVersionLevel: latest }]);
    // The broker learns the new level from the metadata log, a moment after the commit.
    const f = await eventually('broker sees the new metadata.version', async () => {
      const x = await admin.describeFeatures();
      return x.finalized['metadata.version']?.max === latest ? x : undefined;
    });
    assert.ok(f.finalizedEpoch > initial.finalizedEpoch, `${f.finalizedEpoch} > ${initial.finalizedEpoch}`);
    await eventually('every controller sees it', async () => {
      for (const id of [...VOTERS, OBSERVER]) if ((await admin.describeFeaturesAt(endpoint(id))).finalized['metadata.version']?.max !== latest) return undefined;
      return true;
    });
  });
});
