/**
 * The pure decisions behind the KRaft operations: the next voter change (decide/quorum.ts)
 * and finalizing or refusing after a Kafka version change (decide/features.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextQuorumStep, type QuorumInput, type QuorumVoterState } from '../../lib/controller/decide/quorum.js';
import { downgradeRefusal, KRAFT_VERSION, METADATA_VERSION, nextFeatureStep } from '../../lib/controller/decide/features.js';
import { metadataVersionOf } from '../../lib/config/metadata-versions.js';

const LAG = 50;
/** Leader's clock at the freshest fetch; a live replica fetched just now. */
const NOW = 1_000_000;
const v = (id: number, lag = 0, directoryId = `dir-${id}`, lastFetchTimestamp = NOW): QuorumVoterState => ({ id, directoryId, lag, lastFetchTimestamp });
const node = (id: number, ready = true, roles: Array<'broker' | 'controller'> = ['controller']) => ({ name: `c-${id}`, id, roles, ready });
const input = (o: Partial<QuorumInput> & Pick<QuorumInput, 'quorum'>): QuorumInput => ({
  desired: [1, 2, 3],
  nodes: [node(1), node(2), node(3)],
  caughtUpLag: LAG,
  ...o,
});

test('quorum: nothing to do when the voters are the spec\'s controllers', () => {
  assert.deepEqual(nextQuorumStep(input({ quorum: { leaderId: 1, voters: [v(1), v(2), v(3)], observers: [] } })), { kind: 'none' });
});

test('quorum: no change without a leader, and none while a restart is under way', () => {
  assert.equal(nextQuorumStep(input({ quorum: { leaderId: -1, voters: [v(1), v(2)], observers: [] } })).kind, 'wait');
  assert.equal(nextQuorumStep(input({ quorum: undefined })).kind, 'wait');
  const busy = nextQuorumStep(input({ desired: [1, 2, 3, 4], nodes: [node(1), node(2), node(3), node(4)], busy: 'restarts pending (b-0)', quorum: { leaderId: 1, voters: [v(1), v(2), v(3)], observers: [v(4)] } }));
  assert.deepEqual(busy, { kind: 'wait', reason: 'restarts pending (b-0)' });
});

test('quorum: a new controller is added once it has caught up as an observer and every voter is caught up, lowest id first', () => {
  const base = { desired: [1, 2, 3, 4, 5], nodes: [node(1), node(2), node(3), node(4), node(5)] };
  const catching = nextQuorumStep(input({ ...base, quorum: { leaderId: 1, voters: [v(1), v(2), v(3)], observers: [v(4, 900), v(5)] } }));
  assert.equal(catching.kind, 'wait');
  assert.match((catching as { reason: string }).reason, /controller 4 is catching up as an observer \(lag 900\)/);
  const lagging = nextQuorumStep(input({ ...base, quorum: { leaderId: 1, voters: [v(1), v(2), v(3, 400)], observers: [v(4), v(5)] } }));
  assert.match((lagging as { reason: string }).reason, /adding controller 4 waits: voter 3 \(lag 400\) not caught up/);
  const notReady = nextQuorumStep(input({ ...base, nodes: [node(1), node(2), node(3), node(4, false), node(5)], quorum: { leaderId: 1, voters: [v(1), v(2), v(3)], observers: [v(4), v(5)] } }));
  assert.equal(notReady.kind, 'wait');
  assert.deepEqual(nextQuorumStep(input({ ...base, quorum: { leaderId: 1, voters: [v(1), v(2), v(3)], observers: [v(4), v(5)] } })),
    { kind: 'add', id: 4, directoryId: 'dir-4', node: 'c-4', reason: 'controller 4 has caught up as an observer: adding it as a voter' });
  const noPod = nextQuorumStep(input({ ...base, nodes: [node(1), node(2), node(3)], quorum: { leaderId: 1, voters: [v(1), v(2), v(3)], observers: [] } }));
  assert.match((noPod as { reason: string }).reason, /controller 4 is in the spec but has no ConfigMap yet/);
});

test('quorum: additions come before removals (a replacement never shrinks the quorum first)', () => {
  const step = nextQuorumStep(input({ desired: [1, 2, 4], nodes: [node(1), node(2), node(3), node(4)], quorum: { leaderId: 1, voters: [v(1), v(2), v(3)], observers: [v(4)] } }));
  assert.equal(step.kind, 'add');
});

test('quorum: a controller that left is removed while every other voter is caught up; the leader steps down first', () => {
  const nodes = [node(1), node(2), node(3), node(4), node(5)];
  const q = (leaderId: number, lag3 = 0) => ({ leaderId, voters: [v(1), v(2), v(3, lag3), v(4), v(5)], observers: [] });
  assert.deepEqual(nextQuorumStep(input({ desired: [1, 2, 3], nodes, quorum: q(1) })),
    { kind: 'remove', id: 4, directoryId: 'dir-4', reason: 'controller 4 left the spec: removing it from the voters' });
  const leader = nextQuorumStep(input({ desired: [1, 2, 3], nodes, quorum: q(4) }));
  assert.equal(leader.kind, 'step-down');
  assert.equal((leader as { node: string }).node, 'c-4');
  const unhealthy = nextQuorumStep(input({ desired: [1, 2, 3], nodes, quorum: q(1, 5000) }));
  assert.match((unhealthy as { reason: string }).reason, /removing controller 4 waits: voter 3 \(lag 5000\) not caught up/);
  const lagUnknown = nextQuorumStep(input({ desired: [1, 2, 3], nodes: nodes.slice(0, 4), quorum: { leaderId: 1, voters: [v(1), v(2), v(3, -1), v(4)], observers: [] } }));
  assert.equal(lagUnknown.kind, 'wait', 'a voter whose lag is unknown is not counted as caught up');
});

test('quorum: without the cluster document nobody is removed or retired, but a replaced disk is still swapped', () => {
  const nodes = [node(1), node(2), node(3), node(4)];
  assert.deepEqual(nextQuorumStep(input({ desired: undefined, nodes, quorum: { leaderId: 1, voters: [v(1), v(2), v(3), v(4)], observers: [] } })), { kind: 'none' });
  assert.deepEqual(nextQuorumStep(input({ desired: undefined, nodes, quorum: { leaderId: 1, voters: [v(1), v(2), v(3)], observers: [v(4)] } })), { kind: 'none' });
  const swap = nextQuorumStep(input({ desired: undefined, quorum: { leaderId: 1, voters: [v(1), v(2), v(3, -1, 'old')], observers: [v(3, 0, 'new')] } }));
  assert.equal(swap.kind, 'remove');
});

test('quorum: a wiped disk: remove the old (id, directory) once the new one caught up, then add the new one', () => {
  const before = { leaderId: 1, voters: [v(1), v(2), v(3, -1, 'old-dir')], observers: [v(3, 700, 'new-dir')] };
  const waiting = nextQuorumStep(input({ nodes: [node(1), node(2), node(3, false)], quorum: before }));
  assert.match((waiting as { reason: string }).reason, /controller 3 came back with a new disk \(directory new-dir\); waiting for it to catch up/);
  const caught = { ...before, observers: [v(3, 0, 'new-dir')] };
  assert.deepEqual(nextQuorumStep(input({ nodes: [node(1), node(2), node(3, false)], quorum: caught })),
    { kind: 'remove', id: 3, directoryId: 'old-dir', reason: 'controller 3 came back with a new disk: removing its old directory old-dir, then adding new-dir' });
  const othersBehind = { ...caught, voters: [v(1), v(2, 300), v(3, -1, 'old-dir')] };
  assert.equal(nextQuorumStep(input({ quorum: othersBehind })).kind, 'wait');
  // After the removal the node is an observer like any new controller (its readiness follows).
  const after = { leaderId: 1, voters: [v(1), v(2)], observers: [v(3, 0, 'new-dir')] };
  assert.deepEqual(nextQuorumStep(input({ quorum: after })), { kind: 'add', id: 3, directoryId: 'new-dir', node: 'c-3', reason: 'controller 3 has caught up as an observer: adding it as a voter' });
  const only = nextQuorumStep(input({ desired: [1], nodes: [node(1)], quorum: { leaderId: 1, voters: [v(1, -1, 'old')], observers: [v(1, 0, 'new')] } }));
  assert.match((only as { reason: string }).reason, /only voter/);
});

test('quorum: a controller that left and is no voter is retired; a leaving broker never is', () => {
  const step = nextQuorumStep(input({ nodes: [node(1), node(2), node(3), node(4)], quorum: { leaderId: 1, voters: [v(1), v(2), v(3)], observers: [v(4)] } }));
  assert.equal(step.kind, 'retire');
  assert.equal((step as { node: string }).node, 'c-4');
  const combined = nextQuorumStep(input({ nodes: [node(1), node(2), node(3), node(4, true, ['broker', 'controller'])], quorum: { leaderId: 1, voters: [v(1), v(2), v(3)], observers: [] } }));
  assert.deepEqual(combined, { kind: 'none' });
  const never = nextQuorumStep(input({ desired: [1], nodes: [node(1)], quorum: { leaderId: 1, voters: [v(1), v(2)], observers: [] } }));
  assert.equal(never.kind, 'remove', 'the last but one voter can go');
  assert.equal(nextQuorumStep(input({ desired: [], nodes: [node(1)], quorum: { leaderId: 1, voters: [v(1)], observers: [] } })).kind, 'wait', 'never the last voter');
});

const mv = (release: string) => metadataVersionOf(release)!.level;

test('features: nothing is finalized until every node runs the new version, then up to the lowest level every node supports', () => {
  const finalized = { [METADATA_VERSION]: mv('4.3'), [KRAFT_VERSION]: 1 };
  const desired = { kafkaVersion: '4.4.0' };
  const waiting = nextFeatureStep({ desired, finalized, unsettled: 'restarts pending' });
  assert.equal(waiting.kind, 'wait');
  assert.equal(nextFeatureStep({ desired, finalized }).kind, 'wait', 'not every node was asked');
  const partial = nextFeatureStep({ desired, finalized, supported: { [METADATA_VERSION]: mv('4.3'), [KRAFT_VERSION]: 1 } });
  assert.equal(partial.kind, 'wait', 'a node still supports only 4.3');
  const step = nextFeatureStep({ desired, finalized, supported: { [METADATA_VERSION]: mv('4.4'), [KRAFT_VERSION]: 1 } });
  assert.equal(step.kind, 'finalize');
  assert.deepEqual((step as { updates: unknown }).updates, [{ feature: METADATA_VERSION, from: mv('4.3'), to: mv('4.4') }]);
  assert.match((step as { reason: string }).reason, /one-way/);
  const kraft = nextFeatureStep({ desired, finalized: { ...finalized, [KRAFT_VERSION]: 0 }, supported: { [METADATA_VERSION]: mv('4.4'), [KRAFT_VERSION]: 1 } });
  assert.deepEqual((kraft as { updates: unknown }).updates, [{ feature: METADATA_VERSION, from: mv('4.3'), to: mv('4.4') }, { feature: KRAFT_VERSION, from: 0, to: 1 }]);
  assert.deepEqual(nextFeatureStep({ desired, finalized: { ...finalized, [METADATA_VERSION]: mv('4.4') } }), { kind: 'none' });
  assert.deepEqual(nextFeatureStep({ finalized }), { kind: 'none' }, 'no cluster document: nothing');
});

test('features: kafka.metadataVersion holds the level back, and a hold below the finalized level is reported, never applied', () => {
  const finalized = { [METADATA_VERSION]: mv('4.3'), [KRAFT_VERSION]: 1 };
  const supported = { [METADATA_VERSION]: mv('4.4'), [KRAFT_VERSION]: 1 };
  assert.deepEqual(nextFeatureStep({ desired: { kafkaVersion: '4.4.0', metadataVersion: '4.3' }, finalized, supported }), { kind: 'none' });
  const below = nextFeatureStep({ desired: { kafkaVersion: '4.4.0', metadataVersion: '4.3' }, finalized: { ...finalized, [METADATA_VERSION]: mv('4.4') } });
  assert.equal(below.kind, 'none');
  assert.match(below.reason ?? '', /above the hold 4\.3: it cannot go back/);
});

test('features: a downgrade below the finalized metadata.version is refused with the reason; one that Kafka can run is not', () => {
  const refusal = downgradeRefusal('4.3.1', mv('4.4'));
  assert.match(refusal ?? '', new RegExp(`^kafka.version 4\\.3\\.1 cannot run this cluster: its metadata.version is finalized at ${metadataVersionOf('4.4')!.name.replace('.', '\\.')} \\(level ${mv('4.4')}\\)`));
  assert.match(refusal ?? '', /keep kafka.version at 4\.4 or later\. No node is restarted for it\./);
  assert.equal(downgradeRefusal('4.3.1', mv('4.3')), undefined);
  assert.equal(downgradeRefusal('4.4.0', mv('4.3')), undefined);
  assert.equal(downgradeRefusal('4.3.1', undefined), undefined, 'unknown finalized level: Kafka decides');
});

test('the cluster document: the spec\'s nodes, version and hold, the same bytes for the same spec, and a broken one refused whole', async () => {
  const { resolveSpec } = await import('../../lib/spec/resolve.js');
  const { parseClusterDocument, renderClusterDocument } = await import('../../lib/render/cluster-document.js');
  const spec = { name: 'demo', namespace: 'kafka', kafka: { version: '4.4.0', metadataVersion: '4.3' }, controllers: { ids: [9002, 9000, 9001] }, brokers: [{ id: 1 }, { id: 0 }, { id: 2 }] };
  const text = renderClusterDocument(resolveSpec(spec));
  assert.equal(text, renderClusterDocument(resolveSpec(structuredClone(spec))));
  const doc = parseClusterDocument(text, 'test');
  assert.equal(doc.kafkaVersion, '4.4.0');
  assert.equal(doc.metadataVersion, '4.3');
  assert.deepEqual(doc.nodes.map((n) => `${n.id}:${n.roles.join('+')}`), ['0:broker', '1:broker', '2:broker', '9000:controller', '9001:controller', '9002:controller']);
  assert.match(text, /\n {4}\{"id":9000,"name":"demo-controller-9000","roles":\["controller"\]\},\n/, 'one line per node');
  assert.throws(() => parseClusterDocument('{"kafkaVersion":"4.4.0"}', 'ConfigMap kafka/demo-cluster'), /ConfigMap kafka\/demo-cluster: no nodes list/);
  assert.throws(() => parseClusterDocument('{"kafkaVersion":"4.4.0","nodes":[{"id":"x"}]}', 'cm'), /cm: nodes\[0\] needs id, name and roles/);
  assert.throws(() => parseClusterDocument('nope', 'cm'), /cm: not JSON/);
});

test('quorum: entries the leader keeps for replicas that stopped fetching are never caught up and never added back', () => {
  const stale = NOW - 60_000;
  // The wiped disk's old directory lingers as an observer after its removal, with a small lag.
  const afterRemoval = { leaderId: 1, voters: [v(1), v(2)], observers: [v(3, 0, 'old-dir', stale), v(3, 0, 'new-dir')] };
  assert.deepEqual(nextQuorumStep(input({ quorum: afterRemoval })),
    { kind: 'add', id: 3, directoryId: 'new-dir', node: 'c-3', reason: 'controller 3 has caught up as an observer: adding it as a voter' });
  const onlyStale = nextQuorumStep(input({ quorum: { leaderId: 1, voters: [v(1), v(2)], observers: [v(3, 0, 'old-dir', stale)] } }));
  assert.match((onlyStale as { reason: string }).reason, /controller 3 has not joined the quorum as an observer yet/);
  // A voter that stopped fetching is not caught up, whatever its last lag: it holds other changes.
  const dead = nextQuorumStep(input({ desired: [1, 2, 3, 4], nodes: [node(1), node(2), node(3), node(4)], quorum: { leaderId: 1, voters: [v(1), v(2), v(3, 0, 'dir-3', stale)], observers: [v(4)] } }));
  assert.match((dead as { reason: string }).reason, /adding controller 4 waits: voter 3 \(not fetching\) not caught up/);
  // A new directory that is not fetching is no replacement yet.
  const notYet = nextQuorumStep(input({ quorum: { leaderId: 1, voters: [v(1), v(2), v(3, 0, 'old-dir')], observers: [v(3, 0, 'new-dir', stale)] } }));
  assert.deepEqual(notYet, { kind: 'none' });
  // The leader is live by definition, whatever it reports for itself.
  assert.deepEqual(nextQuorumStep(input({ quorum: { leaderId: 1, voters: [v(1, 0, 'dir-1', -1), v(2), v(3)], observers: [] } })), { kind: 'none' });
});
