/** The CLI as a user runs it: a real process, its exit code, its files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_FILE } from '../support/synth.js';

const CLI = new URL('../../bin/kafka-cdk8s.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

test('synth writes one <cluster>.k8s.yaml and is byte-identical across runs', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = run('synth', '-f', EXAMPLE_FILE, '-o', join(dir, 'a'));
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /wrote .*demo\.k8s\.yaml \(35 objects, cluster kafka\/demo\)/);
  assert.equal(run('synth', '-f', EXAMPLE_FILE, '-o', join(dir, 'b')).status, 0);
  assert.deepEqual(readdirSync(join(dir, 'a')), ['demo.k8s.yaml']);
  assert.equal(readFileSync(join(dir, 'a', 'demo.k8s.yaml'), 'utf8'), readFileSync(join(dir, 'b', 'demo.k8s.yaml'), 'utf8'));
  const stdout = run('synth', '-f', EXAMPLE_FILE, '--stdout');
  assert.equal(stdout.stdout, readFileSync(join(dir, 'a', 'demo.k8s.yaml'), 'utf8'));
});

test('an invalid spec exits 1, lists every problem and writes nothing, even beside a valid one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'name: b\nbrokers: [ { id: 0 }, { id: 0 } ]\nsurprise: 1\n');
  const out = join(dir, 'out');
  const result = run('synth', '-f', EXAMPLE_FILE, bad, '-o', out);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /invalid cluster spec in .*bad\.yaml \(\d+ problems\)/);
  assert.match(result.stderr, /brokers\[1\]\.id: duplicate broker id 0/);
  assert.match(result.stderr, /surprise: unknown field/);
  assert.throws(() => readdirSync(out), /ENOENT/, 'no output directory was created');
});

test('validate reports valid specs on stdout and exits 0', () => {
  const result = run('validate', '-f', EXAMPLE_FILE);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /cluster kafka\/demo is valid \(3 brokers, 3 controllers, dedicated mode\)/);
});

test('usage errors exit non-zero with a hint; --help exits 0', () => {
  const missing = run('synth');
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /required option '-f, --file <path\.\.\.>' not specified/);
  const unknown = run('frobnicate');
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const noFile = run('validate', '-f', '/does/not/exist.yaml');
  assert.equal(noFile.status, 1);
  assert.match(noFile.stderr, /cannot read spec file \/does\/not\/exist\.yaml: no such file/);
  const help = run('synth', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /kafka-cdk8s synth -f cluster\.yaml -o dist\//);
});

test('`cdk8s synth` (through cdk8s.yaml) writes the same bytes as kafka-cdk8s synth', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-cdk8s-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = new URL('../..', import.meta.url).pathname;
  const cdk8s = spawnSync(join(root, 'node_modules/.bin/cdk8s'), ['synth', '--output', join(dir, 'cdk8s')], {
    cwd: root, encoding: 'utf8', env: { ...process.env, KAFKA_CDK8S_SPEC: EXAMPLE_FILE, CDK8S_CHECK_UPGRADE: 'false' },
  });
  assert.equal(cdk8s.status, 0, cdk8s.stderr + cdk8s.stdout);
  assert.equal(run('synth', '-f', EXAMPLE_FILE, '-o', join(dir, 'ours')).status, 0);
  assert.equal(readFileSync(join(dir, 'cdk8s', 'demo.k8s.yaml'), 'utf8'), readFileSync(join(dir, 'ours', 'demo.k8s.yaml'), 'utf8'));
});

test('output under /proc is refused at once with a clear message (it used to spin at 100% CPU)', () => {
  const result = spawnSync(process.execPath, [CLI, 'synth', '-f', EXAMPLE_FILE, '-o', '/proc/kafka-cdk8s-out'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /cannot write to \/proc\/kafka-cdk8s-out: \/proc is a kernel file system; choose an output directory on disk/);
});

test('file errors say what is wrong, not a raw errno', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.match(run('validate', '-f', dir).stderr, /cannot read spec file .*: it is a directory; give a YAML file/);
  const file = join(dir, 'taken');
  writeFileSync(file, '');
  assert.match(run('synth', '-f', EXAMPLE_FILE, '-o', join(file, 'out')).stderr, /cannot write to .*taken\/out: a part of the path is a file, not a directory/);
});

test('validate prints warnings on stderr and still exits 0', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'even.yaml');
  writeFileSync(spec, 'name: even\ncontrollers: { replicas: 4 }\nconfig: { default.replication.factor: 3 }\nbrokers: [ { id: 0 }, { id: 1 }, { id: 2 } ]\n');
  const result = run('validate', '-f', spec);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /warning: .*even\.yaml: controllers\.replicas: 4 controllers tolerate no more failures than 3/);
});
