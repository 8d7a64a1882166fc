/**
 * Validation corpus: each file under test/fixtures/invalid is a broken spec
 * whose "# expect: <path>: <message>" lines list exactly the problems it must produce.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpecYaml } from '../../lib/spec/load.js';
import { validateSpec } from '../../lib/spec/validate.js';
import { SpecValidationError, type SpecProblem } from '../../lib/spec/problems.js';
import { resolveSpec } from '../../lib/spec/resolve.js';

const dir = new URL('../fixtures/invalid/', import.meta.url).pathname;

function problemsOf(file: string): string[] {
  const text = readFileSync(join(dir, file), 'utf8');
  let problems: readonly SpecProblem[];
  try {
    problems = parseSpecYaml(text, file).flatMap((s) => validateSpec(s.spec));
  } catch (err) {
    assert.ok(err instanceof SpecValidationError, `${file}: unexpected ${String(err)}`);
    problems = err.problems;
  }
  return problems.map((p) => `${p.path}: ${p.message}`);
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
  test(`invalid spec ${file} reports exactly its expected problems`, () => {
    const expected = readFileSync(join(dir, file), 'utf8').split('\n')
      .filter((l) => l.startsWith('# expect: ')).map((l) => l.slice('# expect: '.length));
    assert.ok(expected.length > 0, 'fixture declares its expected problems');
    const actual = problemsOf(file);
    for (const e of expected) {
      assert.ok(actual.some((a) => a.startsWith(e)), `missing problem:\n  ${e}\nactual:\n  ${actual.join('\n  ')}`);
    }
    assert.equal(actual.length, expected.length, `unexpected extra problems:\n  ${actual.join('\n  ')}`);
  });
}

test('resolveSpec throws one error listing every problem with path and value', () => {
  assert.throws(
    () => resolveSpec({ name: 'Bad', brokers: [{ id: 0, storage: [{ name: 'd', size: '-1' }] }] }, 'inline'),
    (err: unknown) => {
      assert.ok(err instanceof SpecValidationError);
      assert.match(err.message, /invalid cluster spec in inline \(\d+ problems\)/);
      assert.match(err.message, /- name: .*\(got "Bad"\)/);
      assert.match(err.message, /- brokers\[0\]\.storage\[0\]\.size: .*\(got "-1"\)/);
      return true;
    },
  );
});

test('a minimal valid spec has no problems and gets documented defaults', () => {
  const spec = { name: 'mini', brokers: [{ id: 0 }, { id: 1 }, { id: 2 }] };
  assert.deepEqual(validateSpec(spec), []);
  const model = resolveSpec(spec);
  assert.equal(model.namespace, 'default');
  assert.equal(model.controllerMode, 'dedicated');
  assert.deepEqual(model.voters.map((v) => v.id), [9000, 9001, 9002]);
  assert.deepEqual(model.brokers[0]!.volumes.map((v) => [v.claimName, v.size, v.mountPath]), [['mini-broker-0-data-0', '10Gi', '/var/lib/kafka/data-0']]);
  assert.match(model.brokers[0]!.image, /^apache\/kafka:4\.\d+\.\d+$/);
});

test('the cluster id is derived from namespace/name: stable, distinct, a valid Kafka id', () => {
  const a = resolveSpec({ name: 'x', namespace: 'one', brokers: [{ id: 0 }, { id: 1 }, { id: 2 }] }).clusterId;
  const again = resolveSpec({ name: 'x', namespace: 'one', brokers: [{ id: 5 }, { id: 6 }, { id: 7 }] }).clusterId;
  const other = resolveSpec({ name: 'x', namespace: 'two', brokers: [{ id: 0 }, { id: 1 }, { id: 2 }] }).clusterId;
  assert.equal(a, again);
  assert.notEqual(a, other);
  assert.match(a, /^[A-Za-z0-9][A-Za-z0-9_-]{21}$/);
  assert.equal(Buffer.from(a, 'base64url').length, 16);
  const given = resolveSpec({ name: 'x', clusterId: 'MkU3OEVBNTcwNTJENDM2Qk', brokers: [{ id: 0 }, { id: 1 }, { id: 2 }] });
  assert.equal(given.clusterId, 'MkU3OEVBNTcwNTJENDM2Qk');
});

test('config merges broker over group over cluster', () => {
  const model = resolveSpec({
    name: 'm',
    config: { 'a': 'cluster', 'b': 'cluster', 'c': 'cluster' },
    brokerGroups: { g: { config: { b: 'group', c: 'group' } } },
    brokers: [{ id: 0, group: 'g', config: { c: 1 } }, { id: 1 }, { id: 2 }],
  });
  assert.deepEqual(model.brokers[0]!.config, { a: 'cluster', b: 'group', c: '1' });
  assert.deepEqual(model.brokers[1]!.config, { a: 'cluster', b: 'cluster', c: 'cluster' });
});

test('combined mode: the lowest three brokers are voters by default', () => {
  const model = resolveSpec({ name: 'small', controllers: { mode: 'combined' }, brokers: [{ id: 4 }, { id: 2 }, { id: 3 }, { id: 1 }] });
  assert.deepEqual(model.voters.map((v) => v.id), [1, 2, 3]);
  assert.deepEqual(model.nodes.map((n) => [n.id, n.roles.join('+')]), [[1, 'broker+controller'], [2, 'broker+controller'], [3, 'broker+controller'], [4, 'broker']]);
});
