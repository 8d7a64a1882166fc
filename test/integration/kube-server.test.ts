// Proof of the Kubernetes half of the test bed (issue #4): a real kube-apiserver with the
// shared CRDs, server-side apply with created/unchanged detection, schema validation of
// custom resources, and pods/status updates (what the pod runner does).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { applyManifests, deleteManifests, kubeRequest, KubeApplyError } from '../support/kube-apply.js';

const NS = 'kafka-bed';

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: kafka
  namespace: ${NS}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: kafka-broker-0
  namespace: ${NS}
data:
  server.properties: |
    node.id=0
    process.roles=broker
---
apiVersion: v1
kind: Service
metadata:
  name: kafka-brokers
  namespace: ${NS}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    app.kubernetes.io/name: kafka
  ports:
    - name: client
      port: 9092
      targetPort: 9092
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: kafka-broker-0-data
  namespace: ${NS}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Pod
metadata:
  name: kafka-broker-0
  namespace: ${NS}
  labels:
    app.kubernetes.io/name: kafka
spec:
  serviceAccountName: kafka
  hostname: kafka-broker-0
  subdomain: kafka-brokers
  containers:
    - name: kafka
      image: apache/kafka:4.1.1
      ports:
        - containerPort: 9092
          name: client
      readinessProbe:
        tcpSocket:
          port: client
      volumeMounts:
        - name: data
          mountPath: /var/lib/kafka
        - name: config
          mountPath: /etc/kafka
  volumes:
    - name: data
      persistentVolumeClaim:
        claimName: kafka-broker-0-data
    - name: config
      configMap:
        name: kafka-broker-0
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: kafka-brokers
  namespace: ${NS}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: kafka
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: kafka
  namespace: ${NS}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: kafka
  endpoints:
    - port: client
      interval: 30s
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: kafka-brokers
  namespace: ${NS}
spec:
  secretName: kafka-brokers-tls
  dnsNames:
    - kafka-brokers.${NS}.svc
  issuerRef:
    name: kafka-ca
    kind: Issuer
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: kafka
  namespace: ${NS}
spec:
  hosts: [kafka.example.com]
  gateways: [kafka-gateway]
  tls:
    - match:
        - port: 9093
          sniHosts: [kafka.example.com]
      route:
        - destination:
            host: kafka-brokers.${NS}.svc.cluster.local
            port:
              number: 9092
`;

const CRDS = [
  'servicemonitors.monitoring.coreos.com',
  'podmonitors.monitoring.coreos.com',
  'prometheusrules.monitoring.coreos.com',
  'certificates.cert-manager.io',
  'issuers.cert-manager.io',
  'clusterissuers.cert-manager.io',
  'gateways.networking.istio.io',
  'virtualservices.networking.istio.io',
  'destinationrules.networking.istio.io',
];

describe('kube-apiserver test bed', { timeout: 300_000 }, () => {
  let kube: KubeApiServer;

  before(async () => {
    kube = await startKubeApiServer();
    console.log(`# kube-apiserver ready at ${kube.url} in ${kube.startMs} ms (incl. CRDs)`);
  });
  after(async () => {
    await kube?.close();
  });

  it('has all nine shared CRDs Established', async () => {
    for (const name of CRDS) {
      const r = await kubeRequest(kube.client, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      assert.equal(r.statusCode, 200, `${name}: ${r.text}`);
      const established = (r.body.status.conditions as { type: string; status: string }[]).find((c) => c.type === 'Established');
      assert.equal(established?.status, 'True', name);
    }
  });

  it('applies a multi-document manifest, and again as unchanged', async () => {
    const first = await applyManifests(kube.client, MANIFESTS);
    assert.equal(first.length, 10);
    assert.equal(first[0]!.kind, 'Namespace', 'namespaces go first');
    assert.deepEqual(
      first.filter((r) => r.action !== 'created').map((r) => `${r.kind}/${r.name}`),
      [],
    );
    const pod = first.find((r) => r.kind === 'Pod')!;
    assert.equal(pod.namespace, NS);
    assert.equal((pod.object as any).spec.serviceAccountName, 'kafka');
    const svc = first.find((r) => r.kind === 'Service')!;
    assert.equal((svc.object as any).spec.clusterIP, 'None');

    const second = await applyManifests(kube.client, MANIFESTS);
    assert.deepEqual(
      second.map((r) => `${r.kind}/${r.name}:${r.action}`),
      first.map((r) => `${r.kind}/${r.name}:unchanged`),
    );

    const changed = MANIFESTS.replace('node.id=0', 'node.id=0\n    log.dirs=/var/lib/kafka/data');
    const third = await applyManifests(kube.client, changed);
    assert.deepEqual(
      third.filter((r) => r.action !== 'unchanged').map((r) => `${r.kind}/${r.name}:${r.action}`),
      ['ConfigMap/kafka-broker-0:configured'],
    );
  });

  it('creates the default ServiceAccount so Pods without serviceAccountName are admitted', async () => {
    const res = await applyManifests(kube.client, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bed-sa' } },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'plain', namespace: 'bed-sa' },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      },
    ]);
    assert.equal((res[1]!.object as any).spec.serviceAccountName, 'default');
  });

  it('rejects a Pod naming a missing ServiceAccount', async () => {
    await assert.rejects(
      applyManifests(kube.client, [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'no-sa', namespace: NS },
          spec: { serviceAccountName: 'missing', containers: [{ name: 'c', image: 'busybox' }] },
        },
      ]),
      (e: unknown) => e instanceof KubeApplyError && /Pod kafka-bed\/no-sa/.test(e.message) && /serviceaccount "missing" not found/i.test(e.message),
    );
  });

  it('rejects a custom resource that violates its schema, naming the field', async () => {
    const bad = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'bad', namespace: NS },
      spec: { selector: {}, endpoints: [{ port: 'client', scheme: 'gopher' }] },
    };
    await assert.rejects(applyManifests(kube.client, [bad]), (e: unknown) => {
      assert.ok(e instanceof KubeApplyError, String(e));
      assert.match(e.message, /ServiceMonitor kafka-bed\/bad/);
      assert.match(e.message, /spec\.endpoints\[0\]\.scheme/);
      assert.equal(e.statusCode, 422);
      return true;
    });
    // unknown fields are errors too (fieldValidation=Strict), also on built-in kinds
    await assert.rejects(
      applyManifests(kube.client, [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typo', namespace: NS }, dataa: { a: 'b' } },
      ]),
      /ConfigMap kafka-bed\/typo.*dataa/s,
    );
  });

  it('updates pods/status (what the pod runner does)', async () => {
    const path = `/api/v1/namespaces/${NS}/pods/kafka-broker-0`;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const patch = {
      status: {
        phase: 'Running',
        podIP: '127.0.0.1',
        conditions: [
          { type: 'Ready', status: 'True', lastTransitionTime: now },
          { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
        ],
      },
    };
    const r = await kubeRequest(kube.client, 'PATCH', `${path}/status`, patch, 'application/merge-patch+json');
    assert.equal(r.statusCode, 200, r.text);
    const got = await kubeRequest(kube.client, 'GET', path);
    assert.equal(got.body.status.phase, 'Running');
    assert.equal(got.body.status.podIP, '127.0.0.1');
    const ready = (got.body.status.conditions as { type: string; status: string }[]).find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True');
  });

  it('gives a client-node KubeConfig that works (on every supported Node version)', async () => {
    const kc = kube.kubeConfig;
    const { CoreV1Api } = await import('@kubernetes/client-node');
    const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name: NS });
    assert.equal(ns.metadata?.name, NS);
    const res = await applyManifests(kc, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'via-kc', namespace: NS } }]);
    assert.equal(res[0]!.action, 'created');
  });

  it('deletes what it applied', async () => {
    const res = await deleteManifests(kube.client, MANIFESTS, { gracePeriodSeconds: 0 });
    const byKind = Object.fromEntries(res.map((r) => [r.kind, r.action]));
    assert.equal(byKind.ConfigMap, 'deleted');
    assert.equal(byKind.PersistentVolumeClaim, 'deleted');
    const cm = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NS}/configmaps/kafka-broker-0`);
    assert.equal(cm.statusCode, 404);
    const pvc = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NS}/persistentvolumeclaims/kafka-broker-0-data`);
    assert.equal(pvc.statusCode, 404, 'no pvc-protection finalizer without a controller-manager');
  });
});
