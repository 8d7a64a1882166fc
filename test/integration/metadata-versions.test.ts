/**
 * Proves the committed metadata.version table (lib/config/metadata-versions.json, read by
 * lib/config/metadata-versions.ts) against the Kafka jars the test bed installs: runs
 * test/bed/kafka/MetadataVersions.java on each (versions.json's kafka and kafkaPrevious) and
 * compares what that Kafka ships as latest production with the table's entry for its release,
 * and every entry with the pinned (newest) Kafka's own list. Starts no broker. Needs
 * `bash test/bed/install-kafka.sh` first (npm test runs it). To fix a difference after a Kafka
 * update: `bash test/bed/kafka/metadata-versions.sh` and commit the table.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  KNOWN_RELEASES, kraftVersionOf, metadataVersionByLevel, metadataVersionOf, releaseOf,
} from '../../lib/config/metadata-versions.js';
import { REPO_ROOT, bedKafkaVersions, kafkaClasspath, kafkaHome, readVersions } from '../support/kafka-process.js';
import { ONCE } from '../support/once.js';

const run = promisify(execFile);
const TABLE = join(REPO_ROOT, 'lib', 'config', 'metadata-versions.json');
const REGENERATE = 'regenerate it with `bash test/bed/kafka/metadata-versions.sh` and commit it';

/** What MetadataVersions.java prints for one Kafka. */
interface JarLevels {
  kafkaVersion: string;
  latestProduction: { name: string; level: number };
  kraftVersionLatestProduction: number;
  metadataVersions: Array<{ name: string; level: number; release: string; production: boolean }>;
}

interface TableEntry {
  release: string;
  kafka: string[];
  metadataVersion: string;
  metadataVersionLevel: number;
  kraftVersion: number;
}

const jars = new Map<string, JarLevels>();
let table: { releases: TableEntry[] };

describe('the metadata.version table', ONCE, () => {
  before(async () => {
    table = JSON.parse(readFileSync(TABLE, 'utf8'));
    await Promise.all(bedKafkaVersions().map(async (version) => {
      const { stdout } = await run(
        'java',
        ['-Xmx128m', '-XX:+UseSerialGC', '-cp', kafkaClasspath(kafkaHome(version)), join(REPO_ROOT, 'test', 'bed', 'kafka', 'MetadataVersions.java')],
        { timeout: 120_000, maxBuffer: 4 * 1024 * 1024 },
      );
      jars.set(version, JSON.parse(stdout) as JarLevels);
    }));
  });

  test('each installed Kafka ships the latest production metadata.version and kraft.version the table gives its release', () => {
    for (const [version, jar] of jars) {
      assert.equal(jar.kafkaVersion, version, `the jars in ${kafkaHome(version)} are Kafka ${jar.kafkaVersion}`);
      const release = releaseOf(version)!;
      assert.deepEqual(metadataVersionOf(version), { release, name: jar.latestProduction.name, level: jar.latestProduction.level },
        `Kafka ${version}'s MetadataVersion.LATEST_PRODUCTION; ${REGENERATE}`);
      assert.equal(kraftVersionOf(version), jar.kraftVersionLatestProduction, `Kafka ${version}'s KRaftVersion.LATEST_PRODUCTION; ${REGENERATE}`);
      const entry = table.releases.find((r) => r.release === release)!;
      assert.ok(entry.kafka.includes(version), `the table's ${release} entry was read from ${entry.kafka.join(', ')}, not from the bed's ${version}; ${REGENERATE}`);
    }
  });

  test('the pinned Kafka knows every release\'s metadata.version under the same name and level, as production', () => {
    const { kafka } = readVersions();
    const newest = jars.get(kafka)!;
    assert.equal(newest.latestProduction.name, metadataVersionOf(kafka)?.name, 'the newest release in the table is the pinned Kafka\'s');
    for (const release of KNOWN_RELEASES) {
      const mv = metadataVersionOf(release)!;
      const known = newest.metadataVersions.find((m) => m.name === mv.name);
      assert.ok(known, `Kafka ${kafka} has no metadata.version ${mv.name} (the table's ${release})`);
      assert.equal(known.level, mv.level, `${mv.name}: Kafka ${kafka} says level ${known.level}, the table ${mv.level}`);
      assert.equal(known.production, true, `${mv.name} is not production in Kafka ${kafka}`);
      // A release ships its own or an older release's level, never a newer one.
      assert.ok(compareReleases(known.release, release) <= 0, `${release} ships ${mv.name} of release ${known.release}`);
    }
  });

  test('the table runs from 4.0 to the pinned release without gaps, levels rising', () => {
    const { kafka, kafkaPrevious } = readVersions();
    assert.equal(KNOWN_RELEASES[0], '4.0');
    assert.equal(KNOWN_RELEASES.at(-1), releaseOf(kafka));
    assert.ok(KNOWN_RELEASES.includes(releaseOf(kafkaPrevious)!));
    for (let i = 1; i < KNOWN_RELEASES.length; i++) {
      const [major, minor] = KNOWN_RELEASES[i - 1]!.split('.').map(Number);
      const next = KNOWN_RELEASES[i]!.split('.').map(Number);
      assert.ok(next[0] === major && next[1] === minor! + 1, `${KNOWN_RELEASES[i]} follows ${KNOWN_RELEASES[i - 1]}`);
      assert.ok(metadataVersionOf(KNOWN_RELEASES[i]!)!.level >= metadataVersionOf(KNOWN_RELEASES[i - 1]!)!.level);
    }
  });

  test('lookups by version, release and level', () => {
    assert.equal(releaseOf('4.3.1'), '4.3');
    assert.equal(releaseOf('4.3'), '4.3');
    for (const bad of ['4', '4.3.1.0', '4.3.1-rc0', 'v4.3', '04.3', '', 'latest']) assert.equal(releaseOf(bad), undefined, bad);

    const v43 = metadataVersionOf('4.3')!;
    assert.deepEqual(metadataVersionOf('4.3.1'), v43);
    assert.equal(v43.release, '4.3');
    assert.equal(metadataVersionOf('3.9'), undefined, 'not a release kafka-cdk8s supports');
    assert.equal(metadataVersionOf('4.99.0'), undefined);
    assert.equal(metadataVersionOf('nope'), undefined);
    assert.equal(kraftVersionOf('4.3.1'), kraftVersionOf('4.3'));
    assert.equal(kraftVersionOf('3.9.0'), undefined);

    // By level: exact, between two releases (the one below), above all (the newest), below all (none).
    const v44 = metadataVersionOf('4.4')!;
    assert.deepEqual(metadataVersionByLevel(v43.level), v43);
    if (v44.level > v43.level + 1) assert.deepEqual(metadataVersionByLevel(v43.level + 1), v43);
    assert.deepEqual(metadataVersionByLevel(v44.level + 100), metadataVersionOf(KNOWN_RELEASES.at(-1)!));
    assert.equal(metadataVersionByLevel(metadataVersionOf(KNOWN_RELEASES[0]!)!.level - 1), undefined);
  });

  function compareReleases(a: string, b: string): number {
    const [x, y] = [a, b].map((r) => r.split('.').map(Number));
    return x![0]! - y![0]! || x![1]! - y![1]!;
  }
});
