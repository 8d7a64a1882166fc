/**
 * The runtime controller's objects (ServiceAccount, Role, RoleBinding,
 * Deployment, Service), its spec section, and the Dockerfile that builds its
 * image (CI cannot build images, so the Dockerfile's facts are checked here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pkg from '../../package.json' with { type: 'json' };
import versions from '../../versions.json' with { type: 'json' };
import { resolveSpec } from '../../lib/spec/resolve.js';
import { validateSpec } from '../../lib/spec/validate.js';
import { exampleSpec, key, synthObjects, type K8sObject } from '../support/synth.js';

const OPERATOR_KINDS = ['ServiceAccount', 'Role', 'RoleBinding', 'Deployment', 'Service'];
const LABELS = {
  'app.kubernetes.io/component': 'operator',
  'app.kubernetes.io/managed-by': 'kafka-cdk8s',
  'app.kubernetes.io/name': 'kafka',
  'app.kubernetes.io/part-of': 'kafka-cdk8s',
  'kafka-cdk8s.io/cluster': 'demo',
};
const operatorObjects = (objects: K8sObject[]) => objects.filter((o) => o.metadata.name.endsWith('-operator'));
const byKey = (objects: K8sObject[], k: string): any => objects.find((o) => key(o) === k);
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const withOperator = (operator: unknown) => ({ ...exampleSpec(), operator });

test('on by default: a ServiceAccount, Role, RoleBinding, Deployment and Service named <cluster>-operator, with our labels, applied normally', () => {
  const objects = synthObjects(exampleSpec());
  const ours = operatorObjects(objects);
  assert.deepEqual(ours.map(key).sort(), OPERATOR_KINDS.map((k) => `${k}/demo-operator`).sort());
  for (const o of ours) {
    assert.equal(o.metadata.namespace, 'kafka', key(o));
    assert.deepEqual(o.metadata.labels, LABELS, `${key(o)}: no kafka-cdk8s.io/pool label, which the PDBs select on`);
    assert.equal(o.metadata.annotations, undefined, `${key(o)}: not create-only, not prune-proof`);
    assert.equal((o.metadata as any).ownerReferences, undefined);
  }
  const model = resolveSpec(exampleSpec()).operator!;
  assert.equal(model.name, 'demo-operator');
  assert.equal(model.stateConfigMap, 'demo-operator-state');
  assert.equal(model.lease, 'demo-operator');
});

test('the Role allows exactly what the controller does; changes are limited to its own state ConfigMap and Lease, deletions to retiring a controller', () => {
  const objects = synthObjects(exampleSpec());
  assert.deepEqual(byKey(objects, 'Role/demo-operator').rules, [
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete', 'patch'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
    { apiGroups: [''], resources: ['configmaps'], resourceNames: ['demo-operator-state'], verbs: ['update', 'patch'] },
    { apiGroups: [''], resources: ['services'], verbs: ['delete'] },
    { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'delete'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['demo-operator'], verbs: ['get', 'update'] },
  ]);
  const binding = byKey(objects, 'RoleBinding/demo-operator');
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'demo-operator' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'demo-operator', namespace: 'kafka' }]);
  const account = byKey(objects, 'ServiceAccount/demo-operator');
  assert.equal(account.automountServiceAccountToken, undefined, 'the token is mounted (the default): the controller talks to the API server');
  assert.ok(!objects.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'), 'nothing cluster-wide');
});

test('the Deployment: one replica, Recreate, its ServiceAccount, Pod Security "restricted", the controller command line', () => {
  const objects = synthObjects(exampleSpec());
  const deployment = byKey(objects, 'Deployment/demo-operator');
  const { spec } = deployment;
  assert.equal(spec.replicas, 1);
  assert.deepEqual(spec.strategy, { type: 'Recreate' });
  assert.ok(matches(spec.selector.matchLabels, spec.template.metadata.labels), 'the selector selects its own Pods');
  assert.ok(Object.keys(spec.selector.matchLabels).every((k) => k !== 'app.kubernetes.io/instance'), 'Argo CD rewrites app.kubernetes.io/instance');
  assert.deepEqual(spec.template.metadata.labels, LABELS);
  for (const pod of objects.filter((o) => o.kind === 'Pod')) {
    assert.ok(!matches(spec.selector.matchLabels, pod.metadata.labels), `does not select ${key(pod)}`);
  }
  for (const o of objects.filter((x) => x.kind === 'PodDisruptionBudget' || (x.kind === 'Service' && x.metadata.name !== 'demo-operator'))) {
    const selector = (o as any).spec.selector.matchLabels ?? (o as any).spec.selector;
    assert.ok(!matches(selector, spec.template.metadata.labels), `${key(o)} does not select the controller`);
  }

  const pod = spec.template.spec;
  assert.equal(pod.serviceAccountName, 'demo-operator');
  assert.equal(pod.automountServiceAccountToken, undefined);
  assert.equal(pod.enableServiceLinks, false);
  assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
  assert.equal(pod.containers.length, 1);
  const [container] = pod.containers;
  assert.equal(container.name, 'operator');
  assert.deepEqual(container.securityContext, {
    allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true,
  });
  assert.deepEqual(pod.volumes, [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }], 'only an emptyDir: allowed under "restricted"');
  assert.equal(container.image, `ghcr.io/kafka-cdk8s/kafka-cdk8s:${pkg.version}`);
  assert.equal(container.imagePullPolicy, undefined, "Kubernetes' own default");
  assert.equal(container.command, undefined, 'the image entrypoint is the CLI');
  assert.deepEqual(container.args, [
    'controller', '--namespace', 'kafka', '--cluster', 'demo',
    '--bootstrap', 'demo-bootstrap.kafka.svc.cluster.local:9092',
    '--failure-threshold', '0', '--listen', '0.0.0.0:8080',
  ]);
  assert.deepEqual(container.env, [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  ]);
  assert.deepEqual(container.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
  for (const probe of ['livenessProbe', 'readinessProbe']) {
    assert.deepEqual(container[probe], { httpGet: { path: '/healthz', port: 'http' } }, probe);
  }
  assert.deepEqual(container.resources, { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } });
  assert.equal(pod.nodeSelector, undefined);
  assert.equal(pod.tolerations, undefined);

  const service = byKey(objects, 'Service/demo-operator');
  assert.equal(service.spec.type, 'ClusterIP');
  assert.deepEqual(service.spec.ports, [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
  assert.deepEqual(service.spec.selector, spec.selector.matchLabels, 'the Service selects the controller Pod');
});

test('spec fields reach the Deployment: Alertmanager, failure threshold, image, pull policy, resources, scheduling, cluster domain and port', () => {
  const container = (spec: unknown) => byKey(synthObjects(spec), 'Deployment/demo-operator').spec.template.spec.containers[0];
  const withAlerts = container(withOperator({ rolling: { failureThreshold: 2, alertmanager: { url: 'http://alertmanager.monitoring:9093' } } }));
  assert.deepEqual(withAlerts.args.slice(7), [
    '--failure-threshold', '2', '--listen', '0.0.0.0:8080',
    '--alertmanager-url', 'http://alertmanager.monitoring:9093', '--hold-label', 'kafka_cdk8s_hold_roll',
  ]);
  const ownLabel = container(withOperator({ rolling: { alertmanager: { url: 'https://am.example.com/', holdLabel: 'hold_kafka' } } }));
  assert.deepEqual(ownLabel.args.slice(-4), ['--alertmanager-url', 'https://am.example.com/', '--hold-label', 'hold_kafka']);

  const spec = withOperator({
    image: 'registry.example.com/kafka-cdk8s:dev',
    imagePullPolicy: 'Always',
    resources: { requests: { cpu: '100m', memory: '512Mi' } },
    nodeSelector: { 'node.example.com/pool': 'system', 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'system', effect: 'NoSchedule' }],
  });
  spec.clusterDomain = 'example.internal';
  spec.listeners = { internal: { port: 19092 } };
  const deployment = byKey(synthObjects(spec), 'Deployment/demo-operator');
  const [c] = deployment.spec.template.spec.containers;
  assert.equal(c.image, 'registry.example.com/kafka-cdk8s:dev');
  assert.equal(c.imagePullPolicy, 'Always');
  assert.deepEqual(c.resources, { requests: { cpu: '100m', memory: '512Mi' } }, 'replaces the default as a whole');
  assert.equal(c.args[6], 'demo-bootstrap.kafka.svc.example.internal:19092');
  assert.deepEqual(Object.keys(deployment.spec.template.spec.nodeSelector), ['kubernetes.io/os', 'node.example.com/pool'], 'canonical key order');
  assert.deepEqual(deployment.spec.template.spec.tolerations, [{ effect: 'NoSchedule', key: 'dedicated', operator: 'Equal', value: 'system' }]);
});

test('enabled: false emits none of the controller objects', () => {
  const objects = synthObjects(withOperator({ enabled: false, image: 'ignored/image:1' }));
  assert.deepEqual(operatorObjects(objects).map(key), []);
  assert.ok(!objects.some((o) => OPERATOR_KINDS.slice(0, 4).includes(o.kind)));
  assert.equal(resolveSpec(withOperator({ enabled: false })).operator, undefined);
  assert.equal(synthObjects(withOperator({ enabled: true })).filter((o) => o.metadata.name === 'demo-operator').length, 5);
});

test('validation names the field: URL, failure threshold, hold label, pull policy, resources, unknown fields', () => {
  const problems = (operator: unknown) => validateSpec(withOperator(operator)).map((p) => `${p.path}: ${p.message}`);
  assert.deepEqual(problems({ rolling: { failureThreshold: -1, alertmanager: { url: 'ftp://alertmanager:9093', holdLabel: 'hold-roll' } } }), [
    'operator.rolling.failureThreshold: failureThreshold must be at least 0 (got -1)',
    'operator.rolling.alertmanager.url: url must be an http or https URL such as http://alertmanager.monitoring:9093 (got "ftp://alertmanager:9093")',
    'operator.rolling.alertmanager.holdLabel: holdLabel must be a Prometheus label name: letters, digits and _, not starting with a digit (got "hold-roll")',
  ]);
  assert.deepEqual(problems({ rolling: { failureThreshold: 1.5, alertmanager: { url: 'alertmanager:9093' } } }), [
    'operator.rolling.failureThreshold: failureThreshold must be a whole number (got 1.5)',
    'operator.rolling.alertmanager.url: url must be an http or https URL such as http://alertmanager.monitoring:9093 (got "alertmanager:9093")',
  ]);
  assert.deepEqual(problems({ rolling: { alertmanager: { holdLabel: 'x' } } }), ['operator.rolling.alertmanager.url: is required (string)']);
  assert.deepEqual(problems({ imagePullPolicy: 'Sometimes', enable: false }), [
    'operator.imagePullPolicy: must be one of "Always", "IfNotPresent", "Never" (got "Sometimes")',
    "operator.enable: unknown field; did you mean 'enabled'? allowed fields here: enabled, image, imagePullPolicy, resources, nodeSelector, tolerations, rolling",
  ]);
  assert.deepEqual(problems({ resources: { requests: { memory: '1Gi' }, limits: { memory: '256Mi' } } }), [
    'operator.resources.limits.memory: the limit 256Mi is below the request 1Gi; a limit must be at least the request',
  ]);
  assert.deepEqual(problems({ rolling: { failureThreshold: 3, alertmanager: { url: 'http://alertmanager.monitoring:9093', holdLabel: '_hold' } } }), []);
});

// ---------------------------------------------------------------------------------------
// The Dockerfile

interface Instruction { readonly op: string; readonly args: string }
interface Stage { readonly from: string; readonly name?: string; readonly instructions: readonly Instruction[] }

/** Instructions by stage: comments dropped, continuation lines joined. */
function dockerStages(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Array<{ from: string; name?: string; instructions: Instruction[] }> = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!)!;
      stages.push({ from: from!, name, instructions: [] });
    } else {
      stages.at(-1)!.instructions.push({ op: op!.toUpperCase(), args: args! });
    }
  }
  return stages;
}

/** Whether .dockerignore leaves `path` in the build context (last matching pattern wins; a match on a parent counts). */
function inContext(ignore: string, path: string): boolean {
  const patterns = ignore.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const glob = new RegExp(`^${(negated ? raw.slice(1) : raw).replace(/\/$/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    if (prefixes.some((p) => glob.test(p))) included = negated;
  }
  return included;
}

/** Node.js LTS lines and the end of their maintenance (nodejs/Release schedule). */
const NODE_LTS_END: Readonly<Record<number, string>> = { 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30' };

test('Dockerfile: a maintained Node LTS base, multi-stage build, the files of the package, a non-root user, the CLI as entrypoint', () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const ignore = readFileSync(new URL('../../.dockerignore', import.meta.url), 'utf8');
  const stages = dockerStages(dockerfile);
  assert.ok(stages.length >= 2, 'multi-stage');
  for (const stage of stages) {
    const [, major] = /^node:(\d+)-(?:bookworm-slim|alpine)$/.exec(stage.from) ?? [];
    assert.equal(major, versions.node24, `${stage.from}: the Node LTS line the tests run on (versions.json node24)`);
    assert.ok(NODE_LTS_END[Number(major)]! > new Date().toISOString().slice(0, 10), `Node ${major} is still maintained`);
  }
  const [build, final] = [stages[0]!, stages.at(-1)!];
  const runs = (stage: Stage) => stage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(runs(build).some((r) => /^npm ci\b/.test(r)) && runs(build).includes('npm run build'), 'the build stage compiles');
  assert.ok(runs(final).some((r) => /^npm ci\b.*--omit=dev/.test(r)), 'production dependencies only in the final stage');
  assert.ok(runs(final).every((r) => !/npm (run|install)|tsc/.test(r)), 'nothing is built in the final stage');
  for (const r of [...runs(build), ...runs(final)].filter((x) => /^npm ci\b/.test(x))) {
    // npm ci runs `prepare` (tsc over sources): before the sources are copied it must not run.
    assert.match(r, /--ignore-scripts/, r);
  }

  const copies = (stage: Stage) => stage.instructions.filter((i) => i.op === 'COPY').map((i) => {
    const words = i.args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const rest = words.filter((w) => !w.startsWith('--'));
    return { from, sources: rest.slice(0, -1).map((s) => s.replace(/^\/app\//, '').replace(/^\.\//, '').replace(/\/$/, '')), dest: rest.at(-1)! };
  });
  const workdir = (stage: Stage) => stage.instructions.filter((i) => i.op === 'WORKDIR').at(-1)?.args;
  assert.equal(workdir(final), '/app');
  for (const entry of pkg.files) {
    const covered = copies(final).some((c) => c.sources.some((s) => entry === s || entry.startsWith(`${s}/`))
      && (c.from === build.name || inContext(ignore, entry)));
    assert.ok(covered, `the image holds ${entry} (package.json "files")`);
  }
  assert.ok(copies(final).some((c) => c.from === build.name && c.sources.includes('build')), 'the compiled build/ comes from the build stage');
  // The build stage needs what tsconfig.json compiles, and the context must hold it.
  const tsconfig = JSON.parse(readFileSync(new URL('../../tsconfig.json', import.meta.url), 'utf8'));
  const buildSources = copies(build).flatMap((c) => c.sources);
  for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', ...tsconfig.include.map((p: string) => p.split('/')[0])]) {
    assert.ok(buildSources.includes(needed), `the build stage copies ${needed}`);
    assert.ok(inContext(ignore, needed), `.dockerignore keeps ${needed}`);
  }
  for (const local of ['node_modules', 'build', '.git', 'dist']) assert.equal(inContext(ignore, local), false, `.dockerignore drops ${local}`);

  const user = final.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
  assert.ok(user !== undefined && !/^(0|root)(:|$)/.test(user), `runs as a non-root user (USER ${user})`);
  assert.match(user!, /^(1000|node)(:(1000|node))?$/, "the image's node user, uid 1000, as in the Deployment's securityContext");
  const entrypoint = final.instructions.filter((i) => i.op === 'ENTRYPOINT').at(-1)?.args;
  assert.deepEqual(JSON.parse(entrypoint!), ['node', '/app/bin/kafka-cdk8s.js']);
  assert.ok(copies(final).some((c) => c.sources.includes('bin/kafka-cdk8s.js') && c.dest === './bin/kafka-cdk8s.js'), 'the shim is at /app/bin/kafka-cdk8s.js');
  assert.equal(final.instructions.some((i) => i.op === 'CMD'), false, 'the Deployment gives the sub-command as args');
});
