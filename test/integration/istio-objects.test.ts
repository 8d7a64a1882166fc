/**
 * The Istio Gateway and VirtualService we render are valid for Istio's own CRDs
 * (imports/crds) in a real kube-apiserver, in both modes, with strict field
 * validation; and the server does refuse what the schema forbids, naming the field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderIstioGateway, renderIstioVirtualService, type IstioIngress } from '../../lib/render/istio-objects.js';
import { applyManifests, KubeApplyError } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';

const NAMESPACE = 'istio-objects';

function ingress(name: string, mode: IstioIngress['mode'], brokers: number): IstioIngress {
  const svc = (id: number) => ({ host: `${name}-broker-${id}.${NAMESPACE}.svc.cluster.local`, port: 9093 });
  const ids = Array.from({ length: brokers }, (_, id) => id);
  return {
    name: `${name}-external`,
    namespace: NAMESPACE,
    labels: { 'app.kubernetes.io/instance': name },
    selector: { istio: 'ingressgateway' },
    host: `${name}.kafka.example.com`,
    mode,
    routes: [
      { name: 'bootstrap', port: 9094, destinations: ids.map(svc) },
      ...ids.map((id) => ({ name: `broker-${id}`, port: 9095 + id, destinations: [svc(id)] })),
    ],
  };
}

describe('Istio objects against the Istio CRDs in a real kube-apiserver', { timeout: 180_000 }, () => {
  let kube: KubeApiServer;
  before(async () => {
    kube = await startKubeApiServer({ controllerManager: false });
    await applyManifests(kube.client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }]);
  });
  after(async () => { await kube?.close(); });

  for (const [name, mode, brokers] of [['plain', 'tcp', 3], ['sni', 'tls-passthrough', 5]] as const) {
    test(`${mode}, ${brokers} brokers: created as rendered, and applying again changes nothing`, async () => {
      const i = ingress(name, mode, brokers);
      const objects = [renderIstioGateway(i), renderIstioVirtualService(i)];
      const first = await applyManifests(kube.client, objects);
      assert.deepEqual(first.map((r) => `${r.kind}/${r.name} ${r.action}`), [`Gateway/${name}-external created`, `VirtualService/${name}-external created`]);
      // The server keeps every field we sent (a field the schema did not know would be refused or pruned).
      for (const [n, r] of first.entries()) assert.deepEqual(r.object.spec, objects[n]!.spec, `${r.kind} spec as sent`);
      const second = await applyManifests(kube.client, objects);
      assert.deepEqual(second.map((r) => r.action), ['unchanged', 'unchanged']);
    });
  }

  test('the control: the server refuses what the CRD schema forbids, naming the field', async () => {
    const i = ingress('bad', 'tls-passthrough', 1);
    const refused = async (object: object, field: RegExp): Promise<void> => {
      await assert.rejects(applyManifests(kube.client, [object]), (e: unknown) => {
        assert.ok(e instanceof KubeApplyError, String(e));
        assert.ok(e.statusCode >= 400, e.message);
        assert.match(e.message, field);
        return true;
      });
    };
    // A wrong type fails server-side apply's typed patch (500, the field named), before validation.
    const wrongType = renderIstioGateway(i) as any;
    wrongType.spec.servers[0].port.number = '9094';
    await refused(wrongType, /\.spec\.servers\[0\]\.port\.number: expected numeric/);
    const wrongEnum = renderIstioGateway(i) as any;
    wrongEnum.spec.servers[1].tls.mode = 'TERMINATE';
    await refused(wrongEnum, /spec\.servers\[1\]\.tls\.mode: Unsupported value: "TERMINATE"/);
    const missing = renderIstioVirtualService(i) as any;
    delete missing.spec.tls[1].match[0].sniHosts;
    await refused(missing, /spec\.tls\[1\]\.match\[0\]\.sniHosts: Required value/);
  });
});
