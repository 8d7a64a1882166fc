/**
 * The runtime controller's RBAC, judged by a real kube-apiserver: the example's
 * output is applied, then requests are made as the controller's ServiceAccount
 * (impersonated by the bed's admin). The requests the controller makes succeed,
 * shaped as it sends them (list and watch, roll a Pod from its ConfigMap,
 * annotate it, keep its state ConfigMap, record Events, hold its Lease); what it
 * has no business doing is refused with 403.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type https from 'node:https';
import { synthCluster } from '../../lib/synth.js';
import { applyManifests, kubeRequest, kubeWatch, type KubeClientConfig, type KubeResponse } from '../support/kube-apply.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-server.js';
import { exampleSpec } from '../support/synth.js';

const NS = 'kafka';
const OTHER_NS = 'elsewhere';
const ACCOUNT = 'demo-operator';
const STATE = 'demo-operator-state';
const LEASE = 'demo-operator';
const SELECTOR = 'kafka-cdk8s.io/cluster=demo';

/** A connection that acts as someone else: the admin may impersonate. */
class Impersonating implements KubeClientConfig {
  constructor(private readonly admin: KubeClientConfig, private readonly user: string, private readonly groups: readonly string[]) {}
  getCurrentCluster() { return this.admin.getCurrentCluster(); }
  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    await this.admin.applyToHTTPSOptions(opts);
    // Node sends an array value as one header line per group.
    opts.headers = { ...opts.headers, 'Impersonate-User': this.user, 'Impersonate-Group': [...this.groups] };
  }
}

let kube: KubeApiServer;
let controller: KubeClientConfig;
const core = (resource: string, name = '', ns = NS) => `/api/v1/namespaces/${ns}/${resource}${name ? `/${name}` : ''}`;
const group = (api: string, resource: string, name = '') => `/apis/${api}/namespaces/${NS}/${resource}${name ? `/${name}` : ''}`;
const as = (method: string, path: string, body?: unknown, contentType?: string) => kubeRequest(controller, method, path, body, contentType);
const ok = (res: KubeResponse, status: number, what: string) => assert.equal(res.statusCode, status, `${what}: ${res.text.slice(0, 300)}`);
const denied = (res: KubeResponse, what: string) => assert.equal(res.statusCode, 403, `${what} must be refused: ${res.text.slice(0, 300)}`);
const merge = 'application/merge-patch+json';

before(async () => {
  kube = await startKubeApiServer();
  await applyManifests(kube.client, synthCluster(exampleSpec()).yaml, { fieldManager: 'kafka-cdk8s' });
  await applyManifests(kube.client, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OTHER_NS } },
    { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'someone-else', namespace: NS }, spec: { holderIdentity: 'someone' } },
  ]);
  controller = new Impersonating(kube.client, `system:serviceaccount:${NS}:${ACCOUNT}`,
    ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated']);
});
after(async () => { await kube?.close(); });

describe('the controller ServiceAccount', () => {
  it('is who the requests are made as', async () => {
    const review = await as('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    ok(review, 201, 'SelfSubjectReview');
    assert.equal(review.body.status.userInfo.username, `system:serviceaccount:${NS}:${ACCOUNT}`);
  });

  it('lists and watches the Pods and ConfigMaps of its namespace', async () => {
    for (const resource of ['pods', 'configmaps']) {
      const list = await as('GET', `${core(resource)}?labelSelector=${encodeURIComponent(SELECTOR)}`);
      ok(list, 200, `list ${resource}`);
      assert.ok(list.body.items.length >= 6, `${resource}: one per node`);
      let added = 0;
      const watch = await kubeWatch(controller, core(resource), { labelSelector: SELECTOR, timeoutSeconds: '1' }, (e) => { if (e.type === 'ADDED') added++; });
      await watch.done; // rejects on anything but 200
      assert.equal(added, list.body.items.length, `watch ${resource}`);
    }
  });

  it('rolls a node: deletes its Pod, creates it from the desired Pod in its ConfigMap, annotates it (uid preconditions)', async () => {
    const cm = await as('GET', core('configmaps', 'demo-broker-0'));
    ok(cm, 200, 'get the node ConfigMap');
    const pod = await as('GET', core('pods', 'demo-broker-0'));
    ok(pod, 200, 'get the Pod');
    const del = await as('DELETE', core('pods', 'demo-broker-0'), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: pod.body.metadata.uid } });
    ok(del, 200, 'delete the Pod');
    // Unscheduled (the bed has no kubelet here), so it is gone at once.
    assert.equal((await as('GET', core('pods', 'demo-broker-0'))).statusCode, 404);
    const created = await as('POST', core('pods'), JSON.parse(cm.body.data['pod.json']));
    ok(created, 201, 'create the Pod from pod.json');
    const annotated = await as('PATCH', core('pods', 'demo-broker-0'),
      { metadata: { uid: created.body.metadata.uid, annotations: { 'kafka-cdk8s.io/rolled-by': 'rbac-test' } } }, merge);
    ok(annotated, 200, 'annotate the Pod');
    assert.equal(annotated.body.metadata.annotations['kafka-cdk8s.io/rolled-by'], 'rbac-test');
  });

  it('creates its state ConfigMap, then updates and patches it', async () => {
    const created = await as('POST', core('configmaps'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: STATE, namespace: NS }, data: { state: '{}' } });
    ok(created, 201, 'create the state ConfigMap');
    const updated = await as('PUT', core('configmaps', STATE), { ...created.body, data: { state: '{"rolling":"demo-broker-0"}' } });
    ok(updated, 200, 'update the state ConfigMap');
    const patched = await as('PATCH', core('configmaps', STATE), { data: { state: '{}' } }, merge);
    ok(patched, 200, 'patch the state ConfigMap');
  });

  it('records Events (core v1 and events.k8s.io) and patches them', async () => {
    const now = new Date().toISOString();
    const legacy = await as('POST', core('events'), {
      apiVersion: 'v1', kind: 'Event', metadata: { generateName: 'demo-broker-0.' },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'demo-broker-0', namespace: NS },
      type: 'Normal', reason: 'Restarted', message: 'rolled for a config change',
      source: { component: 'kafka-cdk8s' }, reportingComponent: 'kafka-cdk8s', reportingInstance: 'kafka-cdk8s',
      firstTimestamp: now, lastTimestamp: now, count: 1,
    });
    ok(legacy, 201, 'create a core/v1 Event');
    ok(await as('PATCH', core('events', legacy.body.metadata.name), { count: 2, lastTimestamp: now }, merge), 200, 'patch a core/v1 Event');
    const modern = await as('POST', group('events.k8s.io/v1', 'events'), {
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { generateName: 'demo-broker-1-' },
      regarding: { apiVersion: 'v1', kind: 'Pod', name: 'demo-broker-1', namespace: NS },
      type: 'Normal', reason: 'Restarted', action: 'Roll', note: 'rolled for a config change',
      eventTime: new Date().toISOString().replace(/Z$/, '000Z'), reportingController: 'kafka-cdk8s.io/controller', reportingInstance: 'demo-operator-0',
    });
    ok(modern, 201, 'create an events.k8s.io Event');
    // Only an Event's series may change: a repeated event is counted, not recorded again.
    const series = { series: { count: 2, lastObservedTime: new Date().toISOString().replace(/Z$/, '000Z') } };
    ok(await as('PATCH', group('events.k8s.io/v1', 'events', modern.body.metadata.name), series, merge), 200, 'patch an events.k8s.io Event');
  });

  it('creates its Lease, reads and renews it', async () => {
    const now = new Date().toISOString().replace(/Z$/, '000Z');
    const created = await as('POST', group('coordination.k8s.io/v1', 'leases'), {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE, namespace: NS },
      spec: { holderIdentity: 'demo-operator-abc', leaseDurationSeconds: 15, acquireTime: now, renewTime: now },
    });
    ok(created, 201, 'create the Lease');
    const read = await as('GET', group('coordination.k8s.io/v1', 'leases', LEASE));
    ok(read, 200, 'get the Lease');
    const renewed = await as('PUT', group('coordination.k8s.io/v1', 'leases', LEASE),
      { ...read.body, spec: { ...read.body.spec, renewTime: new Date().toISOString().replace(/Z$/, '000Z') } });
    ok(renewed, 200, 'renew the Lease');
  });

  it("is refused everything else: Secrets, other namespaces, changing other objects, deleting anything but a retired controller's objects", async () => {
    denied(await as('GET', core('secrets')), 'list Secrets');
    denied(await as('GET', core('secrets', 'any')), 'get a Secret');
    denied(await as('GET', core('pods', '', OTHER_NS)), 'list Pods in another namespace');
    denied(await as('GET', core('configmaps', '', OTHER_NS)), 'list ConfigMaps in another namespace');
    const nodeConfig = await as('GET', core('configmaps', 'demo-broker-1'));
    denied(await as('PUT', core('configmaps', 'demo-broker-1'), { ...nodeConfig.body, data: { 'server.properties': '' } }), 'update a node ConfigMap');
    denied(await as('PATCH', core('configmaps', 'demo-broker-1'), { data: { 'server.properties': '' } }, merge), 'patch a node ConfigMap');
    denied(await as('GET', group('coordination.k8s.io/v1', 'leases', 'someone-else')), "get another's Lease");
    denied(await as('PUT', group('coordination.k8s.io/v1', 'leases', 'someone-else'),
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'someone-else', namespace: NS }, spec: { holderIdentity: ACCOUNT } }), "update another's Lease");
    denied(await as('DELETE', group('apps/v1', 'deployments', 'demo-operator')), 'delete its Deployment');
    denied(await as('PATCH', group('rbac.authorization.k8s.io/v1', 'roles', 'demo-operator'), { rules: [] }, merge), 'change its Role');
    denied(await as('PATCH', core('persistentvolumeclaims', 'demo-broker-1-data-0'), { metadata: { labels: { x: 'y' } } }, merge), 'change a PVC');
    denied(await as('PATCH', core('services', 'demo-broker-1'), { metadata: { labels: { x: 'y' } } }, merge), 'change a Service');
    denied(await as('GET', core('services', 'demo-broker-1')), 'read a Service (only a retired one is deleted, by name)');
    denied(await as('PUT', core('pods', 'demo-broker-1'), (await as('GET', core('pods', 'demo-broker-1'))).body), 'update a Pod (only patch)');
    // Still there: none of the refused requests changed anything.
    assert.equal((await kubeRequest(kube.client, 'GET', core('configmaps', STATE))).statusCode, 200);
    assert.equal((await kubeRequest(kube.client, 'GET', group('apps/v1', 'deployments', 'demo-operator'))).statusCode, 200);
  });

  it('retires a controller that left the spec and the voters: deletes its Service, its claim and its ConfigMap, each by uid', async () => {
    const claim = await as('GET', core('persistentvolumeclaims', 'demo-controller-9002-data-0'));
    ok(claim, 200, 'read the claim (its deleteClaim annotation decides)');
    ok(await as('DELETE', core('persistentvolumeclaims', 'demo-controller-9002-data-0'), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: claim.body.metadata.uid } }), 200, 'delete the claim');
    ok(await as('DELETE', core('services', 'demo-controller-9002')), 200, 'delete the Service');
    const cm = await kubeRequest(kube.client, 'GET', core('configmaps', 'demo-controller-9002'));
    ok(await as('DELETE', core('configmaps', 'demo-controller-9002'), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: cm.body.metadata.uid } }), 200, 'delete the ConfigMap');
  });
});
