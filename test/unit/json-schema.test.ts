import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { kafkaClusterJsonSchema } from '../../lib/spec/schema.js';
import { exampleSpec } from '../support/synth.js';

const committed = JSON.parse(readFileSync(new URL('../../schema/kafka-cluster.schema.json', import.meta.url), 'utf8'));

test('the published JSON Schema is the one generated from the spec definition (npm run schema)', () => {
  assert.deepEqual(committed, JSON.parse(JSON.stringify(kafkaClusterJsonSchema())));
});

test('the JSON Schema accepts the example and rejects what validation rejects structurally', () => {
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(committed);
  assert.equal(validate(exampleSpec()), true, JSON.stringify(validate.errors));
  const bad = exampleSpec();
  bad.unknownField = 1;
  bad.brokers[0].storage = [{ name: 'data-0', size: 'lots' }];
  assert.equal(validate(bad), false);
  const paths = validate.errors!.map((e) => `${e.instancePath} ${e.keyword}`);
  assert.ok(paths.includes(' additionalProperties'), paths.join());
  assert.ok(paths.includes('/brokers/0/storage/0/size pattern'), paths.join());
});
