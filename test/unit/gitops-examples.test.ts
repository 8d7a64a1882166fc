/** The shipped Argo CD / Flux examples match the markers the output carries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { LABEL_CREATE_ONLY } from '../../lib/render/metadata.js';

const read = (name: string) => parse(readFileSync(new URL(`../../examples/gitops/${name}`, import.meta.url), 'utf8'));

test('the Argo CD Application ignores drift on create-only Pods and PVCs and respects that on sync', () => {
  const app = read('argocd-application.yaml');
  assert.equal(app.kind, 'Application');
  for (const kind of ['Pod', 'PersistentVolumeClaim']) {
    const entry = app.spec.ignoreDifferences.find((d: { kind: string }) => d.kind === kind);
    assert.ok(entry, kind);
    assert.equal(entry.group, '');
    for (const path of ['.spec', '.metadata.annotations', '.metadata.labels']) {
      assert.ok(entry.jqPathExpressions.includes(`select(.metadata.labels["${LABEL_CREATE_ONLY}"] == "true") | ${path}`), `${kind} ${path}`);
    }
  }
  assert.equal(app.metadata.annotations['argocd.argoproj.io/compare-options'], 'ServerSideDiff=false',
    'Server-Side Diff dry-runs changed Pods/PVCs, fails as immutable and stops auto-sync');
  const options: string[] = app.spec.syncPolicy.syncOptions;
  assert.ok(options.includes('RespectIgnoreDifferences=true'));
  assert.ok(options.includes('ApplyOutOfSyncOnly=true'));
  assert.ok(!options.some((o) => /^(Replace|Force)=true$/.test(o)));
});

test('the Flux Kustomization prunes normally and never forces', () => {
  const ks = read('flux-kustomization.yaml');
  assert.equal(ks.apiVersion, 'kustomize.toolkit.fluxcd.io/v1');
  assert.equal(ks.spec.force, false);
  assert.equal(ks.spec.prune, true);
  assert.equal(ks.spec.targetNamespace, undefined, 'the advertised addresses are built from the spec namespace');
});
