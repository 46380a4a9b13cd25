// k8s_describe_resource, k8s_get_api_resources and k8s_get_cluster_health against the local
// control plane, cross-checked with kubectl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  startServer, ok, fails, kubectl, kubectlJson, clusterEnv, freshNamespace, dropNamespace,
} from '../lib/harness.mjs';

let srv;
let ns;
let pod;          // the Deployment's pod (kubectl view)
const crdGroup = `e2e${process.pid}${Date.now().toString(36)}.example.com`;
const crdName = `gizmos.${crdGroup}`;

function waitFor(what, fn, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    execFileSync('sleep', ['0.2']);
  }
}

function isoAgo(seconds) {
  return new Date(Date.now() - seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

function createEvent(name, involvedObject, reason, lastTimestamp, type = 'Normal') {
  kubectl(['-n', ns, 'create', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1', kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: { namespace: ns, ...involvedObject },
      reason, message: `${reason} happened`, type, count: 2,
      firstTimestamp: isoAgo(3600), lastTimestamp,
      source: { component: 'e2e' },
    }),
  });
}

before(async () => {
  ns = freshNamespace('describe');
  kubectl(['-n', ns, 'apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'app', image: 'example.com/web:1' }] },
        },
      },
    }),
  });
  pod = waitFor('the web pod to be ready', () => {
    const items = kubectlJson(['-n', ns, 'get', 'pods', '-l', 'app=web']).items;
    const p = items.find((i) => i.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return p || null;
  });
  srv = await startServer();
});

after(async () => {
  await srv?.close();
  kubectl(['delete', 'crd', crdName, '--ignore-not-found', '--wait=false'], { allowFail: true });
  dropNamespace(ns);
});

test('describe a Deployment pod: owner chain, container states, conditions, own events newest first', async () => {
  const name = pod.metadata.name;
  const uid = pod.metadata.uid;
  createEvent('e2e-old', { kind: 'Pod', name, uid, apiVersion: 'v1' }, 'E2EOld', isoAgo(600), 'Warning');
  createEvent('e2e-new', { kind: 'Pod', name, uid, apiVersion: 'v1' }, 'E2ENew', isoAgo(30));
  // Same name, other kind / other uid: not this pod's events (the original matched by name only).
  createEvent('e2e-svc', { kind: 'Service', name, apiVersion: 'v1' }, 'E2EOtherKind', isoAgo(5));
  createEvent('e2e-olduid', { kind: 'Pod', name, uid: '00000000-0000-0000-0000-000000000000', apiVersion: 'v1' },
    'E2EOtherUid', isoAgo(5));

  const { data, text } = await ok(srv.client, 'k8s_describe_resource', { resourceType: 'pods', namespace: ns, name });
  assert.equal(data.kind, 'Pod');
  assert.equal(data.resource.metadata.uid, uid);
  assert.equal(data.resource.metadata.managedFields, undefined, 'slim by default');

  // Owner chain, cross-checked with kubectl.
  const rsName = pod.metadata.ownerReferences.find((r) => r.controller).name;
  const rs = kubectlJson(['-n', ns, 'get', 'replicaset', rsName]);
  assert.deepEqual(data.ownerChain.map((o) => `${o.kind}/${o.name}`), [`ReplicaSet/${rsName}`, 'Deployment/web']);
  assert.equal(data.ownerChain[0].uid, rs.metadata.uid);
  assert.ok(!data.ownerChain.some((o) => o.error), JSON.stringify(data.ownerChain));
  assert.match(text, new RegExp(`Controlled By: ReplicaSet/${rsName} .*-> Deployment/web`));

  // Container states agree with kubectl.
  const kcs = pod.status.containerStatuses[0];
  assert.equal(data.containers.length, 1);
  const c = data.containers[0];
  assert.equal(c.name, 'app');
  assert.equal(c.image, 'example.com/web:1');
  assert.equal(c.ready, kcs.ready);
  assert.equal(c.restartCount, kcs.restartCount);
  assert.equal(c.state.status, Object.keys(kcs.state)[0]);
  assert.match(text, /^ {2}app \[example\.com\/web:1\]: /m);

  const ready = data.conditions.find((x) => x.type === 'Ready');
  assert.equal(ready?.status, 'True');
  assert.match(text, /^ {2}Ready=True/m);

  // Events: only this pod's, newest first.
  const reasons = data.events.map((e) => e.reason);
  assert.ok(reasons.includes('E2ENew') && reasons.includes('E2EOld'), reasons.join(','));
  assert.ok(!reasons.includes('E2EOtherKind'), 'event of a Service with the same name must not be listed');
  assert.ok(!reasons.includes('E2EOtherUid'), 'event of an earlier pod with the same name must not be listed');
  assert.ok(reasons.indexOf('E2ENew') < reasons.indexOf('E2EOld'));
  const times = data.events.map((e) => Date.parse(e.lastSeen));
  for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] >= times[i], `events not newest first: ${data.events.map((e) => e.lastSeen)}`);
  const old = data.events.find((e) => e.reason === 'E2EOld');
  assert.equal(old.type, 'Warning');
  assert.equal(old.count, 2);
  assert.equal(old.message, 'E2EOld happened');
  assert.equal(data.eventsTotal, data.events.length);
  assert.ok(text.indexOf('E2ENew (x2)') < text.indexOf('E2EOld (x2)') && text.includes('E2EOld (x2)'), text);

  // eventsLimit keeps the newest.
  const lim = await ok(srv.client, 'k8s_describe_resource', { resourceType: 'po', namespace: ns, name, eventsLimit: 1 });
  assert.equal(lim.data.events.length, 1);
  assert.equal(lim.data.events[0].reason, data.events[0].reason);
  assert.equal(lim.data.eventsTotal, data.eventsTotal);
  assert.equal(lim.data.eventsTruncated, data.eventsTotal > 1);
});

test('describe a Deployment: replica status and conditions match kubectl', async () => {
  const dep = kubectlJson(['-n', ns, 'get', 'deployment', 'web']);
  const { data, text } = await ok(srv.client, 'k8s_describe_resource', { resourceType: 'deploy', namespace: ns, name: 'web' });
  assert.equal(data.kind, 'Deployment');
  assert.equal(data.replicas.desired, dep.spec.replicas);
  assert.equal(data.replicas.readyReplicas, dep.status.readyReplicas ?? 0);
  assert.equal(data.replicas.availableReplicas, dep.status.availableReplicas ?? 0);
  assert.deepEqual(data.conditions.map((c) => c.type).sort(), dep.status.conditions.map((c) => c.type).sort());
  assert.deepEqual(data.ownerChain, []);
  assert.match(text, /^Replicas: 1 desired \| 1 current/m);
  assert.equal(data.containers, undefined);
  // The deployment controller's own event about this object.
  assert.ok(data.events.some((e) => e.reason === 'ScalingReplicaSet'), JSON.stringify(data.events));
});

test('describe a Secret redacts its values', async () => {
  const value = 's3cr3t-value-e2e';
  kubectl(['-n', ns, 'create', 'secret', 'generic', 'creds', `--from-literal=password=${value}`]);
  const r = await ok(srv.client, 'k8s_describe_resource', { resourceType: 'secrets', namespace: ns, name: 'creds', output: 'full' });
  assert.equal(r.data.resource.data.password, '***REDACTED***');
  const all = r.text + JSON.stringify(r.raw);
  assert.ok(!all.includes(value) && !all.includes(Buffer.from(value).toString('base64')), 'secret value leaked');
  assert.match(r.text, /^Data: +password$/m);
  assert.match(r.text, /^Type: +Opaque$/m);

  // kubectl apply keeps a copy of the data in an annotation: neither output may show it.
  const applied = 'applied-s3cr3t-e2e';
  kubectl(['-n', ns, 'apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'applied', annotations: { team: 'e2e' } }, stringData: { token: applied } }),
  });
  assert.match(kubectl(['-n', ns, 'get', 'secret', 'applied', '-o', 'json']), /last-applied-configuration/);
  for (const output of ['slim', 'full']) {
    const a = await ok(srv.client, 'k8s_describe_resource', { resourceType: 'secret', namespace: ns, name: 'applied', output });
    const everything = a.text + JSON.stringify(a.raw);
    assert.ok(!everything.includes(applied) && !everything.includes(Buffer.from(applied).toString('base64')), `secret value leaked (${output})`);
    assert.equal(a.data.resource.data.token, '***REDACTED***');
    assert.match(a.text, /^Annotations: team=e2e$/m);
  }
});

test('describe a missing object is a NotFound error', async () => {
  const text = await fails(srv.client, 'k8s_describe_resource', { resourceType: 'pods', namespace: ns, name: 'no-such-pod' });
  assert.match(text, /NotFound/);
  assert.match(text, /no-such-pod/);
});

test('namespace policy blocks describe outside the allowed namespaces', async () => {
  const limited = await startServer([`--allowed-namespaces=${ns}`]);
  try {
    await ok(limited.client, 'k8s_describe_resource', { resourceType: 'deployments', namespace: ns, name: 'web' });
    const text = await fails(limited.client, 'k8s_describe_resource', { resourceType: 'services', namespace: 'default', name: 'kubernetes' });
    assert.match(text, /PolicyDenied/);
    assert.match(text, /"default"/);
  } finally {
    await limited.close();
  }
});

test('api resources: pods as kubectl sees them, and filters', async () => {
  const { data, text } = await ok(srv.client, 'k8s_get_api_resources', {});
  const pods = data.resources.find((r) => r.name === 'pods' && r.group === '');
  assert.ok(pods, 'pods listed');
  const core = JSON.parse(kubectl(['get', '--raw', '/api/v1'])).resources.find((r) => r.name === 'pods');
  assert.equal(pods.namespaced, true);
  assert.equal(pods.kind, 'Pod');
  assert.equal(pods.version, 'v1');
  assert.ok(pods.verbs.includes('list'));
  assert.deepEqual([...pods.verbs].sort(), [...core.verbs].sort());
  assert.ok(pods.shortNames.includes('po'));
  assert.ok(pods.categories.includes('all'));
  assert.match(text, /^pods\tpo\tv1\ttrue\tPod\t/m);
  assert.equal(data.count, data.resources.length);

  const cluster = await ok(srv.client, 'k8s_get_api_resources', { namespaced: false });
  assert.ok(cluster.data.resources.length > 0);
  assert.ok(cluster.data.resources.every((r) => r.namespaced === false));
  assert.ok(cluster.data.resources.some((r) => r.name === 'nodes'));

  const apps = await ok(srv.client, 'k8s_get_api_resources', { apiGroup: 'apps', verb: 'patch' });
  assert.ok(apps.data.resources.every((r) => r.group === 'apps' && r.verbs.includes('patch')));
  assert.ok(apps.data.resources.some((r) => r.name === 'deployments'));

  const search = await ok(srv.client, 'k8s_get_api_resources', { search: 'DEPLOY' });
  assert.deepEqual(search.data.resources.map((r) => r.name), ['deployments']);

  const coreOnly = await ok(srv.client, 'k8s_get_api_resources', { apiGroup: 'core', search: 'po' });
  assert.ok(coreOnly.data.resources.every((r) => r.group === ''));
  assert.ok(coreOnly.data.resources.some((r) => r.name === 'pods'));
});

test('api resources: a CRD created after discovery was cached appears', async () => {
  // Warm the discovery cache first, so finding the CRD needs a refresh.
  await ok(srv.client, 'k8s_get_api_resources', { search: 'gizmo' });
  kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
      spec: {
        group: crdGroup,
        scope: 'Namespaced',
        names: { plural: 'gizmos', singular: 'gizmo', kind: 'Gizmo', shortNames: ['gz'], categories: ['e2e'] },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    }),
  });
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crdName}`]);
  // The API server publishes the new group in discovery shortly after Established.
  waitFor('the CRD in discovery', () => {
    const r = kubectl(['get', '--raw', `/apis/${crdGroup}/v1`], { allowFail: true });
    return !r.failed && kubectl(['get', '--raw', '/apis']).includes(`"${crdGroup}"`);
  });

  const { data } = await ok(srv.client, 'k8s_get_api_resources', { apiGroup: crdGroup });
  assert.equal(data.discoveryRefreshed, true);
  assert.equal(data.resources.length, 1);
  const g = data.resources[0];
  assert.deepEqual({ name: g.name, kind: g.kind, version: g.version, namespaced: g.namespaced, shortNames: g.shortNames, categories: g.categories },
    { name: 'gizmos', kind: 'Gizmo', version: 'v1', namespaced: true, shortNames: ['gz'], categories: ['e2e'] });

  const refreshed = await ok(srv.client, 'k8s_get_api_resources', { refresh: true });
  assert.ok(refreshed.data.resources.some((r) => r.group === crdGroup && r.name === 'gizmos'));
});

test('cluster health: ready, node counts match kubectl, version, latency', async () => {
  const { data, text } = await ok(srv.client, 'k8s_get_cluster_health', {});
  const nodes = kubectlJson(['get', 'nodes']).items;
  const readyNodes = nodes.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
  assert.equal(data.readyz.status, 'ok');
  assert.ok(data.readyz.checks.some((c) => c.name === 'etcd' && c.ok), JSON.stringify(data.readyz.checks));
  assert.deepEqual(data.readyz.failed, []);
  assert.equal(data.livez.status, 'ok');
  assert.ok(data.livez.checks.length > 0);
  assert.equal(data.nodes.total, nodes.length);
  assert.equal(data.nodes.ready, readyNodes.length);
  assert.equal(data.nodes.notReady, nodes.length - readyNodes.length);
  const ver = JSON.parse(kubectl(['version', '-o', 'json'])).serverVersion.gitVersion;
  assert.equal(data.version.gitVersion, ver);
  assert.equal(data.status, readyNodes.length === nodes.length ? 'healthy' : 'degraded');
  assert.ok(data.latency.samples > 0);
  assert.ok(data.latency.minMs <= data.latency.medianMs && data.latency.medianMs <= data.latency.maxMs);
  assert.match(text, new RegExp(`^Nodes: ${nodes.length} total, ${readyNodes.length} ready`, 'm'));
  assert.match(text, /^readyz: ok \(\d+ checks passed\)$/m);
});

test('cluster health as the view-only user still answers, per-check', async () => {
  const env = clusterEnv();
  const viewer = await startServer([], { kubeconfig: env.VIEWER_KUBECONFIG });
  try {
    const { data, text } = await ok(viewer.client, 'k8s_get_cluster_health', {});
    // `kubectl auth can-i` exits 1 when the answer is no.
    const canI = kubectl(['auth', 'can-i', 'list', 'nodes'], { kubeconfig: env.VIEWER_KUBECONFIG, allowFail: true });
    if (canI.failed) {
      assert.match(canI.stdout, /^no/);
      assert.equal(data.nodes.status, 'forbidden');
      assert.match(data.nodes.error, /Forbidden/);
      assert.ok(data.notVisible.includes('nodes'));
      assert.match(text, /^Nodes: forbidden/m);
    } else {
      assert.equal(data.nodes.total, kubectlJson(['get', 'nodes']).items.length);
    }
    assert.ok(['ok', 'forbidden'].includes(data.readyz.status), data.readyz.status);
    assert.equal(data.version.status, 'ok');
    assert.ok(['healthy', 'degraded'].includes(data.status));
  } finally {
    await viewer.close();
  }
});
