/** imports/ holds what `cdk8s import` generates from imports/crds, committed and usable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import { ServiceMonitor } from '../../imports/monitoring.coreos.com.js';
import { Certificate } from '../../imports/cert-manager.io.js';
import { VirtualService } from '../../imports/networking.istio.io.js';

const IMPORTS = new URL('../../imports/', import.meta.url).pathname;

test('the committed imports are exactly what `npm run import` generates from imports/crds', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'kc-imports-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const result = spawnSync('bash', [join(IMPORTS, 'import-crds.sh'), out], { encoding: 'utf8', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
  assert.equal(result.status, 0, result.stderr);
  const generated = readdirSync(out).filter((f) => f.endsWith('.ts')).sort();
  assert.deepEqual(generated, ['cert-manager.io.ts', 'monitoring.coreos.com.ts', 'networking.istio.io.ts']);
  for (const file of generated) assert.equal(readFileSync(join(out, file), 'utf8'), readFileSync(join(IMPORTS, file), 'utf8'), file);
});

test('the imported CRD classes synthesize typed objects', () => {
  const chart = new Chart(Testing.app() as App, 'c', { namespace: 'kafka' });
  new ServiceMonitor(chart, 'sm', { metadata: { name: 'kafka' }, spec: { selector: { matchLabels: { a: 'b' } }, endpoints: [{ port: 'metrics' }] } });
  new Certificate(chart, 'cert', { metadata: { name: 'kafka-tls' }, spec: { secretName: 'kafka-tls', issuerRef: { name: 'ca' }, dnsNames: ['x'] } });
  new VirtualService(chart, 'vs', { metadata: { name: 'kafka' }, spec: { hosts: ['kafka'] } });
  const objects = Testing.synth(chart);
  assert.deepEqual(objects.map((o) => `${o.apiVersion} ${o.kind}`), [
    'monitoring.coreos.com/v1 ServiceMonitor', 'cert-manager.io/v1 Certificate', 'networking.istio.io/v1 VirtualService',
  ]);
  assert.deepEqual(objects[0].spec.endpoints, [{ port: 'metrics' }]);
});
