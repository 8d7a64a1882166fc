// Proof of the Kubernetes half of the test bed (issue #4): a real kube-apiserver with the
// repo's third-party CRDs, server-side apply with created/unchanged detection, schema
// validation of custom resources, pods/status updates (what the pod runner does), and the
// controllers of kube-controller-manager that a real cluster applies to our objects:
// garbage collection, PDB status and the Eviction API, namespace finalization,
// EndpointSlices, the default ServiceAccount, pvc-protection.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { applyManifests, deleteManifests, kubeRequest, KubeApplyError, type KubeResponse } from '../support/kube-apply.js';
import { ONCE } from '../support/once.js';

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

describe('kube-apiserver test bed', { ...ONCE, timeout: 300_000 }, () => {
  let kube: KubeApiServer;

  before(async () => {
    kube = await startKubeApiServer();
    console.log(`# kube-apiserver ready at ${kube.url} in ${kube.startMs} ms (incl. CRDs)`);
  });
  after(async () => {
    await kube?.close();
  });

  it('has all nine third-party CRDs Established', async () => {
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

  it('garbage-collects an object after its owner is deleted', async () => {
    const owner = await create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gc-owner' } });
    const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'gc-owner', uid: owner.metadata.uid }];
    await create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gc-dependent', ownerReferences } });
    const del = await kubeRequest(kube.client, 'DELETE', `/api/v1/namespaces/${NS}/configmaps/gc-owner`);
    assert.equal(del.statusCode, 200, del.text);
    await eventually('the dependent is garbage-collected', async () =>
      (await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NS}/configmaps/gc-dependent`)).statusCode === 404);
  });

  it('gives a PDB over Pods that no controller owns its status, and the Eviction API honours it', async () => {
    const ns = 'bed-pdb';
    await applyManifests(kube.client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]);
    const pods = ['p-0', 'p-1', 'p-2'];
    for (const name of pods) {
      await create(`/api/v1/namespaces/${ns}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: 'pdb' } },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      });
      await markRunningAndReady(`/api/v1/namespaces/${ns}/pods/${name}`);
    }
    // An integer minAvailable: the only form that allows evictions of Pods without a controller.
    await create(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'pdb' },
      spec: { minAvailable: 2, selector: { matchLabels: { app: 'pdb' } } },
    });
    const status = await eventually('the PDB status', async () => {
      const pdb = (await kubeRequest(kube.client, 'GET', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/pdb`)).body;
      return pdb.status?.observedGeneration === pdb.metadata.generation && pdb.status?.currentHealthy === 3 ? pdb.status : undefined;
    });
    assert.equal(status.expectedPods, 3);
    assert.equal(status.desiredHealthy, 2);
    assert.equal(status.disruptionsAllowed, 1);

    const evict = (name: string): Promise<KubeResponse> =>
      kubeRequest(kube.client, 'POST', `/api/v1/namespaces/${ns}/pods/${name}/eviction`,
        { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } });
    const first = await evict('p-0');
    assert.equal(first.statusCode, 201, first.text);
    await eventually('the evicted Pod is gone', async () =>
      (await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${ns}/pods/p-0`)).statusCode === 404);
    const second = await evict('p-1');
    assert.equal(second.statusCode, 429, second.text);
    assert.match(second.body.message, /disruption budget/);
    assert.equal((await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${ns}/pods/p-1`)).statusCode, 200);
  });

  it('finalizes a deleted Namespace: its content goes, then the Namespace itself', async () => {
    const ns = 'bed-gone';
    await applyManifests(kube.client, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'content', namespace: ns } },
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'content', namespace: ns }, spec: { selector: {}, endpoints: [] } },
    ]);
    const del = await kubeRequest(kube.client, 'DELETE', `/api/v1/namespaces/${ns}`);
    assert.equal(del.statusCode, 200, del.text);
    await eventually('the Namespace is gone', async () => (await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${ns}`)).statusCode === 404);
  });

  it('gives a Service with a selector an EndpointSlice with its Ready Pod', async () => {
    const ns = 'bed-eps';
    await applyManifests(kube.client, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } },
    ]);
    // The controller leaves out endpoints whose Pod runs on no known Node, as in a real cluster.
    await create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'bed-node' } });
    await create(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    const bind = await kubeRequest(kube.client, 'POST', `/api/v1/namespaces/${ns}/pods/web-0/binding`,
      { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'web-0' }, target: { apiVersion: 'v1', kind: 'Node', name: 'bed-node' } });
    assert.equal(bind.statusCode, 201, bind.text);
    await markRunningAndReady(`/api/v1/namespaces/${ns}/pods/web-0`, '10.244.0.7');
    const endpoint = await eventually('an EndpointSlice with the Pod', async () => {
      const slices = await kubeRequest(kube.client, 'GET', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb`);
      return slices.body.items.flatMap((s: { endpoints?: unknown[] }) => s.endpoints ?? [])[0];
    });
    assert.deepEqual(endpoint.addresses, ['10.244.0.7']);
    assert.equal(endpoint.conditions.ready, true);
    assert.equal(endpoint.targetRef.name, 'web-0');
    assert.equal(endpoint.nodeName, 'bed-node');
  });

  it('creates the default ServiceAccount and kube-root-ca.crt in a new namespace', async () => {
    await applyManifests(kube.client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bed-new' } }]);
    await eventually('the default ServiceAccount', async () =>
      (await kubeRequest(kube.client, 'GET', '/api/v1/namespaces/bed-new/serviceaccounts/default')).statusCode === 200);
    const ca = await eventually('kube-root-ca.crt', async () => {
      const r = await kubeRequest(kube.client, 'GET', '/api/v1/namespaces/bed-new/configmaps/kube-root-ca.crt');
      return r.statusCode === 200 ? r.body : undefined;
    });
    assert.equal(ca.data['ca.crt'], kube.caData);
  });

  it('deletes what it applied; a PVC once no Pod uses it (pvc-protection)', async () => {
    const pvcPath = `/api/v1/namespaces/${NS}/persistentvolumeclaims/kafka-broker-0-data`;
    const before = await kubeRequest(kube.client, 'GET', pvcPath);
    assert.deepEqual(before.body.metadata.finalizers, ['kubernetes.io/pvc-protection']);
    const res = await deleteManifests(kube.client, MANIFESTS, { gracePeriodSeconds: 0 });
    const byKind = Object.fromEntries(res.map((r) => [r.kind, r.action]));
    assert.equal(byKind.ConfigMap, 'deleted');
    assert.equal(byKind.PersistentVolumeClaim, 'deleted');
    const cm = await kubeRequest(kube.client, 'GET', `/api/v1/namespaces/${NS}/configmaps/kafka-broker-0`);
    assert.equal(cm.statusCode, 404);
    await eventually('the PVC is gone', async () => (await kubeRequest(kube.client, 'GET', pvcPath)).statusCode === 404);
  });

  /** POSTs an object, asserting 201; returns what the server made of it. */
  async function create(path: string, object: object): Promise<any> {
    const r = await kubeRequest(kube.client, 'POST', path, object);
    assert.equal(r.statusCode, 201, `POST ${path}: ${r.text}`);
    return r.body;
  }

  /** What a kubelet would report for a started, Ready Pod. */
  async function markRunningAndReady(path: string, ip = '10.244.0.1'): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status = {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [
        { type: 'Ready', status: 'True', lastTransitionTime: now },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
      ],
    };
    const r = await kubeRequest(kube.client, 'PATCH', `${path}/status`, { status }, 'application/merge-patch+json');
    assert.equal(r.statusCode, 200, r.text);
  }
});

/** Polls until check returns something other than undefined or false; returns it. */
async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
