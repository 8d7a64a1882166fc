/**
 * Validation benchmark: loading and validating specs of 1 000 to 100 000
 * brokers from YAML files, each in a fresh process so the peak RSS is its own. Linear growth is the point: time per broker must stay
 * flat as the spec grows (a quadratic check once made a 29 MB spec take 70 s).
 *
 *   npm run bench:validate            # all sizes
 *   npm run bench:validate -- 50000   # chosen sizes
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

const SELF = new URL(import.meta.url).pathname;
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);

/** Child mode: load and validate one file, print the figures as JSON. */
async function child(file: string): Promise<void> {
  const { loadSpecFile } = await import('../lib/spec/load.js');
  const { validateSpec } = await import('../lib/spec/validate.js');
  const t0 = performance.now();
  const { spec } = loadSpecFile(file)[0]!;
  const t1 = performance.now();
  const problems = validateSpec(spec);
  const t2 = performance.now();
  if (problems.length) throw new Error(`the benchmark spec is invalid: ${problems[0]!.path}: ${problems[0]!.message}`);
  process.stdout.write(JSON.stringify({ parseMs: t1 - t0, validateMs: t2 - t1, rssMB: process.resourceUsage().maxRSS / 1024 }));
}

function spec(brokers: number) {
  return {
    name: 'bench',
    namespace: 'kafka',
    brokerGroups: { default: { storage: [{ name: 'data-0', size: '100Gi' }] }, big: { storage: [{ name: 'data-0', size: '1Ti' }] } },
    brokers: Array.from({ length: brokers }, (_, id) => ({
      id, rack: `zone-${id % 3}`, ...(id % 2 ? { group: 'big' } : {}), config: { 'num.io.threads': 8 + (id % 4) },
    })),
    controllers: { idBase: 1_000_000 },
    config: { 'default.replication.factor': 3, 'min.insync.replicas': 2 },
  };
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'kc-bench-validate-'));
  try {
    console.log('brokers  spec MB  parse ms  validate ms  us/broker  peak RSS MB');
    for (const brokers of sizes.length ? sizes : [1_000, 10_000, 50_000, 100_000]) {
      const file = join(dir, `${brokers}.yaml`);
      writeFileSync(file, stringify(spec(brokers)));
      const run = spawnSync(process.execPath, ['--import', 'tsx', SELF, '--child', file], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`validation failed on ${brokers} brokers: ${run.stderr}`);
      const r = JSON.parse(run.stdout) as { parseMs: number; validateMs: number; rssMB: number };
      const total = r.parseMs + r.validateMs;
      console.log(`${String(brokers).padStart(7)}  ${(statSync(file).size / 2 ** 20).toFixed(1).padStart(7)}  ${r.parseMs.toFixed(0).padStart(8)}  `
        + `${r.validateMs.toFixed(0).padStart(11)}  ${((total * 1000) / brokers).toFixed(1).padStart(9)}  ${r.rssMB.toFixed(0).padStart(11)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
