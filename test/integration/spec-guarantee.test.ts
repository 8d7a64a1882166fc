/**
 * Validation is the complete gate (issue #8), proven on random valid and
 * near-valid specs (test/support/spec-generator.ts) and on every fixture:
 * - validate and synth agree: synth never fails on a spec validate accepted,
 *   and refuses every spec validate refused;
 * - the output of every accepted spec is accepted by the real API server,
 *   with strict field validation and Pod Security "restricted";
 * - every server.properties of it passes Kafka's own config parser
 *   (KafkaConfig, from the test bed's jars: test/bed/kafka/ConfigCheck.java).
 * Set KAFKA_CDK8S_GEN_SEED to replay a run, KAFKA_CDK8S_GEN_COUNT for more specs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseSpecYaml } from '../../lib/spec/load.js';
import { SpecValidationError } from '../../lib/spec/problems.js';
import { validateSpec } from '../../lib/spec/validate.js';
import { synthCluster, type SynthesizedCluster } from '../../lib/synth.js';
import { applyManifests } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { kafkaClasspath, REPO_ROOT } from '../support/kafka-process.js';
import { generateSpec } from '../support/spec-generator.js';

const SEED = Number(process.env.KAFKA_CDK8S_GEN_SEED ?? Date.now() % 100_000);
const COUNT = Number(process.env.KAFKA_CDK8S_GEN_COUNT ?? 150);
const CONFIG_CHECK = join(REPO_ROOT, 'test', 'bed', 'kafka', 'ConfigCheck.java');

let kube: KubeApiServer;
let work: string;
before(async () => {
  kube = await startKubeApiServer();
  work = mkdtempSync(join(tmpdir(), 'kc-guarantee-'));
});
after(async () => {
  await kube?.close();
  rmSync(work, { recursive: true, force: true });
});

interface Case { readonly label: string; readonly spec: unknown }

function cases(): Case[] {
  const generated = Array.from({ length: COUNT }, (_, i) => ({ label: `seed ${SEED} #${i}`, spec: generateSpec(SEED, i) as unknown }));
  const fixturesDir = join(REPO_ROOT, 'test', 'fixtures', 'invalid');
  const fixtures = readdirSync(fixturesDir).filter((f) => f.endsWith('.yaml')).flatMap((f) => {
    try {
      return parseSpecYaml(readFileSync(join(fixturesDir, f), 'utf8'), f).map((s) => ({ label: s.source, spec: s.spec }));
    } catch {
      return []; // a fixture of malformed YAML: nothing to synthesize
    }
  });
  const examplesDir = join(REPO_ROOT, 'examples');
  const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseSpecYaml(readFileSync(join(examplesDir, f), 'utf8'), f).map((s) => ({ label: s.source, spec: s.spec })));
  return [...generated, ...fixtures, ...examples];
}

/** Runs every case through validate and synth; the accepted outputs. */
function synthesizeAll(): { accepted: Array<{ label: string; out: SynthesizedCluster }>; refused: number } {
  const accepted: Array<{ label: string; out: SynthesizedCluster }> = [];
  let refused = 0;
  for (const { label, spec } of cases()) {
    const problems = validateSpec(spec);
    let out: SynthesizedCluster | undefined;
    let error: unknown;
    try {
      out = synthCluster(spec);
    } catch (err) {
      error = err;
    }
    if (problems.length === 0) {
      assert.ok(out, `${label}: validate accepted it, but synth failed: ${String(error)}\n${JSON.stringify(spec, bigints)}`);
      accepted.push({ label, out });
    } else {
      assert.ok(error instanceof SpecValidationError, `${label}: validate refused it (${problems[0]?.path}: ${problems[0]?.message}), but synth ${error ? `threw ${String(error)}` : 'succeeded'}`);
      refused++;
    }
  }
  return { accepted, refused };
}
const bigints = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);

let results: ReturnType<typeof synthesizeAll>;

test(`validate and synth agree on ${COUNT} random specs (seed ${SEED}), every fixture and every example`, () => {
  results = synthesizeAll();
  // The generator must exercise both sides, or the other two proofs prove little.
  assert.ok(results.accepted.length >= COUNT / 5, `only ${results.accepted.length} accepted`);
  assert.ok(results.refused >= COUNT / 5, `only ${results.refused} refused`);
});

test('the API server accepts every accepted spec\'s output (strict fields, Pod Security "restricted")', async () => {
  for (const { label, out } of results.accepted) {
    const objects = parseAllDocuments(out.yaml).map((d) => d.toJS());
    if (!out.createsNamespace) {
      await applyManifests(kube.client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: out.namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } }]);
    }
    try {
      await applyManifests(kube.client, objects, { fieldManager: 'kafka-cdk8s' });
    } catch (err) {
      assert.fail(`${label}: the API server refused its output: ${(err as Error).message}`);
    }
  }
});

test("Kafka's own parser (KafkaConfig) accepts every server.properties of every accepted spec", () => {
  const files: string[] = [];
  for (const [i, { out }] of results.accepted.entries()) {
    for (const doc of parseAllDocuments(out.yaml)) {
      const o = doc.toJS();
      if (o.kind !== 'ConfigMap' || !o.data?.['server.properties']) continue;
      const file = join(work, `${i}-${o.metadata.name}.properties`);
      writeFileSync(file, o.data['server.properties']);
      files.push(file);
    }
  }
  const labels = new Map(results.accepted.map(({ label }, i) => [String(i), label]));
  const run = spawnSync('java', ['-Xmx256m', '-cp', kafkaClasspath(), CONFIG_CHECK, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const failures = run.stdout.split('\n').filter((l) => l.startsWith('FAIL'))
    .map((l) => `${labels.get(/\/(\d+)-[^/]*$/.exec(l.split(':')[0]!)?.[1] ?? '') ?? '?'}: ${l}`);
  assert.deepEqual(failures, [], run.stderr);
  assert.equal(run.stdout.split('\n').filter((l) => l.startsWith('OK')).length, files.length, run.stderr);
});
