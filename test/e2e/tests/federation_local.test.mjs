// Federation (issue 14) in local mode: stdio, no OAuth. Workload clusters (test/federation/up.sh:
// wc1..wc3, Cluster objects on c0) are reached with their `<name>-kubeconfig` Secret's
// credentials as they are, no Impersonate-* headers. kubectl against each workload cluster and
// its API server's audit log cross-check what the server did.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, ok, fails, call, kubectl, clusterEnv, serverBin } from '../lib/harness.mjs';
import {
  federationUp, stopWc, startWc, freezeWc, thawWc, wcKubectl, wcExists, auditMark, auditEvents, auditEventsNow,
  EXPECTED, assertClusterItem, fleetByCluster, rowNames, eventually,
} from '../lib/federation.mjs';

const K8S_TOOLS_READ = ['k8s_list_resources', 'k8s_get_resource', 'k8s_describe_resource', 'k8s_get_pod_logs',
  'k8s_get_api_resources', 'k8s_get_cluster_health'];
const CM = (name, data, ns = 'fedtest') => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap',
  metadata: { name, namespace: ns }, data });

const servers = [];
async function server(args, opts) {
  const s = await startServer(['--enable-capi', ...args], opts);
  servers.push(s);
  return s;
}
let srv;

before(async () => {
  federationUp();
  srv = await server(['--fleet-cluster-timeout', '4s']);
});

after(async () => {
  for (const s of servers) await s.close().catch(() => {});
  // A failed test must not leave a workload cluster stopped or frozen for the next file.
  federationUp();
});

test('tools: every Kubernetes tool takes `cluster`, the read tools take fleet targets, the capi tools exist', async () => {
  const { tools } = await srv.client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  for (const n of ['capi_list_clusters', 'capi_get_cluster', 'capi_resolve_cluster', 'capi_cluster_health']) {
    assert.ok(byName[n], `${n} listed`);
  }
  // Every tool that talks to a cluster (it takes a kubeconfig `context`) takes `cluster` too;
  // the server-local ones (context switching, port-forward sessions) take neither.
  const k8s = tools.filter((t) => t.inputSchema.properties?.context);
  assert.ok(k8s.length >= 6, k8s.map((t) => t.name).join());
  for (const t of k8s) assert.ok(t.inputSchema.properties.cluster, `${t.name} has a cluster argument`);
  for (const n of K8S_TOOLS_READ) assert.ok(byName[n].inputSchema.properties.context, `${n} talks to a cluster`);
  for (const n of K8S_TOOLS_READ) {
    assert.ok(byName[n].inputSchema.properties.clusters, `${n} takes clusters`);
    assert.ok(byName[n].inputSchema.properties.clusterSelector, `${n} takes clusterSelector`);
  }
  // Without --enable-capi there is no cluster argument and no capi tool.
  const plain = await startServer([]);
  try {
    const names = (await plain.client.listTools()).tools;
    assert.ok(!names.some((t) => t.name.startsWith('capi_')));
    assert.ok(!names.some((t) => t.inputSchema.properties?.cluster));
  } finally {
    await plain.close();
  }
});

test('capi_list_clusters: local mode said plainly, every field as created, filters', async () => {
  const r = await ok(srv.client, 'capi_list_clusters');
  assert.equal(r.data.authMode, 'local');
  assert.match(r.data.note, /local/i);
  assert.match(r.text, /local/i);
  const byName = Object.fromEntries(r.data.clusters.map((c) => [c.name, c]));
  assert.deepEqual(Object.keys(byName).sort(), ['wc1', 'wc2', 'wc3']);
  assert.equal(r.data.total, 3);
  for (const wc of ['wc1', 'wc2', 'wc3']) assertClusterItem(byName[wc], wc);
  const names = async (args) => (await ok(srv.client, 'capi_list_clusters', args)).data.clusters.map((c) => c.name).sort();
  assert.deepEqual(await names({ provider: 'azure' }), ['wc2']);
  assert.deepEqual(await names({ provider: 'AWS' }), ['wc1']);
  assert.deepEqual(await names({ organization: 'beta' }), ['wc3']);
  assert.deepEqual(await names({ organization: 'org-acme' }), ['wc1', 'wc2']);
  assert.deepEqual(await names({ labelSelector: 'mcp-test/tier=prod' }), ['wc1', 'wc3']);
  assert.deepEqual(await names({ status: 'Provisioned', readyOnly: true }), ['wc1', 'wc2', 'wc3']);
  assert.deepEqual(await names({ status: 'Deleting' }), []);
  const one = await ok(srv.client, 'capi_list_clusters', { limit: 1 });
  assert.equal(one.data.clusters.length, 1);
  assert.equal(one.data.total, 3);
  await fails(srv.client, 'capi_list_clusters', { limit: 501 });
  await fails(srv.client, 'capi_list_clusters', { labelSelector: 'a in (' });
});

test('capi_get_cluster / capi_resolve_cluster: fields, labels, annotations, no Secret data', async () => {
  const obj = JSON.parse(kubectl(['-n', 'org-acme', 'get', 'cluster.v1beta2.cluster.x-k8s.io', 'wc1', '-o', 'json']));
  const g = await ok(srv.client, 'capi_get_cluster', { name: 'wc1' });
  assertClusterItem(g.data, 'wc1');
  assert.equal(g.data.description, EXPECTED.wc1.description);
  assert.equal(g.data.createdAt, obj.metadata.creationTimestamp);
  assert.equal(g.data.labels['release.giantswarm.io/version'], '31.1.0');
  assert.equal(g.data.labels['mcp-test/tier'], 'prod');
  assert.equal(g.data.annotations['cluster.giantswarm.io/description'], EXPECTED.wc1.description);
  const g2 = await ok(srv.client, 'capi_get_cluster', { name: 'wc2', namespace: 'org-acme' });
  assertClusterItem(g2.data, 'wc2');
  assert.equal(g2.data.description, '');
  // The kubeconfig Secret's key never reaches the answer.
  const secret = JSON.parse(kubectl(['-n', 'org-acme', 'get', 'secret', 'wc1-kubeconfig', '-o', 'json']));
  const key = Buffer.from(secret.data.value, 'base64').toString().match(/client-key-data: (\S+)/)[1];
  assert.ok(!JSON.stringify(g.raw).includes(key.slice(0, 40)));
  assert.ok(!srv.stderr().includes(key.slice(0, 40)), 'the Secret key in the server log');
  assert.match(await fails(srv.client, 'capi_get_cluster', { name: 'nope' }), /not found/);
  assert.match(await fails(srv.client, 'capi_get_cluster', { name: 'wc1', namespace: 'org-beta' }), /not found/);

  const exact = await ok(srv.client, 'capi_resolve_cluster', { pattern: 'wc2' });
  assert.equal(exact.data.resolved, true);
  assertClusterItem(exact.data.cluster, 'wc2');
  const sub = await ok(srv.client, 'capi_resolve_cluster', { pattern: 'WC3' });
  assert.equal(sub.data.resolved, true, JSON.stringify(sub.data));
  assert.equal(sub.data.cluster.name, 'wc3');
  const many = await ok(srv.client, 'capi_resolve_cluster', { pattern: 'wc' });
  assert.equal(many.data.resolved, false);
  assert.deepEqual(many.data.matches.map((m) => m.name).sort(), ['wc1', 'wc2', 'wc3']);
  assert.ok(many.data.message);
  const none = await ok(srv.client, 'capi_resolve_cluster', { pattern: 'zzz-nothing' });
  assert.equal(none.data.resolved, false);
  assert.ok(!none.data.matches?.length);
});

test('a call with `cluster` reaches that workload cluster with the Secret credentials, no impersonation', async () => {
  const marks = { wc1: auditMark('wc1'), wc2: auditMark('wc2'), wc3: auditMark('wc3') };
  for (const wc of ['wc1', 'wc2', 'wc3']) {
    const r = await ok(srv.client, 'k8s_get_resource',
      { cluster: wc, resourceType: 'configmaps', namespace: 'fedtest', name: 'wc-identity' });
    assert.equal(JSON.stringify(r.data).includes(`"cluster":"${wc}"`), true, JSON.stringify(r.data).slice(0, 400));
  }
  for (const wc of ['wc1', 'wc2', 'wc3']) {
    const ev = await auditEvents(wc, marks[wc], (e) => e.objectRef?.name === 'wc-identity' && e.verb === 'get');
    assert.ok(ev.length, `${wc} saw the get`);
    assert.equal(ev[0].user.username, `${wc}-admin`);
    assert.equal(ev[0].impersonatedUser, undefined, 'local mode sends no Impersonate-* headers');
  }
  // No `cluster`: the management cluster, as before (the org namespaces exist only there).
  const mc = await ok(srv.client, 'k8s_get_resource', { resourceType: 'namespaces', name: 'org-acme' });
  assert.match(mc.text, /org-acme/);
  const onWc = await fails(srv.client, 'k8s_get_resource', { cluster: 'wc1', resourceType: 'namespaces', name: 'org-acme' });
  assert.match(onWc, /not ?found/i);
  assert.match(onWc, /cluster wc1/);
  assert.match(onWc, /local credentials/);
});

test('argument checks: unknown cluster, bad name, cluster with kubeContext, several fleet targets', async () => {
  const args = { resourceType: 'configmaps', namespace: 'fedtest' };
  assert.match(await fails(srv.client, 'k8s_list_resources', { ...args, cluster: 'nope' }),
    /cluster "nope" not found; capi_list_clusters lists the clusters/);
  for (const bad of ['Bad_Name', '../wc1', 'a/b/c', 'Org/wc1', '-wc1', 'a'.repeat(64)]) {
    const r = await call(srv.client, 'k8s_list_resources', { ...args, cluster: bad }).catch((e) => ({ isError: true, e }));
    assert.ok(r.isError, `cluster ${bad} refused`);
  }
  const ctx = await call(srv.client, 'k8s_list_resources', { ...args, cluster: 'wc1', kubeContext: 'c0' })
    .catch((e) => ({ isError: true, content: [{ text: e.message }] }));
  assert.ok(ctx.isError, 'cluster with kubeContext refused');
  const two = await call(srv.client, 'k8s_list_resources', { ...args, cluster: 'wc1', clusters: ['wc2'] })
    .catch((e) => ({ isError: true }));
  assert.ok(two.isError, 'cluster with clusters refused');
  const tooMany = await call(srv.client, 'k8s_list_resources',
    { ...args, clusters: Array.from({ length: 51 }, (_, i) => `c${i}`) }).catch(() => ({ isError: true }));
  assert.ok(tooMany.isError, '51 clusters refused');
});

describe('fleet-wide', () => {
  test('"*": one section per cluster, each the right cluster\'s objects', async () => {
    const r = await ok(srv.client, 'k8s_list_resources', { cluster: '*', resourceType: 'configmaps', namespace: 'fedtest' });
    const by = fleetByCluster(r.data);
    assert.deepEqual(Object.keys(by).sort(), ['wc1', 'wc2', 'wc3']);
    for (const wc of ['wc1', 'wc2', 'wc3']) {
      assert.equal(by[wc].ok, true, JSON.stringify(by[wc]));
      assert.equal(by[wc].namespace, EXPECTED[wc].namespace);
      assert.ok(rowNames(by[wc].result).includes('wc-identity'), JSON.stringify(by[wc].result).slice(0, 300));
      assert.match(r.text, new RegExp(`## cluster ${wc}`));
    }
    assert.deepEqual(r.data.summary, { total: 3, succeeded: 3, failed: 0 });
    // The identity ConfigMap in each section is that cluster's own.
    const g = await ok(srv.client, 'k8s_get_resource',
      { cluster: '*', resourceType: 'configmaps', namespace: 'fedtest', name: 'wc-identity' });
    for (const [wc, s] of Object.entries(fleetByCluster(g.data))) {
      assert.ok(JSON.stringify(s.result).includes(`"cluster":"${wc}"`), `${wc}: ${JSON.stringify(s.result).slice(0, 300)}`);
    }
  });

  test('clusters list and clusterSelector pick the named clusters', async () => {
    const args = { resourceType: 'namespaces' };
    const l = await ok(srv.client, 'k8s_list_resources', { ...args, clusters: ['wc1', 'wc3'] });
    assert.deepEqual(Object.keys(fleetByCluster(l.data)).sort(), ['wc1', 'wc3']);
    const s = await ok(srv.client, 'k8s_list_resources', { ...args, clusterSelector: 'mcp-test/tier=staging' });
    assert.deepEqual(Object.keys(fleetByCluster(s.data)), ['wc2']);
    // An unknown name in the list: refused as a whole or reported in its own section (the
    // contract leaves it open); never silently dropped.
    const u = await call(srv.client, 'k8s_list_resources', { ...args, clusters: ['wc1', 'nope'] });
    if (u.isError && !u.structuredContent?.clusters) {
      assert.match(u.content.map((c) => c.text).join(''), /"?nope"? not found/);
    } else {
      const by = fleetByCluster(u.structuredContent);
      assert.equal(by.wc1.ok, true);
      assert.equal(by.nope.ok, false);
      assert.match(by.nope.error, /not found/);
    }
  });

  test('a stopped cluster: two results and one error, not a failed call; all failed => isError', async () => {
    stopWc('wc3');
    try {
      const r = await ok(srv.client, 'k8s_list_resources', { cluster: '*', resourceType: 'configmaps', namespace: 'fedtest' });
      const by = fleetByCluster(r.data);
      assert.equal(by.wc1.ok, true);
      assert.equal(by.wc2.ok, true);
      assert.equal(by.wc3.ok, false);
      assert.match(by.wc3.error, /wc3/);
      assert.match(r.text, /## cluster wc3[\s\S]*error:/);
      assert.deepEqual(r.data.summary, { total: 3, succeeded: 2, failed: 1 });
      const only = await call(srv.client, 'k8s_list_resources', { clusters: ['wc3'], resourceType: 'namespaces' });
      assert.equal(only.isError, true, 'every cluster failed');
      // capi_cluster_health probes /readyz through the client: not HEALTHY while it is down.
      const h = await ok(srv.client, 'capi_cluster_health', { name: 'wc3' });
      assert.notEqual(h.data.status, 'HEALTHY');
      assert.ok(h.data.checks.some((c) => c.status === 'fail'), JSON.stringify(h.data.checks));
    } finally {
      startWc('wc3');
    }
    const h = await ok(srv.client, 'capi_cluster_health', { name: 'wc3' });
    assert.equal(h.data.status, 'HEALTHY', JSON.stringify(h.data));
  });

  test('a hanging cluster (SIGSTOP) ends at --fleet-cluster-timeout; the others answer', async () => {
    freezeWc('wc2');
    try {
      const r = await ok(srv.client, 'k8s_list_resources', { cluster: '*', resourceType: 'namespaces' });
      const by = fleetByCluster(r.data);
      assert.equal(by.wc1.ok, true);
      assert.equal(by.wc3.ok, true);
      assert.equal(by.wc2.ok, false);
      assert.match(by.wc2.error, /time/i);
    } finally {
      thawWc('wc2');
    }
  });

  test('write tools refuse fleet targets', async () => {
    const w = await server(['--dry-run']);
    const t = await fails(w.client, 'k8s_delete_resource',
      { cluster: '*', resourceType: 'configmaps', namespace: 'fedtest', name: 'wc-identity' });
    assert.match(t, /fleet-wide calls are read-only/);
    const t1 = await fails(w.client, 'k8s_create_resource', { cluster: '*', manifest: CM('fleet-x', { a: 'b' }) });
    assert.match(t1, /fleet-wide calls are read-only/);
    // Refused either as a fleet call or as an argument the write tool does not take.
    const t2 = await fails(w.client, 'k8s_create_resource', { clusters: ['wc1', 'wc2'], manifest: CM('fleet-x', { a: 'b' }) });
    assert.match(t2, /fleet-wide calls are read-only|unknown argument 'clusters'/);
    for (const wc of ['wc1', 'wc2']) assert.ok(!wcExists(wc, ['-n', 'fedtest', 'configmap', 'fleet-x']));
  });
});

describe('the safety policy on workload clusters', () => {
  test('--dry-run: create, patch and delete on wc2 persist nothing (kubectl on wc2); dryRun=All reaches wc2', async () => {
    const d = await server(['--dry-run']);
    const mark = auditMark('wc2');
    const c = await ok(d.client, 'k8s_create_resource', { cluster: 'wc2', manifest: CM('dry-made', { a: 'b' }) });
    assert.equal(c.data.dryRun, true);
    assert.ok(!wcExists('wc2', ['-n', 'fedtest', 'configmap', 'dry-made']));
    await ok(d.client, 'k8s_patch_resource', { cluster: 'wc2', resourceType: 'configmaps', namespace: 'fedtest',
      name: 'wc-identity', patchType: 'merge', patch: { data: { cluster: 'changed' } } });
    await ok(d.client, 'k8s_delete_resource', { cluster: 'wc2', resourceType: 'configmaps', namespace: 'fedtest',
      name: 'wc-identity' });
    const cm = JSON.parse(wcKubectl('wc2', ['-n', 'fedtest', 'get', 'configmap', 'wc-identity', '-o', 'json']));
    assert.equal(cm.data.cluster, 'wc2');
    const writes = await auditEvents('wc2', mark, (e) => ['create', 'patch', 'delete'].includes(e.verb) &&
      e.objectRef?.namespace === 'fedtest');
    assert.ok(writes.length >= 1);
    for (const e of auditEventsNow('wc2', mark, (x) => ['create', 'patch', 'delete'].includes(x.verb) &&
      x.objectRef?.namespace === 'fedtest')) {
      assert.match(e.requestURI, /dryRun=All/, `a write without dryRun reached wc2: ${e.requestURI}`);
    }
  });

  test('non-destructive: only the allowed operation reaches a workload cluster', async () => {
    const s = await server(['--allowed-operations=create']);
    const names = (await s.client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('k8s_create_resource'));
    assert.ok(!names.includes('k8s_delete_resource'));
    await assert.rejects(call(s.client, 'k8s_delete_resource',
      { cluster: 'wc1', resourceType: 'configmaps', namespace: 'fedtest', name: 'wc-identity' }), /Unknown tool|not/i);
    assert.ok(wcExists('wc1', ['-n', 'fedtest', 'configmap', 'wc-identity']));
    try {
      await ok(s.client, 'k8s_create_resource', { cluster: 'wc1', manifest: CM('nd-made', { a: 'b' }) });
      assert.ok(wcExists('wc1', ['-n', 'fedtest', 'configmap', 'nd-made']), 'created on wc1');
      assert.ok(!wcExists('wc2', ['-n', 'fedtest', 'configmap', 'nd-made']), 'not on wc2');
    } finally {
      wcKubectl('wc1', ['-n', 'fedtest', 'delete', 'configmap', 'nd-made', '--ignore-not-found']);
    }
  });

  test('namespace limits apply on workload clusters', async () => {
    const s = await server(['--denied-namespaces=fedtest']);
    const t = await fails(s.client, 'k8s_list_resources', { cluster: 'wc1', resourceType: 'configmaps', namespace: 'fedtest' });
    assert.match(t, /fedtest/);
    await ok(s.client, 'k8s_list_resources', { cluster: 'wc1', resourceType: 'configmaps', namespace: 'default' });
  });
});

test('a name in two organizations is ambiguous: the error lists both namespaces; "namespace/name" picks one', async () => {
  const dup = {
    apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster',
    metadata: { name: 'wc1', namespace: 'org-beta', labels: { 'giantswarm.io/organization': 'beta' } },
    spec: { infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'VSphereCluster', name: 'wc1' },
      controlPlaneEndpoint: { host: '127.0.0.1', port: 1 } },
  };
  kubectl(['apply', '-f', '-'], { input: JSON.stringify(dup) });
  try {
    await eventually(async () => {
      const r = await call(srv.client, 'k8s_list_resources', { cluster: 'wc1', resourceType: 'namespaces' });
      const t = r.content.map((c) => c.text).join('');
      return r.isError && /ambiguous/.test(t) && /org-acme/.test(t) && /org-beta/.test(t) ? true : new Error(t.slice(0, 200));
    }, 'ambiguous cluster name reported');
    const amb = await call(srv.client, 'k8s_list_resources', { cluster: 'wc1', resourceType: 'namespaces' });
    assert.match(amb.content.map((c) => c.text).join(''), /name one as "org-acme\/wc1"/);
    // The form the error suggests works, and reaches the cluster it names.
    const acme = await call(srv.client, 'k8s_list_resources', { cluster: 'org-acme/wc1', resourceType: 'namespaces' });
    assert.ok(!acme.isError, acme.content.map((c) => c.text).join(''));
    assert.ok(rowNames(acme.structuredContent).includes('fedtest'), 'wc1 of org-acme has fedtest');
    const beta = await call(srv.client, 'k8s_list_resources', { cluster: 'org-beta/wc1', resourceType: 'namespaces' });
    assert.ok(beta.isError, 'org-beta/wc1 has no kubeconfig Secret');
    assert.doesNotMatch(beta.content.map((c) => c.text).join(''), /ambiguous/);
    const none = await call(srv.client, 'k8s_list_resources', { cluster: 'org-gamma/wc1', resourceType: 'namespaces' });
    assert.match(none.content.map((c) => c.text).join(''), /cluster "wc1" not found in namespace "org-gamma"/);
    // A fleet call names both; each section is headed with its namespace.
    const both = await call(srv.client, 'k8s_list_resources',
      { clusters: ['org-acme/wc1', 'org-beta/wc1'], resourceType: 'namespaces' });
    const text = both.content.map((c) => c.text).join('');
    assert.match(text, /## cluster org-acme\/wc1\n/);
    assert.match(text, /## cluster org-beta\/wc1\nerror: /);
    assert.deepEqual(both.structuredContent.clusters.map((c) => [c.namespace, c.cluster, c.ok]),
      [['org-acme', 'wc1', true], ['org-beta', 'wc1', false]]);
    const g = await ok(srv.client, 'capi_get_cluster', { name: 'wc1', namespace: 'org-beta' });
    assert.equal(g.data.provider, 'vsphere');
    assert.equal(g.data.ready, false);
    assert.equal(g.data.kubernetesVersion ?? '', '');
  } finally {
    kubectl(['-n', 'org-beta', 'delete', 'cluster.cluster.x-k8s.io', 'wc1', '--ignore-not-found']);
  }
  await eventually(async () => !(await call(srv.client, 'k8s_list_resources',
    { cluster: 'wc1', resourceType: 'namespaces' })).isError, 'wc1 unambiguous again');
});

test('a Cluster that is not ready: fields and health derived from its status', async () => {
  const obj = {
    apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster',
    metadata: { name: 'beta-young', namespace: 'org-beta', labels: { 'release.giantswarm.io/version': '32.0.0' } },
    spec: { infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'GCPCluster', name: 'beta-young' },
      topology: { classRef: { name: 'c' }, version: 'v1.37.0' } },
  };
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const status = { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster',
    metadata: { name: 'beta-young', namespace: 'org-beta' },
    status: { phase: 'Provisioning', initialization: { infrastructureProvisioned: true },
      controlPlane: { desiredReplicas: 3, replicas: 1, readyReplicas: 0 },
      conditions: [
        { type: 'InfrastructureReady', status: 'True', reason: 'Ready', message: '', lastTransitionTime: now },
        { type: 'ControlPlaneAvailable', status: 'False', reason: 'NotAvailable', message: 'waiting', lastTransitionTime: now },
      ] } };
  kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(obj) });
  kubectl(['apply', '--server-side', '--subresource=status', '-f', '-'], { input: JSON.stringify(status) });
  try {
    let item;
    await eventually(async () => {
      const r = await ok(srv.client, 'capi_list_clusters', { organization: 'beta' });
      item = r.data.clusters.find((c) => c.name === 'beta-young');
      return item?.phase === 'Provisioning' ? true : new Error(JSON.stringify(item));
    }, 'beta-young listed with its status');
    assert.equal(item.provider, 'gcp');
    assert.equal(item.release, '32.0.0');
    assert.equal(item.organization, 'beta');
    assert.equal(item.kubernetesVersion, 'v1.37.0');
    assert.equal(item.ready, false);
    assert.equal(item.controlPlaneReady, false);
    assert.equal(item.infrastructureReady, true);
    assert.equal(item.nodeCount, 0);
    const ready = await ok(srv.client, 'capi_list_clusters', { readyOnly: true });
    assert.ok(!ready.data.clusters.some((c) => c.name === 'beta-young'));
    const h = await ok(srv.client, 'capi_cluster_health', { name: 'beta-young' });
    assert.equal(h.data.status, 'DEGRADED', JSON.stringify(h.data));
    assert.ok(h.data.checks.some((c) => c.status === 'fail'));
    const healthy = await ok(srv.client, 'capi_cluster_health', { name: 'wc1' });
    assert.equal(healthy.data.status, 'HEALTHY', JSON.stringify(healthy.data));
    assert.ok(healthy.data.checks.length >= 2 && healthy.data.checks.every((c) => c.status === 'pass'),
      JSON.stringify(healthy.data.checks));
  } finally {
    kubectl(['-n', 'org-beta', 'delete', 'cluster.cluster.x-k8s.io', 'beta-young', '--ignore-not-found']);
  }
});

test('startup refuses unsafe or impossible federation settings, naming the flag', () => {
  const env = { PATH: process.env.PATH, KUBECONFIG: clusterEnv().KUBECONFIG };
  const run = (args, extraEnv = {}) => spawnSync(serverBin, ['serve', ...args],
    { env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 20000 });
  const cases = [
    [['--enable-capi', '--wc-auth-mode', 'sso-passthrough'], /sso-passthrough.*--enable-oauth|--enable-oauth/],
    [['--enable-capi', '--wc-auth-mode', 'kerberos'], /wc-auth-mode/],
    [['--enable-capi', '--wc-group-mappings', '{"mcp-viewers":"system:masters"}'], /system:masters/],
    [['--enable-capi', '--wc-group-mappings', '{"a":"system:kube-controller-manager"}'], /system:kube/],
    [['--enable-capi', '--wc-group-mappings', '{not json'], /wc-group-mappings/],
    [['--enable-capi', '--client-cache-ttl', 'forever'], /client-cache-ttl/],
    [['--enable-capi'], /WC_GROUP_MAPPINGS|wc-group-mappings/, {
      WC_GROUP_MAPPINGS: JSON.stringify(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`g${i}`, `m${i}`]))) }],
  ];
  for (const [args, expected, extraEnv] of cases) {
    const r = run(args, extraEnv);
    assert.notEqual(r.status, 0, `${args.join(' ')} started`);
    assert.match(r.stderr, expected, `${args.join(' ')}: ${r.stderr}`);
  }
});

test("a kubeconfig Secret with an exec plugin, an auth provider or file paths is refused, and nothing runs", async () => {
  const { existsSync, rmSync } = await import('node:fs');
  const marker = `/tmp/fedground-exec-ran-${process.pid}`;
  rmSync(marker, { force: true });
  const wc1 = JSON.parse(kubectl(['-n', 'org-acme', 'get', 'secret', 'wc1-kubeconfig', '-o', 'json']));
  const good = Buffer.from(wc1.data.value, 'base64').toString();
  const server = good.match(/server: "([^"]+)"/)[1];
  const ca = good.match(/certificate-authority-data: ([A-Za-z0-9+/=]+)/)[1];
  const kc = (user) => `apiVersion: v1
kind: Config
clusters: [{name: x, cluster: {server: "${server}", certificate-authority-data: ${ca}}}]
users: [{name: u, user: ${JSON.stringify(user)}}]
contexts: [{name: x, context: {cluster: x, user: u}}]
current-context: x
`;
  const cases = {
    'evil-exec': kc({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/usr/bin/touch', args: [marker],
      interactiveMode: 'Never' } }),
    'evil-provider': kc({ 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } }),
    'evil-keyfile': kc({ 'client-certificate': '/etc/passwd', 'client-key': '/etc/shadow' }),
    'evil-tokenfile': kc({ tokenFile: '/etc/hostname' }),
  };
  // What each refusal must name (every message also lists the inline fields that are accepted).
  const why = { 'evil-exec': /exec/, 'evil-provider': /auth-provider/, 'evil-keyfile': /client-(certificate|key) file/,
    'evil-tokenfile': /tokenFile/ };
  const docs = [];
  for (const [name, value] of Object.entries(cases)) {
    docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-kubeconfig`, namespace: 'org-beta' },
      data: { value: Buffer.from(value).toString('base64') } });
    docs.push({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', metadata: { name, namespace: 'org-beta' },
      spec: { infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'EvilCluster', name } } });
  }
  kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }) });
  try {
    for (const name of Object.keys(cases)) {
      let t = '';
      await eventually(async () => {
        const r = await call(srv.client, 'k8s_list_resources', { cluster: name, resourceType: 'namespaces' });
        t = r.content.map((c) => c.text).join('');
        return r.isError && !/not found/.test(t) ? true : new Error(t.slice(0, 200));
      }, `${name} refused`);
      assert.match(t, new RegExp(`cluster ${name}`), t);
      const reason = t.replaceAll(name, '');
      assert.doesNotMatch(reason, /YAML/, `${name}: the test's kubeconfig itself is broken: ${t}`);
      assert.match(reason, why[name], `${name}: ${t}`);
    }
    assert.ok(!existsSync(marker), 'the exec plugin ran');
    assert.doesNotMatch(srv.stderr(), /root:x:0:0/);
  } finally {
    rmSync(marker, { force: true });
    kubectl(['-n', 'org-beta', 'delete', 'cluster.cluster.x-k8s.io', ...Object.keys(cases), '--ignore-not-found']);
    kubectl(['-n', 'org-beta', 'delete', 'secret', ...Object.keys(cases).map((n) => `${n}-kubeconfig`), '--ignore-not-found']);
  }
});
