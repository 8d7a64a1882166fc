/**
 * lib/render/envoy-config.ts: ports per broker, the bootstrap cluster reaching every broker,
 * byte-identical output for the same routing (whatever the broker order), and a bootstrap
 * file that no broker change touches. test/integration/envoy.test.ts proves the same files
 * with a real Envoy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ENVOY_FILES, renderEnvoyBootstrap, renderEnvoyClusters, renderEnvoyListeners, type EnvoyRouting } from '../../lib/render/envoy-config.js';

const EXTERNAL_START = 31_000;

function routing(ids: readonly number[], over: Partial<EnvoyRouting> = {}): EnvoyRouting {
  return {
    clusterName: 'demo',
    brokers: ids.map((id) => ({ id, listenPort: EXTERNAL_START + id, upstream: { host: `demo-broker-${id}.kafka.svc.cluster.local`, port: 9094 } })),
    bootstrapPort: 30_999,
    healthPort: 30_998,
    adminPort: 30_997,
    dynamicDir: '/etc/envoy/dynamic',
    ...over,
  };
}

type Resource = Record<string, any>;
const resources = (text: string): Resource[] => (parse(text) as { resources: Resource[] }).resources;
const byName = (list: Resource[]): Map<string, Resource> => new Map(list.map((r) => [r.name as string, r]));
const endpointsOf = (cluster: Resource): string[] =>
  (cluster.load_assignment.endpoints as Resource[]).flatMap((e) => (e.lb_endpoints as Resource[]).map((l) => `${l.endpoint.address.socket_address.address}:${l.endpoint.address.socket_address.port_value}`));

describe('Envoy config for external access', () => {
  it('gives every broker a listener on its own port, proxying to a cluster of its own upstream', () => {
    const r = routing([0, 1, 5]);
    const listeners = byName(resources(renderEnvoyListeners(r)));
    const clusters = byName(resources(renderEnvoyClusters(r)));
    assert.deepEqual([...listeners.keys()], ['bootstrap', 'broker-0', 'broker-1', 'broker-5']);
    for (const id of [0, 1, 5]) {
      const l = listeners.get(`broker-${id}`)!;
      assert.equal(l.address.socket_address.port_value, EXTERNAL_START + id);
      const proxy = l.filter_chains[0].filters[0].typed_config;
      assert.equal(proxy.cluster, `broker-${id}`);
      assert.equal(proxy.stat_prefix, `demo.broker-${id}`);
      assert.equal(l.stat_prefix, `broker-${id}`);
      assert.deepEqual(endpointsOf(clusters.get(`broker-${id}`)!), [`demo-broker-${id}.kafka.svc.cluster.local:9094`]);
    }
    assert.equal(listeners.get('bootstrap')!.address.socket_address.port_value, 30_999);
  });

  it('sends the bootstrap port to every broker', () => {
    const clusters = byName(resources(renderEnvoyClusters(routing([2, 0, 1]))));
    assert.deepEqual(endpointsOf(clusters.get('bootstrap')!), [0, 1, 2].map((id) => `demo-broker-${id}.kafka.svc.cluster.local:9094`));
  });

  it('re-resolves DNS upstreams (a headless Service follows its recreated Pod)', () => {
    for (const c of resources(renderEnvoyClusters(routing([0])))) {
      const dns = c.cluster_type.typed_config;
      assert.equal(c.cluster_type.name, 'envoy.clusters.dns');
      assert.equal(dns.all_addresses_in_single_endpoint, false);
      assert.equal(dns.respect_dns_ttl, true);
      assert.equal(dns.dns_refresh_rate, '5s');
    }
  });

  it('renders byte-identical files for the same routing, whatever the broker order', () => {
    const a = routing([0, 1, 2]);
    const b = { ...a, brokers: [a.brokers[2]!, a.brokers[0]!, a.brokers[1]!] };
    for (const render of [renderEnvoyBootstrap, renderEnvoyListeners, renderEnvoyClusters]) {
      assert.equal(render(a), render(a));
      assert.equal(render(b), render(a));
    }
  });

  it('keeps the bootstrap file as it is when brokers are added, removed or moved', () => {
    const boot = renderEnvoyBootstrap(routing([0, 1, 2]));
    assert.equal(renderEnvoyBootstrap(routing([])), boot);
    assert.equal(renderEnvoyBootstrap(routing([0, 1, 2, 3, 7])), boot);
    const moved = routing([0, 1, 2]).brokers.map((b) => ({ ...b, upstream: { host: '10.0.0.9', port: 9095 } }));
    assert.equal(renderEnvoyBootstrap({ ...routing([]), brokers: moved }), boot);
    // ...while the dynamic files do change.
    assert.notEqual(renderEnvoyListeners(routing([0, 1, 2, 3])), renderEnvoyListeners(routing([0, 1, 2])));
    assert.notEqual(renderEnvoyClusters(routing([0, 1, 2, 3])), renderEnvoyClusters(routing([0, 1, 2])));
  });

  it('leaves the resources of unchanged brokers byte-identical when another broker is added (Envoy keeps them and their connections)', () => {
    const before = resources(renderEnvoyListeners(routing([0, 1])));
    const after = resources(renderEnvoyListeners(routing([0, 1, 2])));
    assert.deepEqual(after.filter((l) => l.name !== 'broker-2'), before);
    const cBefore = byName(resources(renderEnvoyClusters(routing([0, 1]))));
    const cAfter = byName(resources(renderEnvoyClusters(routing([0, 1, 2]))));
    for (const name of ['broker-0', 'broker-1']) assert.deepEqual(cAfter.get(name), cBefore.get(name));
  });

  it('points LDS and CDS at the mounted files and watches their directory', () => {
    const boot = parse(renderEnvoyBootstrap(routing([0], { dynamicDir: '/etc/envoy/dynamic/' }))) as Resource;
    const lds = boot.dynamic_resources.lds_config.path_config_source;
    const cds = boot.dynamic_resources.cds_config.path_config_source;
    assert.deepEqual(lds, { path: `/etc/envoy/dynamic/${ENVOY_FILES.listeners}`, watched_directory: { path: '/etc/envoy/dynamic/' } });
    assert.deepEqual(cds, { path: `/etc/envoy/dynamic/${ENVOY_FILES.clusters}`, watched_directory: { path: '/etc/envoy/dynamic/' } });
    assert.equal(boot.admin.address.socket_address.port_value, 30_997);
    assert.equal(boot.static_resources.listeners[0].address.socket_address.port_value, 30_998);
  });

  it('versions each dynamic file by its content', () => {
    const v = (text: string) => (parse(text) as { version_info: string }).version_info;
    assert.equal(v(renderEnvoyClusters(routing([0, 1]))), v(renderEnvoyClusters(routing([1, 0]))));
    assert.notEqual(v(renderEnvoyClusters(routing([0, 1]))), v(renderEnvoyClusters(routing([0, 1, 2]))));
  });

  it('refuses routings with clashing ports or ids, naming the fields', () => {
    assert.throws(() => renderEnvoyListeners(routing([0], { healthPort: 31_000 })), /brokers\[id=0\]\.listenPort 31000 is also healthPort/);
    const twice = routing([1]);
    assert.throws(() => renderEnvoyClusters({ ...twice, brokers: [...twice.brokers, { ...twice.brokers[0]!, listenPort: 40_000 }] }), /brokers\[\]\.id 1 appears twice/);
    assert.throws(() => renderEnvoyBootstrap(routing([0], { dynamicDir: 'relative/dir' })), /dynamicDir 'relative\/dir' must be an absolute path/);
  });
});
