/** What a change of the controller set will need, said before it is made (validate --previous). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { controllersInOutput, quorumChange } from '../../lib/plan/quorum-change.js';
import { resolveSpec } from '../../lib/spec/resolve.js';
import { exampleSpec, synthYaml } from '../support/synth.js';

test('the controllers of a previous output are read from its ConfigMaps (dedicated and combined)', () => {
  assert.deepEqual([...controllersInOutput(synthYaml(exampleSpec()))], [['demo', [9000, 9001, 9002]]]);
  const combined = { name: 'small', controllers: { mode: 'combined' }, config: { 'default.replication.factor': 3 }, brokers: [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }] };
  assert.deepEqual([...controllersInOutput(synthYaml(combined))], [['small', [1, 2, 3]]]);
});

test('3 -> 5 controllers: the new ones are observers until added as voters, one at a time', () => {
  const spec = exampleSpec();
  spec.controllers.replicas = 5;
  const change = quorumChange([9000, 9001, 9002], resolveSpec(spec));
  assert.deepEqual(change.after, [9000, 9001, 9002, 9003, 9004]);
  assert.match(change.notes[0]!, /^controllers 9003, 9004 will be created and join the quorum as observers; the kafka-cdk8s controller then adds each as a voter \(AddRaftVoter\) once it has caught up and every voter is caught up, one at a time/);
  assert.match(change.notes.join('\n'), /voters \{9000, 9001, 9002\} → \{9000, 9001, 9002, 9003, 9004\}: additions first/);
});

test('3 -> 1 controllers: the leaving ones are removed from the voters one at a time, and only then their objects', () => {
  const spec = exampleSpec();
  spec.controllers.replicas = 1;
  const notes = quorumChange([9000, 9001, 9002], resolveSpec(spec)).notes.join('\n');
  assert.match(notes, /controllers 9001, 9002 leave the spec: the kafka-cdk8s controller removes each from the voters \(RemoveRaftVoter\) while every other voter is caught up, one at a time \(the active controller first restarts to hand leadership over\), and only then deletes their Pod, Service and ConfigMap/);
  assert.deepEqual(quorumChange([9000, 9001, 9002], resolveSpec(exampleSpec())).notes, [], 'no change, nothing to say');
});

test('validate --previous prints it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-previous-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'demo.k8s.yaml'), synthYaml(exampleSpec()));
  const spec = exampleSpec();
  spec.controllers.replicas = 5;
  writeFileSync(join(dir, 'spec.yaml'), stringify(spec));
  const cli = new URL('../../bin/kafka-cdk8s.js', import.meta.url).pathname;
  const result = spawnSync(process.execPath, [cli, 'validate', '-f', join(dir, 'spec.yaml'), '--previous', dir], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /controllers: controllers 9003, 9004 will be created and join the quorum as observers/);
});
