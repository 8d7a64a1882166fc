import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { toYamlDocuments } from '../../lib/output/yaml.js';
import { exampleSpec } from '../support/synth.js';
import { synthCluster } from '../../lib/synth.js';

/** Reads YAML back as both YAML 1.2 and YAML 1.1 (what kubectl's parser speaks). */
function readBack(text: string, version: '1.1' | '1.2'): unknown[] {
  return parseAllDocuments(text, { version }).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS();
  });
}

const TRICKY_STRINGS = [
  '', ' ', 'yes', 'no', 'on', 'off', 'y', 'N', 'true', 'False', 'null', '~', '123', '0x1F', '1e3', '.5', '-1', '+1', '0o17', '1_000',
  '12:30', '-', '- a', '? x', ': x', 'a: b', 'a #b', '#c', '&a', '*a', '!t', '|', '>', '%x', '@x', '`x', '"q"', "'q'", '{a}', '[a]',
  'a,b', 'trailing ', 'colon:', 'tab\there', 'line\nbreak', 'crlf\r\n', 'ends\n', 'two\n\n', '\nleading', ' lead\nx', 'é✓', '\u2028',
  '\u0085', '\u007f', 'apache/kafka:4.4.0', 'INTERNAL://host:9092', '-Xms1g -Xmx1g', 'a=b', 'x\\y', 'NaN', '.inf', '<<',
];

test('every tricky string survives a round trip through YAML 1.1 and 1.2 parsers', () => {
  const doc = { strings: TRICKY_STRINGS, map: Object.fromEntries(TRICKY_STRINGS.filter(Boolean).map((s, i) => [s, i])) };
  const text = toYamlDocuments([doc]);
  for (const version of ['1.1', '1.2'] as const) assert.deepEqual(readBack(text, version), [doc], `YAML ${version}`);
});

test('numbers, booleans, null, empty and nested collections round-trip', () => {
  const docs = [
    { a: 1, b: -2.5, c: true, d: false, e: null, f: [], g: {}, h: [[1, [2]], [{ x: [] }]], i: [{ a: { b: [{ c: 'd' }] } }], j: 0 },
    { apiVersion: 'v1', kind: 'List', items: [] },
  ];
  const text = toYamlDocuments(docs);
  for (const version of ['1.1', '1.2'] as const) assert.deepEqual(readBack(text, version), docs);
});

test('the synthesized example reads back as exactly the objects cdk8s produced', () => {
  const result = synthCluster(exampleSpec());
  const back = readBack(result.yaml, '1.1');
  assert.equal(back.length, result.objectCount);
  for (const o of back as Array<{ kind: string; data?: Record<string, string> }>) {
    if (o.kind === 'ConfigMap' && o.data?.['server.properties']) assert.match(o.data!['server.properties']!, /\nnode\.id=\d+\n/);
  }
  assert.match(result.yaml, /server\.properties: \|\n {4}# Kafka/, 'server.properties is a literal block, diffable line by line');
});
