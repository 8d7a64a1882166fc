/**
 * The library as a user gets it: `npm pack`, the tarball installed into an
 * empty project, then a TypeScript app that imports it as the README shows,
 * compiled against the shipped types and synthesized both by itself and with
 * the cdk8s CLI; and the shipped `kafka-cdk8s` command.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const ROOT = new URL('../../', import.meta.url).pathname;
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);
let work: string;
let project: string;

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...opts, env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false', ...opts.env } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return String(r.stdout);
}

const APP = `import { App } from 'cdk8s';
import { KafkaClusterChart, resolveSpec, type KafkaClusterSpec } from 'kafka-cdk8s';

const spec: KafkaClusterSpec = { name: 'events', namespace: 'kafka', brokers: [{ id: 0 }, { id: 1 }, { id: 2 }] };
const app = new App();
const chart = new KafkaClusterChart(app, 'events', { spec });
if (chart.cluster.model.brokers.length !== resolveSpec(spec).brokers.length) throw new Error('model mismatch');
app.synth();
`;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'kc-package-'));
  project = join(work, 'project');
  mkdirSync(project);
  run('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: ROOT });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote a tarball');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', join(work, tarball)], { cwd: project });
  writeFileSync(join(project, 'main.ts'), APP);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: [], outDir: '.' },
    files: ['main.ts'],
  }));
});
after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball ships the compiled library, its types and the CLI, and no sources or tests', () => {
  const files = run('tar', ['-tzf', join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!)]).split('\n');
  for (const f of ['package/build/lib/index.js', 'package/build/lib/index.d.ts', 'package/build/bin/main.js', 'package/bin/kafka-cdk8s.js', 'package/schema/kafka-cluster.schema.json']) {
    assert.ok(files.includes(f), f);
  }
  assert.ok(!files.some((f) => f.startsWith('package/test/') || f.startsWith('package/lib/') || f.endsWith('.ts') && !f.endsWith('.d.ts')), 'no sources');
});

test('a TypeScript app type-checks against the shipped types and synthesizes', () => {
  run(bin('tsc'), ['-p', project]);
  run(process.execPath, ['main.js'], { cwd: project });
  const objects = parseAllDocuments(readFileSync(join(project, 'dist', 'events.k8s.yaml'), 'utf8')).map((d) => d.toJS());
  assert.ok(objects.some((o) => o.kind === 'Pod' && o.metadata.name === 'events-broker-2'));
  assert.equal(objects.filter((o) => o.kind === 'Pod').length, 6);
});

test('the cdk8s CLI synthesizes the same app to the same bytes', () => {
  writeFileSync(join(project, 'cdk8s.yaml'), 'language: typescript\napp: node main.js\n');
  run(bin('cdk8s'), ['synth', '--output', 'cdk8s.out'], { cwd: project });
  assert.equal(readFileSync(join(project, 'cdk8s.out', 'events.k8s.yaml'), 'utf8'), readFileSync(join(project, 'dist', 'events.k8s.yaml'), 'utf8'));
});

test('the installed kafka-cdk8s command synthesizes a YAML spec without any dev tooling', () => {
  writeFileSync(join(project, 'cluster.yaml'), 'name: events\nnamespace: kafka\nbrokers: [ { id: 0 }, { id: 1 }, { id: 2 } ]\n');
  const out = run(join(project, 'node_modules', '.bin', 'kafka-cdk8s'), ['synth', '-f', 'cluster.yaml', '--stdout'], { cwd: project });
  assert.match(out, /name: events-broker-0/);
});
