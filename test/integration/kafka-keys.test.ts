/**
 * Proves that the committed Kafka key table (lib/config/kafka-keys-*.json, read by
 * lib/config/kafka-keys.ts) is what the pinned Kafka says: runs test/bed/kafka/ConfigTable.java
 * against the test bed's Kafka jars and compares. Starts no broker. Needs
 * `bash test/bed/install-kafka.sh` first (npm test runs it). To fix a difference after a Kafka
 * update: `bash test/bed/kafka/config-table.sh` and commit the table.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { KAFKA_KEYS_VERSION } from '../../lib/config/kafka-keys.js';
import { REPO_ROOT, kafkaClasspath, kafkaHome, readVersions } from '../support/kafka-process.js';
import { ONCE } from '../support/once.js';

const run = promisify(execFile);
const REGENERATE = 'regenerate it with `bash test/bed/kafka/config-table.sh` and commit it';

interface Table {
  kafkaVersion: string;
  keys: Record<string, unknown>;
  [field: string]: unknown;
}

let work: string;
let generated: Table;
let generatorLog: string;

describe("Kafka's config key table", ONCE, () => {
  before(async () => {
    const home = kafkaHome();
    work = mkdtempSync(join(tmpdir(), 'kafka-keys-'));
    const out = join(work, 'kafka-keys.json');
    const { stderr } = await run(
      'java',
      ['-Xmx256m', '-XX:+UseSerialGC', '-cp', kafkaClasspath(home), join(REPO_ROOT, 'test', 'bed', 'kafka', 'ConfigTable.java'), out],
      { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
    );
    generatorLog = stderr;
    generated = JSON.parse(readFileSync(out, 'utf8')) as Table;
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function committed(): { file: string; table: Table } {
    const minor = readVersions().kafka.split('.').slice(0, 2).join('.');
    const file = join(REPO_ROOT, 'lib', 'config', `kafka-keys-${minor}.json`);
    return { file, table: JSON.parse(readFileSync(file, 'utf8')) as Table };
  }

  test('ConfigTable.java reads the pinned Kafka', () => {
    assert.equal(generated.kafkaVersion, readVersions().kafka);
    assert.match(generatorLog, /ConfigTable: Kafka \S+: \d+ keys/);
  });

  test('lib/config/kafka-keys.ts uses the table of the pinned Kafka', () => {
    assert.equal(KAFKA_KEYS_VERSION, readVersions().kafka, `kafka-keys.ts imports the ${KAFKA_KEYS_VERSION} table; ${REGENERATE}`);
  });

  test('the committed key table agrees with the real Kafka', () => {
    const { file, table } = committed();
    // Name the differing keys first: a readable failure beats a 70 kB deepEqual diff.
    const names = new Set([...Object.keys(table.keys), ...Object.keys(generated.keys)]);
    const differences: string[] = [];
    for (const name of [...names].sort()) {
      const want = generated.keys[name];
      const have = table.keys[name];
      if (want === undefined) differences.push(`${name}: in the table, not in Kafka`);
      else if (have === undefined) differences.push(`${name}: in Kafka, missing from the table`);
      else if (JSON.stringify(want) !== JSON.stringify(have)) differences.push(`${name}: table ${JSON.stringify(have)}, Kafka ${JSON.stringify(want)}`);
    }
    assert.deepEqual(differences, [], `${file} differs from Kafka ${generated.kafkaVersion}; ${REGENERATE}`);
    assert.deepEqual(table, generated, `${file} differs from what ConfigTable.java writes; ${REGENERATE}`);
  });
});
