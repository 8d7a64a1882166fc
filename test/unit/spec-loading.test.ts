/**
 * Valid YAML is accepted as users write it (merge keys, shared anchors,
 * numeric quantities), numbers are kept exactly, and warnings do not fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProperties } from '../../lib/config/properties-format.js';
import { parseSpecYaml } from '../../lib/spec/load.js';
import { specWarnings, validateSpec } from '../../lib/spec/validate.js';
import { synthObjects } from '../support/synth.js';

const SMALL = `config:
  offsets.topic.replication.factor: 1
  transaction.state.log.replication.factor: 1
  transaction.state.log.min.isr: 1
  share.coordinator.state.topic.replication.factor: 1
`;
const only = (text: string) => parseSpecYaml(text, 'spec.yaml')[0]!.spec;
const brokerProps = (spec: unknown, id: number) => {
  const cm = synthObjects(spec).find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith(`-broker-${id}`))!;
  return parseProperties((cm as any).data['server.properties']);
};

test('merge keys and an anchor shared by 120 brokers are accepted', () => {
  const brokers = Array.from({ length: 120 }, (_, i) => `  - { <<: *broker, id: ${i} }`).join('\n');
  const spec = only(`name: merged\n${SMALL}template: &broker { rack: zone-a, config: { num.io.threads: 4 } }\nbrokers:\n${brokers}\n`) as any;
  delete spec.template;
  assert.deepEqual(validateSpec(spec), []);
  assert.equal(spec.brokers.length, 120);
  assert.equal(brokerProps(spec, 119)['num.io.threads'], '4');
  assert.equal(brokerProps(spec, 119)['broker.rack'], 'zone-a');
});

test('quantities written as YAML numbers (cpu: 0.5) are accepted and rendered as strings', () => {
  const spec = only(`name: q\n${SMALL}brokers: [ { id: 0, resources: { requests: { cpu: 0.5, memory: 2Gi }, limits: { cpu: 2 } } } ]\n`);
  assert.deepEqual(validateSpec(spec), []);
  const pod = synthObjects(spec).find((o) => o.kind === 'Pod' && o.metadata.name === 'q-broker-0') as any;
  const { limits, requests } = pod.spec.containers[0].resources;
  assert.deepEqual([limits.cpu, requests.cpu, requests.memory], ['2', '0.5', '2Gi']);
});

test('64-bit Kafka values reach server.properties exactly; a JavaScript number that lost digits is refused', () => {
  const spec = only(`name: big\n${SMALL}brokers: [ { id: 0, config: { log.retention.bytes: 9223372036854775807, log.segment.bytes: 1073741824 } } ]\n`);
  assert.deepEqual(validateSpec(spec), []);
  const props = brokerProps(spec, 0);
  assert.equal(props['log.retention.bytes'], '9223372036854775807');
  assert.equal(props['log.segment.bytes'], '1073741824');
  const rounded = { name: 'big', brokers: [{ id: 0, config: { 'log.retention.bytes': 9223372036854775807 } }] };
  assert.ok(validateSpec(rounded).some((p) => p.path === 'brokers[0].config["log.retention.bytes"]'
    && /beyond the range JavaScript numbers hold exactly \(2\^53\); write it as a string/.test(p.message)));
});

test('an even quorum is valid but warned about', () => {
  const spec = only(`name: even\n${SMALL}controllers: { replicas: 4 }\nbrokers: [ { id: 0 } ]\n`);
  assert.deepEqual(validateSpec(spec), []);
  assert.deepEqual(specWarnings(spec).map((w) => `${w.path}: ${w.message}`),
    ['controllers.replicas: 4 controllers tolerate no more failures than 3; an odd number is usually better']);
  const combined = only(`name: even\n${SMALL}controllers: { mode: combined, brokerIds: [0, 1] }\nbrokers: [ { id: 0 }, { id: 1 } ]\n`);
  assert.equal(specWarnings(combined).length, 1);
  assert.deepEqual(specWarnings(only(`name: odd\n${SMALL}brokers: [ { id: 0 } ]\n`)), []);
});

test('validation stays linear: 20 000 brokers validate in one pass', () => {
  const brokers = Array.from({ length: 20_000 }, (_, i) => ({ id: i, config: { 'num.io.threads': 8 } }));
  // No timing assertion (see bench/): the point is that it finishes, with no problem reported twice.
  assert.deepEqual(validateSpec({ name: 'big', controllers: { idBase: 100_000 }, config: { 'default.replication.factor': 3 }, brokers }), []);
});

test('a document that expands exponentially through aliases is refused, not expanded', () => {
  const levels = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
  for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
  assert.throws(() => parseSpecYaml(`${levels.join('\n')}\nname: bomb\n`, 'bomb.yaml'),
    /\(yaml\): the document expands to too many values through its aliases/);
});
