import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProperties, parseProperties } from '../../lib/config/properties-format.js';

test('formatProperties sorts keys and writes comments first', () => {
  assert.equal(formatProperties({ b: '2', a: '1' }, ['head']), '# head\na=1\nb=2\n');
});

test('values and keys are escaped the way java.util.Properties reads them (ISO-8859-1)', () => {
  const text = formatProperties({ 'sasl.jaas.config': 'a\\b\nc', 'k=x': ' lead', 'unicode': 'zoné✓' });
  assert.equal(text, 'k\\=x=\\ lead\nsasl.jaas.config=a\\\\b\\nc\nunicode=zon\\u00e9\\u2713\n');
  assert.ok(/^[\x20-\x7e\n]*$/.test(text), 'printable ASCII only');
});

test('parseProperties reads back what formatProperties writes', () => {
  const entries = { 'a.b': 'x=y:z', 'tab': '\t1', 'spaces': '  two', 'é': 'ü', 'empty': '' };
  assert.deepEqual(parseProperties(formatProperties(entries, ['c'])), entries);
  assert.deepEqual(parseProperties('# c\n! c2\nkey : value\nother=line\\\n   continued\n'), { key: 'value', other: 'linecontinued' });
});
