/**
 * Synthesis benchmark: time and peak memory for 10..2000 brokers, side by side
 * with a floor (raw cdk8s ApiObjects emitting the same objects), plus the
 * whole CLI process. Each measurement runs in a fresh process so peak RSS is
 * its own. Prints a table; `--json` prints the figures as JSON.
 *
 *   npm run bench            # all sizes
 *   npm run bench -- 1000    # chosen sizes
 *   npm run bench -- --features 1000   # with TLS (cert-manager) and external access through Envoy
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';

interface Sample { ms: number; rssMB: number; objects: number; bytes: number }
const SELF = new URL(import.meta.url).pathname;
const CLI = new URL('../bin/kafka-cdk8s.js', import.meta.url).pathname;
const REPEATS = 3;
/** Every broker also gets a Certificate, TLS listeners, an Envoy route and a LoadBalancer port. */
const FEATURES = process.argv.includes('--features');

function benchSpec(brokers: number) {
  return {
    ...(FEATURES ? {
      tls: { mode: 'cert-manager' },
      externalAccess: { type: 'envoy', host: 'kafka.example.com', externalStartingPort: 30000, bootstrapPort: 29092 },
    } : {}),
    name: 'bench',
    namespace: 'kafka',
    brokerGroups: { default: { storage: [{ name: 'data-0', size: '100Gi' }, { name: 'data-1', size: '100Gi' }] } },
    brokers: Array.from({ length: brokers }, (_, id) => ({ id, rack: `zone-${id % 3}` })),
    config: { 'default.replication.factor': Math.min(3, brokers), 'min.insync.replicas': Math.min(2, brokers) },
  };
}

/** Child mode: one measurement, printed as JSON. */
async function measure(variant: 'kafka' | 'floor' | 'stock', brokers: number): Promise<Sample> {
  const { synthCluster } = await import('../lib/synth.js');
  const { App, ApiObject, Chart, Yaml } = await import('cdk8s');
  const { toYamlDocuments } = await import('../lib/output/yaml.js');
  const spec = benchSpec(brokers);
  if (variant === 'kafka') {
    const start = performance.now();
    const result = synthCluster(spec);
    const ms = performance.now() - start;
    return { ms, rssMB: process.resourceUsage().maxRSS / 1024, objects: result.objectCount, bytes: result.yaml.length };
  }
  // The floor: the very same manifests, as plain ApiObjects with no logic of ours.
  const objects = (await import('yaml')).parseAllDocuments(synthCluster(spec).yaml).map((d) => d.toJS());
  const baseline = process.resourceUsage().maxRSS / 1024;
  const start = performance.now();
  const app = new App();
  const chart = new Chart(app, 'floor');
  objects.forEach((o: any, i: number) => new ApiObject(chart, `o${i}`, o));
  // 'stock': cdk8s's own YAML output; 'floor': the same YAML writer as ours.
  const yaml = variant === 'stock' ? Yaml.stringify(...chart.toJson()) : toYamlDocuments(chart.toJson());
  const ms = performance.now() - start;
  return { ms, rssMB: baseline, objects: objects.length, bytes: yaml.length };
}

function child(variant: string, brokers: number): Sample {
  const r = spawnSync(process.execPath, ['--import', 'tsx', SELF, '--child', variant, String(brokers), ...(FEATURES ? ['--features'] : [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

/** Milliseconds for one whole `kafka-cdk8s synth` process. */
function cliProcess(brokers: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'kc-bench-'));
  try {
    const file = join(dir, 'spec.yaml');
    writeFileSync(file, stringify(benchSpec(brokers)));
    const start = performance.now();
    const r = spawnSync(process.execPath, [CLI, 'synth', '-f', file, '-o', join(dir, 'out')], { encoding: 'utf8' });
    const ms = performance.now() - start;
    if (r.status !== 0) throw new Error(r.stderr);
    return ms;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    process.stdout.write(`${JSON.stringify(await measure(args[1] as 'kafka' | 'floor' | 'stock', Number(args[2])))}\n`);
    return;
  }
  const json = args.includes('--json');
  const sizes = args.filter((a) => /^\d+$/.test(a)).map(Number);
  const rows = [];
  for (const brokers of sizes.length ? sizes : [10, 100, 1000, 2000]) {
    const kafka = Array.from({ length: REPEATS }, () => child('kafka', brokers));
    const floor = Array.from({ length: REPEATS }, () => child('floor', brokers));
    const stock = Array.from({ length: REPEATS }, () => child('stock', brokers));
    const cli = Array.from({ length: REPEATS }, () => cliProcess(brokers));
    rows.push({
      brokers,
      objects: kafka[0]!.objects,
      synthMs: median(kafka.map((s) => s.ms)),
      floorMs: median(floor.map((s) => s.ms)),
      ratio: median(kafka.map((s) => s.ms)) / median(floor.map((s) => s.ms)),
      stockMs: median(stock.map((s) => s.ms)),
      stockRatio: median(kafka.map((s) => s.ms)) / median(stock.map((s) => s.ms)),
      msPerBroker: median(kafka.map((s) => s.ms)) / brokers,
      peakRssMB: median(kafka.map((s) => s.rssMB)),
      cliMs: median(cli),
      yamlMB: kafka[0]!.bytes / 1e6,
    });
  }
  if (json) { process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`); return; }
  console.log('brokers  objects  synth ms  floor ms  ratio  stock ms  ratio  ms/broker  peak RSS MB  CLI process ms  YAML MB');
  for (const r of rows) {
    console.log([
      String(r.brokers).padStart(7), String(r.objects).padStart(8), r.synthMs.toFixed(0).padStart(9), r.floorMs.toFixed(0).padStart(9),
      r.ratio.toFixed(2).padStart(6), r.stockMs.toFixed(0).padStart(9), r.stockRatio.toFixed(2).padStart(6), r.msPerBroker.toFixed(2).padStart(10), r.peakRssMB.toFixed(0).padStart(12),
      r.cliMs.toFixed(0).padStart(15), r.yamlMB.toFixed(1).padStart(8),
    ].join(' '));
  }
  if (FEATURES) console.log('(with TLS by cert-manager and external access through Envoy)');
  console.log(`(median of ${REPEATS} fresh processes each. floor: the same objects as raw cdk8s ApiObjects, toJson and our YAML writer;`);
  console.log(' stock: the same with cdk8s\'s own Yaml.stringify, i.e. a plain cdk8s app; CLI: the whole `kafka-cdk8s synth` process, input parsing and file writing included)');
}

await main();
