/**
 * The contribution point: features shape a node before its Pod and server.properties
 * are rendered and hashed, and two features claiming the same thing is an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { nodeContributions, NODE_FEATURES, type NodeFeature } from '../../lib/render/contributions.js';
import { renderNodePod } from '../../lib/render/node-pod.js';
import { renderServerProperties } from '../../lib/config/server-properties.js';
import { resolveSpec } from '../../lib/spec/resolve.js';

const example = (file: string) => parseYaml(readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8'));
const model = resolveSpec(example('small-combined.yaml'));
const node = model.brokers[0]!;

test('every feature is merged in a fixed order: listeners, TLS, Istio', () => {
  assert.deepEqual(NODE_FEATURES.map((f) => f.name), ['listeners', 'tls', 'istio']);
  const merged = nodeContributions(model, node);
  assert.deepEqual(merged.ports, [
    { name: 'internal', containerPort: 9092, protocol: 'TCP' },
    { name: 'controller', containerPort: 9093, protocol: 'TCP' },
  ]);
  assert.equal(merged.config['listeners'], 'INTERNAL://:9092,CONTROLLER://:9093');
  assert.equal(merged.launch('kafka'), 'exec kafka');
});

test('what a feature contributes reaches the Pod and server.properties, and so the desired hash', () => {
  const extra: NodeFeature = {
    name: 'test',
    contribute: () => ({
      config: { 'test.key': 'v' },
      env: [{ name: 'TEST_ENV', value: '1' }],
      volumes: [{ name: 'extra', emptyDir: {} }],
      volumeMounts: [{ name: 'extra', mountPath: '/extra' }],
      initContainers: [{ name: 'init', image: 'busybox' }],
      podAnnotations: { 'example.com/a': 'b' },
      beforeStart: 'echo before',
      launch: (command) => `${command}; echo after`,
    }),
  };
  const merged = nodeContributions(model, node, [...NODE_FEATURES, extra]);
  assert.equal(merged.config['test.key'], 'v');
  assert.deepEqual(merged.beforeStart, ['echo before']);
  assert.equal(merged.launch('kafka'), 'kafka; echo after');
  // The Pod as rendered for the real feature set, then for the real set plus this one: only through the contribution point.
  const plain = renderNodePod(model, node, renderServerProperties(model, node));
  const istio = resolveSpec({ ...example('small-combined.yaml'), istio: {} });
  const withIstio = renderNodePod(istio, istio.brokers[0]!, renderServerProperties(istio, istio.brokers[0]!));
  assert.notEqual(withIstio.hash, plain.hash, 'a feature changes the desired hash');
  const command = (withIstio.manifest as any).spec.containers[0].command[2] as string;
  assert.match(command, /wait_for_sidecar \|\| exit 1/);
  assert.match(command, /kafka-server-start\.sh "\$conf\/server\.properties" &\nkafka_pid=\$!/);
  assert.doesNotMatch(command, /exec \/opt\/kafka\/bin\/kafka-server-start/);
});

test('two features claiming the same key, volume, mount, port or the launch is an error naming both', () => {
  const claim = (name: string, c: ReturnType<NodeFeature['contribute']>): NodeFeature => ({ name, contribute: () => c });
  const clash = (a: NodeFeature, b: NodeFeature) => () => nodeContributions(model, node, [a, b]);
  assert.throws(clash(claim('a', { config: { k: '1' } }), claim('b', { config: { k: '2' } })), /features 'a' and 'b' both contribute config key k to node small-broker-1/);
  assert.throws(clash(claim('a', { volumes: [{ name: 'v' }] }), claim('b', { volumes: [{ name: 'v' }] })), /both contribute volume v/);
  assert.throws(clash(claim('a', { volumeMounts: [{ name: 'x', mountPath: '/m' }] }), claim('b', { volumeMounts: [{ name: 'y', mountPath: '/m' }] })), /mount path \/m/);
  assert.throws(clash(claim('a', { ports: [{ name: 'p', containerPort: 1, protocol: 'TCP' }] }), claim('b', { ports: [{ name: 'q', containerPort: 1, protocol: 'TCP' }] })), /port 1/);
  assert.throws(clash(claim('a', { launch: (c) => c }), claim('b', { launch: (c) => c })), /the launch of Kafka/);
  assert.throws(() => nodeContributions(model, node, [...NODE_FEATURES, claim('late', { config: { listeners: 'X' } })]), /features 'listeners' and 'late' both contribute config key listeners/);
});
