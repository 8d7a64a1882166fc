/**
 * External access in the synthesized output: the Envoy LoadBalancer (objects, ports, a Pod
 * template that no broker change touches) and the Istio mode (ClusterIP node Services,
 * sidecar wait in the start script, Gateway and VirtualService), plus the spec errors for
 * external ports that collide.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { parseProperties } from '../../lib/config/properties-format.js';
import { ENVOY_FILES } from '../../lib/render/envoy-config.js';
import { sidecarQuitFunction, sidecarWaitFunction, superviseWithSidecar } from '../../lib/render/istio-sidecar.js';
import { SpecValidationError } from '../../lib/spec/problems.js';
import { synthCluster } from '../../lib/synth.js';
import { diffObjects, key, objectTexts, type K8sObject } from '../support/synth.js';

const HOST = 'kafka.example.com';
const START = 19000;
const BOOTSTRAP = 19092;

function envoySpec(ids: number[] = [0, 1, 2]): any {
  return {
    name: 'edge',
    namespace: 'kafka',
    controllers: { mode: 'combined' },
    brokers: ids.map((id) => ({ id })),
    config: { 'offsets.topic.replication.factor': 1, 'transaction.state.log.replication.factor': 1, 'transaction.state.log.min.isr': 1 },
    externalAccess: { type: 'envoy', host: HOST, externalStartingPort: START, bootstrapPort: BOOTSTRAP },
  };
}

function istioSpec(istio: object = {}): any {
  const spec = envoySpec();
  return { ...spec, name: 'mesh', istio, externalAccess: { type: 'istio', host: HOST, istio: { mode: 'tcp' } } };
}

const objectsOf = (spec: unknown): K8sObject[] => parseAllDocuments(synthCluster(spec).yaml).map((d) => d.toJS() as K8sObject);
const find = (objects: K8sObject[], kind: string, name: string): any => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is in the output`);
  return o;
};
const problemsOf = (spec: unknown): string[] => {
  try {
    synthCluster(spec);
  } catch (err) {
    assert.ok(err instanceof SpecValidationError, String(err));
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return assert.fail('the spec was accepted');
};

test('envoy: ConfigMaps, Deployment, LoadBalancer and admin Services, PDB, all labelled as the cluster\'s envoy', () => {
  const objects = objectsOf(envoySpec());
  const envoy = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'envoy').map(key).sort();
  assert.deepEqual(envoy, [
    'ConfigMap/edge-envoy', 'ConfigMap/edge-envoy-routes', 'Deployment/edge-envoy', 'PodDisruptionBudget/edge-envoy', 'Service/edge-envoy', 'Service/edge-envoy-admin',
  ]);
  for (const o of objects.filter((x) => envoy.includes(key(x)))) {
    assert.equal(o.metadata.labels?.['kafka-cdk8s.io/cluster'], 'edge', key(o));
    assert.equal(o.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune'], undefined, `${key(o)} is a normal GitOps object, pruned normally`);
  }
  assert.deepEqual(Object.keys(find(objects, 'ConfigMap', 'edge-envoy').data), [ENVOY_FILES.bootstrap]);
  assert.deepEqual(Object.keys(find(objects, 'ConfigMap', 'edge-envoy-routes').data).sort(), [ENVOY_FILES.clusters, ENVOY_FILES.listeners].sort());
  assert.deepEqual(find(objects, 'PodDisruptionBudget', 'edge-envoy').spec.maxUnavailable, 1);
});

test('envoy: the LoadBalancer has a port per broker, bootstrap and health, never admin; admin is ClusterIP only', () => {
  const objects = objectsOf({ ...envoySpec([0, 1, 5]), externalAccess: { ...envoySpec().externalAccess, envoy: { loadBalancerSourceRanges: ['203.0.113.0/24'], loadBalancerClass: 'example.com/lb', serviceAnnotations: { a: 'b' } } } });
  const lb = find(objects, 'Service', 'edge-envoy');
  assert.equal(lb.spec.type, 'LoadBalancer');
  assert.equal(lb.spec.externalTrafficPolicy, 'Local');
  assert.deepEqual(lb.spec.loadBalancerSourceRanges, ['203.0.113.0/24']);
  assert.equal(lb.spec.loadBalancerClass, 'example.com/lb');
  assert.deepEqual(lb.metadata.annotations, { a: 'b' });
  assert.deepEqual(lb.spec.ports.map((p: any) => [p.name, p.port, p.targetPort]), [
    ['bootstrap', BOOTSTRAP, BOOTSTRAP], ['broker-0', START, START], ['broker-1', START + 1, START + 1], ['broker-5', START + 5, START + 5], ['health', 8081, 8081],
  ]);
  assert.ok(!lb.spec.ports.some((p: any) => p.port === 9901), 'the admin port is not on the LoadBalancer');
  const admin = find(objects, 'Service', 'edge-envoy-admin');
  assert.equal(admin.spec.type, 'ClusterIP');
  assert.deepEqual(admin.spec.ports.map((p: any) => [p.name, p.port]), [['admin', 9901]]);
});

test('envoy: the routes send each broker port to its Service\'s EXTERNAL port, the bootstrap port to every broker', () => {
  const routes = find(objectsOf(envoySpec()), 'ConfigMap', 'edge-envoy-routes').data;
  const listeners = parseAllDocuments(routes[ENVOY_FILES.listeners])[0]!.toJS().resources;
  assert.deepEqual(listeners.map((l: any) => [l.name, l.address.socket_address.port_value]), [['bootstrap', BOOTSTRAP], ['broker-0', START], ['broker-1', START + 1], ['broker-2', START + 2]]);
  const clusters = parseAllDocuments(routes[ENVOY_FILES.clusters])[0]!.toJS().resources;
  const upstreams = (c: any) => c.load_assignment.endpoints[0].lb_endpoints.map((e: any) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`);
  const svc = (id: number) => `edge-broker-${id}.kafka.svc.cluster.local:9094`;
  assert.deepEqual(Object.fromEntries(clusters.map((c: any) => [c.name, upstreams(c)])), {
    'bootstrap': [svc(0), svc(1), svc(2)], 'broker-0': [svc(0)], 'broker-1': [svc(1)], 'broker-2': [svc(2)],
  });
});

test('envoy: the Deployment is Pod Security "restricted", spread, rolls one up first, drains without a shell', () => {
  const d = find(objectsOf(envoySpec()), 'Deployment', 'edge-envoy');
  assert.deepEqual(d.spec.strategy, { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }, type: 'RollingUpdate' });
  assert.equal(d.spec.replicas, 2);
  const pod = d.spec.template.spec;
  assert.equal(pod.enableServiceLinks, false);
  assert.equal(pod.automountServiceAccountToken, false);
  assert.deepEqual(pod.securityContext, { runAsGroup: 101, runAsNonRoot: true, runAsUser: 101, seccompProfile: { type: 'RuntimeDefault' } });
  assert.deepEqual(pod.topologySpreadConstraints.map((c: any) => [c.topologyKey, c.whenUnsatisfiable]), [['kubernetes.io/hostname', 'ScheduleAnyway'], ['topology.kubernetes.io/zone', 'ScheduleAnyway']]);
  const [c] = pod.containers;
  assert.deepEqual(c.command.slice(0, 3), ['envoy', '-c', '/etc/envoy/bootstrap/envoy.yaml']);
  assert.ok(c.command.includes('--disable-hot-restart'));
  assert.ok(c.command.includes('--drain-time-s'));
  assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/ready', port: 'admin' });
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/server_info', port: 'admin' });
  assert.ok(c.lifecycle.preStop.sleep.seconds > 0, 'preStop uses Kubernetes\' sleep action');
  assert.ok(pod.terminationGracePeriodSeconds > c.lifecycle.preStop.sleep.seconds);
  assert.deepEqual(c.volumeMounts.map((m: any) => m.mountPath), ['/etc/envoy/bootstrap', '/etc/envoy/dynamic']);
  assert.ok(!c.volumeMounts.some((m: any) => m.subPath), 'no subPath: the kubelet swaps only whole ConfigMap volumes');
  assert.deepEqual(pod.volumes.map((v: any) => v.configMap.name), ['edge-envoy', 'edge-envoy-routes']);
});

test('envoy: a broker added changes the routes and the LoadBalancer, never the Deployment or the bootstrap', () => {
  const before = synthCluster(envoySpec([0, 1, 2])).yaml;
  const after = synthCluster(envoySpec([0, 1, 2, 3])).yaml;
  const changed = diffObjects(before, after).changed.filter((k) => k.includes('envoy'));
  assert.deepEqual(changed, ['ConfigMap/edge-envoy-routes', 'Service/edge-envoy']);
  const [a, b] = [objectTexts(before), objectTexts(after)];
  for (const k of ['Deployment/edge-envoy', 'ConfigMap/edge-envoy', 'Service/edge-envoy-admin', 'PodDisruptionBudget/edge-envoy']) assert.equal(b.get(k), a.get(k), `${k} is byte-identical`);
  assert.doesNotMatch(a.get('Deployment/edge-envoy')!, /checksum|hash/i, 'no checksum of the routes in the Pod template');
});

test('envoy: brokers advertise the external host with their own port and listen on the external port; node Services carry it', () => {
  const objects = objectsOf(envoySpec([0, 1, 4]));
  for (const id of [0, 1, 4]) {
    const props = parseProperties(find(objects, 'ConfigMap', `edge-broker-${id}`).data['server.properties']);
    assert.match(props['advertised.listeners']!, new RegExp(`(^|,)EXTERNAL://${HOST}:${START + id}(,|$)`));
    assert.match(props.listeners!, /(^|,)EXTERNAL:\/\/:9094(,|$)/);
    assert.match(props['listener.security.protocol.map']!, /EXTERNAL:PLAINTEXT/);
    const svc = find(objects, 'Service', `edge-broker-${id}`);
    assert.ok(svc.spec.ports.some((p: any) => p.name === 'external' && p.port === 9094), `Service/edge-broker-${id} has the external port`);
    assert.equal(svc.spec.clusterIP, 'None', 'headless outside a mesh');
  }
});

test('envoy and istio: synthesis is deterministic, whatever the broker order', () => {
  for (const spec of [envoySpec([2, 0, 1]), istioSpec()]) {
    const first = synthCluster(spec).yaml;
    assert.equal(synthCluster(structuredClone(spec)).yaml, first);
    const reversed = structuredClone(spec);
    reversed.brokers.reverse();
    assert.equal(synthCluster(reversed).yaml, first);
  }
});

test('istio: node Services are ClusterIP with appProtocol tcp; the Kafka start waits for the sidecar and stops it', () => {
  const objects = objectsOf(istioSpec());
  for (const id of [0, 1, 2]) {
    const svc = find(objects, 'Service', `mesh-broker-${id}`);
    assert.equal(svc.spec.clusterIP, undefined, 'a ClusterIP Service (no clusterIP: None): the sidecar routes by Service VIP');
    assert.ok(svc.spec.ports.length > 0);
    for (const p of svc.spec.ports) assert.equal(p.appProtocol, 'tcp', `${p.name} is opaque TCP to the mesh`);
    const script: string = find(objects, 'Pod', `mesh-broker-${id}`).spec.containers[0].command.join('\n');
    assert.ok(script.includes(sidecarWaitFunction()), 'defines wait_for_sidecar');
    assert.ok(script.includes(sidecarQuitFunction()), 'defines quit_sidecar');
    assert.ok(script.includes('wait_for_sidecar || exit 1'));
    assert.ok(script.includes(superviseWithSidecar('/opt/kafka/bin/kafka-server-start.sh "$conf/server.properties"')), 'Kafka runs as a child, then the sidecar is told to quit');
    assert.doesNotMatch(script, /exec \/opt\/kafka\/bin\/kafka-server-start\.sh/);
  }
});

test('istio: native sidecars need no wait and no supervision', () => {
  const objects = objectsOf(istioSpec({ nativeSidecars: true }));
  const script: string = find(objects, 'Pod', 'mesh-broker-0').spec.containers[0].command.join('\n');
  assert.doesNotMatch(script, /wait_for_sidecar|quit_sidecar/);
  assert.match(script, /exec \/opt\/kafka\/bin\/kafka-server-start\.sh/);
  assert.equal(find(objects, 'Service', 'mesh-broker-0').spec.clusterIP, undefined, 'still ClusterIP in the mesh');
});

test('istio: a Gateway port per broker and the bootstrap port; the VirtualService routes them to the brokers\' external port', () => {
  const objects = objectsOf(istioSpec());
  assert.ok(!objects.some((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'envoy'), 'no Envoy in istio mode');
  const gw = find(objects, 'Gateway', 'mesh-external');
  assert.equal(gw.apiVersion, 'networking.istio.io/v1');
  assert.deepEqual(gw.spec.selector, { istio: 'ingressgateway' });
  assert.deepEqual(gw.spec.servers.map((s: any) => [s.port.number, s.port.protocol]), [[BOOTSTRAP, 'TCP'], [START, 'TCP'], [START + 1, 'TCP'], [START + 2, 'TCP']]);
  const vs = find(objects, 'VirtualService', 'mesh-external');
  assert.deepEqual(vs.spec.gateways, ['mesh-external']);
  assert.deepEqual(vs.spec.hosts, [HOST]);
  const svc = (id: number) => `mesh-broker-${id}.kafka.svc.cluster.local`;
  assert.deepEqual(vs.spec.tcp.map((r: any) => [r.match[0].port, r.route.map((d: any) => `${d.destination.host}:${d.destination.port.number}`)]), [
    [BOOTSTRAP, [0, 1, 2].map((id) => `${svc(id)}:9094`)],
    ...[0, 1, 2].map((id) => [START + id, [`${svc(id)}:9094`]]),
  ]);
  assert.equal(vs.spec.tcp[0].route.reduce((sum: number, d: any) => sum + d.weight, 0), 100, 'bootstrap spread evenly');
});

test('spec errors: a bootstrap port inside the broker range, or a broker port beyond 65535, names the field', () => {
  const inside = envoySpec();
  inside.externalAccess.bootstrapPort = START + 1;
  assert.ok(problemsOf(inside).some((p) => p.startsWith('externalAccess.bootstrapPort: port 19001 is broker 1\'s external port')), problemsOf(inside).join('\n'));

  const health = envoySpec();
  health.externalAccess.envoy = { healthPort: START + 2 };
  assert.ok(problemsOf(health).some((p) => p.startsWith('externalAccess.envoy.healthPort: port 19002 is broker 2\'s')), problemsOf(health).join('\n'));

  const beyond = envoySpec([0, 1, 600]);
  beyond.externalAccess.externalStartingPort = 65_000;
  assert.ok(problemsOf(beyond).some((p) => p.startsWith('externalAccess.externalStartingPort: broker 600 would be reached at port 65600, beyond 65535')), problemsOf(beyond).join('\n'));
});
