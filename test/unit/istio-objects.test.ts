/** The Istio Gateway and VirtualService renderers: ports, SNI hosts, bootstrap destinations, determinism. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evenWeights, renderIstioGateway, renderIstioVirtualService, type IstioIngress } from '../../lib/render/istio-objects.js';

/** Brokers 0..n-1 at 9095+id, bootstrap at 9094, each behind its own Service. */
function ingress(mode: IstioIngress['mode'], brokers = 3): IstioIngress {
  const svc = (id: number) => ({ host: `demo-broker-${id}.kafka.svc.cluster.local`, port: 9093 });
  const ids = Array.from({ length: brokers }, (_, id) => id);
  return {
    name: 'demo-external',
    namespace: 'kafka',
    labels: { 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/instance': 'demo' },
    selector: { istio: 'ingressgateway' },
    host: 'kafka.example.com',
    mode,
    routes: [
      { name: 'bootstrap', port: 9094, destinations: ids.map(svc) },
      ...ids.map((id) => ({ name: `broker-${id}`, port: 9095 + id, destinations: [svc(id)] })),
    ],
  };
}

const spec = (o: Record<string, unknown>): any => o.spec;

test('tcp: one TCP server per route port, any host; the VirtualService routes each port to its destinations', () => {
  const i = ingress('tcp');
  const gw = renderIstioGateway(i);
  assert.equal(gw.apiVersion, 'networking.istio.io/v1');
  assert.equal(gw.kind, 'Gateway');
  assert.deepEqual(gw.metadata, { labels: { 'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/name': 'kafka' }, name: 'demo-external', namespace: 'kafka' });
  assert.deepEqual(spec(gw).selector, { istio: 'ingressgateway' });
  assert.deepEqual(spec(gw).servers, [9094, 9095, 9096, 9097].map((number, n) => {
    const name = n === 0 ? 'bootstrap' : `broker-${n - 1}`;
    return { hosts: ['*'], name: `demo-external-${name}`, port: { name: `tcp-${name}`, number, protocol: 'TCP' } };
  }));

  const vs = spec(renderIstioVirtualService(i));
  assert.deepEqual(vs.gateways, ['demo-external']);
  assert.deepEqual(vs.hosts, ['kafka.example.com']);
  assert.equal(vs.tls, undefined);
  assert.deepEqual(vs.tcp.map((r: any) => r.match), [[{ port: 9094 }], [{ port: 9095 }], [{ port: 9096 }], [{ port: 9097 }]]);
  assert.deepEqual(vs.tcp[2].route, [{ destination: { host: 'demo-broker-1.kafka.svc.cluster.local', port: { number: 9093 } } }], 'a lone destination has no weight');
});

test('tls-passthrough: TLS servers for the host, not terminated; routes match port and SNI host', () => {
  const i = ingress('tls-passthrough', 2);
  const servers = spec(renderIstioGateway(i)).servers;
  assert.deepEqual(servers.map((s: any) => [s.port.number, s.port.protocol, s.port.name, s.hosts, s.tls]), [
    [9094, 'TLS', 'tls-bootstrap', ['kafka.example.com'], { mode: 'PASSTHROUGH' }],
    [9095, 'TLS', 'tls-broker-0', ['kafka.example.com'], { mode: 'PASSTHROUGH' }],
    [9096, 'TLS', 'tls-broker-1', ['kafka.example.com'], { mode: 'PASSTHROUGH' }],
  ]);
  const vs = spec(renderIstioVirtualService(i));
  assert.equal(vs.tcp, undefined);
  assert.deepEqual(vs.tls.map((r: any) => r.match), [9094, 9095, 9096].map((port) => [{ port, sniHosts: ['kafka.example.com'] }]));
});

test('the bootstrap route spreads over every broker, in input order, with weights summing to 100', () => {
  for (const brokers of [2, 3, 6, 7]) {
    const boot = spec(renderIstioVirtualService(ingress('tcp', brokers))).tcp[0].route;
    assert.deepEqual(boot.map((d: any) => d.destination.host), Array.from({ length: brokers }, (_, id) => `demo-broker-${id}.kafka.svc.cluster.local`));
    assert.equal(boot.reduce((sum: number, d: any) => sum + d.weight, 0), 100, `${brokers} brokers`);
  }
  assert.deepEqual(evenWeights(3), [34, 33, 33]);
  assert.deepEqual(evenWeights(6), [17, 17, 17, 17, 16, 16]);
  assert.deepEqual(evenWeights(1), [100]);
  assert.deepEqual(evenWeights(101), Array.from({ length: 101 }, () => 1), 'beyond 100 destinations, equal relative weights, never 0');
});

test('deterministic: the same input renders the same bytes, keys sorted at every depth', () => {
  for (const mode of ['tcp', 'tls-passthrough'] as const) {
    for (const render of [renderIstioGateway, renderIstioVirtualService]) {
      const a = JSON.stringify(render(ingress(mode)));
      const reordered = { ...ingress(mode), labels: { 'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/name': 'kafka' } };
      assert.equal(JSON.stringify(render(reordered)), a);
      assertSortedKeys(JSON.parse(a), render.name);
    }
  }
});

test('no labels: metadata has none (no empty map)', () => {
  assert.deepEqual(renderIstioGateway({ ...ingress('tcp'), labels: {} }).metadata, { name: 'demo-external', namespace: 'kafka' });
});

test('input the gateway cannot serve is refused, naming the field', () => {
  const i = ingress('tcp', 2);
  const withRoutes = (routes: IstioIngress['routes']) => ({ ...i, routes });
  const r = i.routes;
  assert.throws(() => renderIstioGateway(withRoutes([])), /Istio ingress "demo-external": routes is empty/);
  assert.throws(() => renderIstioGateway(withRoutes([r[0]!, { ...r[1]!, port: 9094 }])), /routes\[1\]\.port 9094 is also routes\[0\]\.port/);
  assert.throws(() => renderIstioGateway(withRoutes([r[0]!, { ...r[1]!, name: 'bootstrap' }])), /routes\[1\]\.name "bootstrap" is also routes\[0\]\.name/);
  assert.throws(() => renderIstioVirtualService(withRoutes([{ ...r[0]!, port: 70_000 }])), /routes\[0\]\.port 70000 is not a TCP port/);
  assert.throws(() => renderIstioVirtualService(withRoutes([{ ...r[0]!, destinations: [] }])), /routes\[0\] \("bootstrap"\) has no destinations/);
  assert.throws(() => renderIstioVirtualService(withRoutes([{ ...r[0]!, destinations: [{ host: 'x', port: 0 }] }])), /routes\[0\]\.destinations\[0\]\.port 0/);
  assert.throws(() => renderIstioVirtualService({ ...i, host: '' }), /host is empty/);
});

function assertSortedKeys(v: unknown, path: string): void {
  if (Array.isArray(v)) return v.forEach((x, n) => assertSortedKeys(x, `${path}[${n}]`));
  if (typeof v !== 'object' || v === null) return;
  const keys = Object.keys(v);
  assert.deepEqual(keys, [...keys].sort(), path);
  for (const k of keys) assertSortedKeys((v as Record<string, unknown>)[k], `${path}.${k}`);
}
