// Federation (issue 14) over HTTP with OAuth: two Dex users (admin@example.com in mcp-admins,
// viewer@example.com in mcp-viewers) signed in with the TypeScript SDK's OAuth client; workload
// clusters wc1..wc3 from test/federation/up.sh, whose RBAC differs per group (wc1: admins all,
// viewers view; wc2: admins all, viewers nothing; wc3: viewers view, admins nothing; both may
// list namespaces everywhere). Impersonation (default) and SSO passthrough (wc2 trusts Dex).
// On the management cluster (c0) admins may see every Cluster object, viewers those of org-beta
// (list) and org-acme/wc1 (get by name): wc2 is hidden from viewers (--capi-access-check rbac).
// The workload API servers' audit logs and kubectl against them cross-check every claim.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startOAuthServer, signIn, text } from '../lib/oauth.mjs';
import { kubectl, clusterEnv } from '../lib/harness.mjs';
import {
  federationUp, stopWc, startWc, wcKubectl, wcExists, auditMark, auditEvents, auditEventsNow,
  assertClusterItem, fleetByCluster, rowNames, eventually,
} from '../lib/federation.mjs';

const CM = (name, data, ns = 'fedtest') => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap',
  metadata: { name, namespace: ns }, data });
const LIST_CM = { resourceType: 'configmaps', namespace: 'fedtest' };
const servers = [];
const clients = [];
let srv, admin, viewer;

async function oauthServer(args) {
  const s = await startOAuthServer(['--enable-capi', ...args]);
  servers.push(s);
  return s;
}
async function user(s, email) {
  const { client } = await signIn(s.base, email);
  clients.push(client);
  return client;
}
const callTool = (client, name, args = {}) => client.callTool({ name, arguments: args }, undefined, { timeout: 120000 });
async function okCall(client, name, args) {
  const r = await callTool(client, name, args);
  assert.ok(!r.isError, `${name} failed: ${text(r)}`);
  return { text: text(r), data: r.structuredContent, raw: r };
}
async function errCall(client, name, args) {
  const r = await callTool(client, name, args);
  assert.ok(r.isError, `${name} should have failed: ${text(r).slice(0, 400)}`);
  return text(r);
}

before(async () => {
  federationUp();
  srv = await oauthServer(['--allowed-operations=create', '--fleet-cluster-timeout', '4s']);
  admin = await user(srv, 'admin@example.com');
  viewer = await user(srv, 'viewer@example.com');
});

after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  for (const s of servers) await s.stop().catch(() => {});
  federationUp();  // a failed test must not leave a workload cluster stopped
});

test('capi_list_clusters for a signed-in user: impersonation mode, every field as created', async () => {
  const r = await okCall(admin, 'capi_list_clusters', {});
  assert.equal(r.data.authMode, 'impersonation');
  assert.equal(r.data.total, 3);
  const by = Object.fromEntries(r.data.clusters.map((c) => [c.name, c]));
  for (const wc of ['wc1', 'wc2', 'wc3']) assertClusterItem(by[wc], wc);
  const h = await okCall(admin, 'capi_cluster_health', { name: 'wc2' });
  assert.equal(h.data.name, 'wc2');
  assert.equal(h.data.status, 'HEALTHY', JSON.stringify(h.data));
  for (const k of ['controlPlane', 'infrastructure', 'nodes']) assert.ok(h.data.components[k], `components.${k}`);
  const res = await okCall(viewer, 'capi_resolve_cluster', { pattern: 'wc1' });
  assert.equal(res.data.resolved, true);
  assertClusterItem(res.data.cluster, 'wc1');
});

test("the same call on a workload cluster: allowed for one user, refused by that cluster's RBAC for the other", async () => {
  // wc2: admins yes (viewers may not even see wc2 on the management cluster: tested below).
  const a = await okCall(admin, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc2' });
  assert.ok(rowNames(a.data).includes('wc-identity'), a.text);
  // wc3: viewers yes, admins refused by wc3's RBAC (admins do see the Cluster object).
  const v3 = await okCall(viewer, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc3' });
  assert.ok(rowNames(v3.data).includes('wc-identity'), v3.text);
  const a3 = await errCall(admin, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc3' });
  assert.match(a3, /forbidden/i);
  assert.match(a3, /cluster wc3/);
  assert.match(a3, /impersonating admin@example\.com/);
  // Writes too: viewers may read wc1 but not create there.
  const w = await errCall(viewer, 'k8s_create_resource', { cluster: 'wc1', manifest: CM('viewer-made', { a: 'b' }) });
  assert.match(w, /forbidden/i);
  assert.ok(!wcExists('wc1', ['-n', 'fedtest', 'configmap', 'viewer-made']));
});

test('the audit log of the workload API server shows the impersonated user, groups and the agent', async () => {
  const mark = auditMark('wc1');
  await okCall(viewer, 'k8s_get_resource', { cluster: 'wc1', resourceType: 'configmaps', namespace: 'fedtest',
    name: 'wc-identity' });
  const ev = await auditEvents('wc1', mark, (e) => e.verb === 'get' && e.objectRef?.name === 'wc-identity');
  assert.ok(ev.length, 'wc1 logged the get');
  const e = ev[0];
  assert.equal(e.user.username, 'wc1-admin', 'the Secret credential authenticates');
  assert.equal(e.impersonatedUser?.username, 'viewer@example.com');
  assert.ok(e.impersonatedUser.groups.includes('mcp-viewers'), JSON.stringify(e.impersonatedUser));
  assert.ok(!e.impersonatedUser.groups.includes('mcp-admins'));
  assert.deepEqual(e.impersonatedUser.extra?.agent, ['mcp-kubernetes']);
  assert.equal(e.impersonatedUser.extra?.sub?.length, 1, JSON.stringify(e.impersonatedUser.extra));
  assert.ok(e.impersonatedUser.extra.sub[0].length > 0);
  assert.equal(e.responseStatus?.code, 200);
  // Nothing reached wc1 unimpersonated on the user's behalf.
  for (const x of auditEventsNow('wc1', mark, (y) => y.objectRef?.namespace === 'fedtest')) {
    assert.ok(x.impersonatedUser, `an unimpersonated request: ${x.verb} ${x.requestURI}`);
  }
});

test('non-destructive with --allowed-operations=create on a workload cluster: create lands there, delete is not offered', async () => {
  const names = (await admin.listTools()).tools.map((t) => t.name);
  assert.ok(names.includes('k8s_create_resource'));
  assert.ok(!names.includes('k8s_delete_resource'));
  await assert.rejects(callTool(admin, 'k8s_delete_resource',
    { cluster: 'wc2', resourceType: 'configmaps', namespace: 'fedtest', name: 'wc-identity' }));
  assert.ok(wcExists('wc2', ['-n', 'fedtest', 'configmap', 'wc-identity']));
  try {
    const c = await okCall(admin, 'k8s_create_resource', { cluster: 'wc2', manifest: CM('admin-made', { a: 'b' }) });
    assert.equal(c.data.dryRun, false);
    assert.ok(wcExists('wc2', ['-n', 'fedtest', 'configmap', 'admin-made']), 'on wc2');
    assert.ok(!wcExists('wc1', ['-n', 'fedtest', 'configmap', 'admin-made']), 'not on wc1');
    const f = await errCall(admin, 'k8s_create_resource', { cluster: '*', manifest: CM('fleet-made', { a: 'b' }) });
    assert.match(f, /fleet-wide calls are read-only/);
  } finally {
    wcKubectl('wc2', ['-n', 'fedtest', 'delete', 'configmap', 'admin-made', '--ignore-not-found']);
  }
});

describe('fleet-wide', () => {
  test('per-cluster RBAC: each section carries its own result or error', async () => {
    const r = await okCall(admin, 'k8s_list_resources', { ...LIST_CM, cluster: '*' });
    const by = fleetByCluster(r.data);
    assert.equal(by.wc1.ok, true);
    assert.equal(by.wc2.ok, true);
    assert.equal(by.wc3.ok, false);
    assert.match(by.wc3.error, /forbidden/i);
    assert.match(by.wc3.error, /impersonating admin@example\.com/);
    assert.deepEqual(r.data.summary, { total: 3, succeeded: 2, failed: 1 });
  });

  test('three clusters, one stopped: two results and one error', async () => {
    const all = await okCall(admin, 'k8s_list_resources', { resourceType: 'namespaces', cluster: '*' });
    assert.deepEqual(all.data.summary, { total: 3, succeeded: 3, failed: 0 });
    stopWc('wc2');
    try {
      const r = await okCall(admin, 'k8s_list_resources', { resourceType: 'namespaces', cluster: '*' });
      const by = fleetByCluster(r.data);
      for (const wc of ['wc1', 'wc3']) {
        assert.equal(by[wc].ok, true, JSON.stringify(by[wc]));
        assert.ok(rowNames(by[wc].result).includes('fedtest'));
      }
      assert.equal(by.wc2.ok, false);
      assert.doesNotMatch(by.wc2.error, /forbidden/i, 'the error is the stop, not RBAC');
      assert.match(by.wc2.error, /wc2/);
      assert.deepEqual(r.data.summary, { total: 3, succeeded: 2, failed: 1 });
      for (const wc of ['wc1', 'wc2', 'wc3']) assert.match(r.text, new RegExp(`## cluster ${wc}`));
    } finally {
      startWc('wc2');
    }
  });
});

test('--dry-run on a workload cluster writes nothing (kubectl on wc1 confirms); group mappings reach the audit log', async () => {
  const d = await oauthServer(['--dry-run', '--wc-group-mappings', '{"mcp-admins":"fed-mapped-admins"}']);
  const a = await user(d, 'admin@example.com');
  // The mapped group has no binding on wc1: the create is refused by RBAC, proving the mapping.
  const mapped = await errCall(a, 'k8s_create_resource', { cluster: 'wc1', manifest: CM('dry-made', { a: 'b' }) });
  assert.match(mapped, /forbidden/i);
  const mark = auditMark('wc1');
  const v = await user(d, 'viewer@example.com');
  // Viewers cannot write anywhere either; read works: the server is alive and dry-run changes no read.
  await okCall(v, 'k8s_get_resource', { cluster: 'wc1', resourceType: 'configmaps', namespace: 'fedtest', name: 'wc-identity' });
  const ev = await auditEvents('wc1', mark, (e) => e.verb === 'get' && e.objectRef?.name === 'wc-identity');
  assert.ok(ev.length);
  assert.ok(ev[0].impersonatedUser.groups.includes('mcp-viewers'), 'unmapped groups pass as they are');
  const m2 = auditMark('wc1');
  await errCall(a, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc1' });
  const ev2 = await auditEvents('wc1', m2, (e) => e.verb === 'list' && e.objectRef?.resource === 'configmaps');
  assert.ok(ev2.length);
  assert.ok(ev2[0].impersonatedUser.groups.includes('fed-mapped-admins'), JSON.stringify(ev2[0].impersonatedUser));
  assert.ok(!ev2[0].impersonatedUser.groups.includes('mcp-admins'));

  // The real dry-run check with an unmapped admin (the main server's admin is not mapped).
  const dry = await oauthServer(['--dry-run']);
  const da = await user(dry, 'admin@example.com');
  const m3 = auditMark('wc1');
  const c = await okCall(da, 'k8s_create_resource', { cluster: 'wc1', manifest: CM('dry-made', { a: 'b' }) });
  assert.equal(c.data.dryRun, true);
  await okCall(da, 'k8s_delete_resource', { cluster: 'wc1', resourceType: 'configmaps', namespace: 'fedtest',
    name: 'wc-identity' });
  assert.ok(!wcExists('wc1', ['-n', 'fedtest', 'configmap', 'dry-made']), 'dry-run create persisted on wc1');
  assert.ok(wcExists('wc1', ['-n', 'fedtest', 'configmap', 'wc-identity']), 'dry-run delete deleted on wc1');
  const writes = await auditEvents('wc1', m3, (e) => ['create', 'delete'].includes(e.verb) && e.objectRef?.namespace === 'fedtest');
  assert.ok(writes.length >= 1);
  for (const e of auditEventsNow('wc1', m3, (x) => ['create', 'delete'].includes(x.verb) && x.objectRef?.namespace === 'fedtest')) {
    assert.match(e.requestURI, /dryRun=All/, e.requestURI);
  }
});

test("SSO passthrough: the user's own ID token on wc2 (which trusts Dex); no fallback on wc1 (which does not)", async () => {
  const s = await oauthServer(['--wc-auth-mode', 'sso-passthrough']);
  const a = await user(s, 'admin@example.com');
  const v = await user(s, 'viewer@example.com');
  const list = await okCall(a, 'capi_list_clusters', {});
  assert.equal(list.data.authMode, 'sso-passthrough');
  const mark = auditMark('wc2');
  const r = await okCall(a, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc2' });
  assert.ok(rowNames(r.data).includes('wc-identity'), r.text);
  const ev = await auditEvents('wc2', mark, (e) => e.verb === 'list' && e.objectRef?.resource === 'configmaps');
  assert.ok(ev.length);
  assert.equal(ev[0].user.username, 'admin@example.com', 'wc2 authenticated the user themself (OIDC)');
  assert.ok(ev[0].user.groups.includes('mcp-admins'));
  assert.equal(ev[0].impersonatedUser, undefined, 'no impersonation in SSO passthrough');
  // The viewer may not see wc2 on the management cluster: not found, and their token is not sent there.
  const m2 = auditMark('wc2');
  const hidden = await errCall(v, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc2' });
  assert.match(hidden, /cluster "wc2" not found/);
  assert.deepEqual(auditEventsNow('wc2', m2, (e) => e.user?.username === 'viewer@example.com'), []);
  // wc1 does not trust Dex: refused, and nothing is tried with the Secret's credentials.
  const m1 = auditMark('wc1');
  const no = await errCall(a, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc1' });
  assert.match(no, /unauthori[sz]ed|401/i);
  assert.match(no, /cluster wc1/);
  // (The first request may be discovery rather than the list itself.)
  const ev1 = await auditEvents('wc1', m1, (e) => e.responseStatus?.code === 401);
  assert.ok(ev1.length, `wc1 refused the token (401); the error was: ${no}`);
  for (const e of auditEventsNow('wc1', m1, () => true)) {
    assert.notEqual(e.user.username, 'wc1-admin', 'fell back to the kubeconfig Secret');
    assert.equal(e.impersonatedUser, undefined);
  }
  // The server never shows the ID token.
  assert.doesNotMatch(s.stderr(), /eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/);
});

test('metrics: auth mode, client cache, fleet outcomes, workload scope; no cluster or user in any label', async () => {
  const m = await (await fetch(`${srv.base}/metrics`)).text();
  const value = (re) => Number((m.match(re) || [])[1] ?? NaN);
  assert.equal(value(/^mcp_kubernetes_wc_auth_mode\{mode="impersonation"\} (\S+)$/m), 1, m.slice(0, 2000));
  assert.ok(value(/^mcp_kubernetes_wc_client_cache_total\{result="miss"\} (\S+)$/m) >= 1);
  assert.ok(value(/^mcp_kubernetes_wc_client_cache_total\{result="hit"\} (\S+)$/m) >= 1, 'a second call reuses its client');
  assert.ok(value(/^mcp_kubernetes_wc_client_cache_entries (\S+)$/m) >= 1);
  // The per-cluster RBAC call and the stopped-cluster call were both partial.
  assert.ok(value(/^mcp_kubernetes_fleet_calls_total\{outcome="partial"\} (\S+)$/m) >= 2);
  assert.match(m, /^mcp_kubernetes_operations_total\{[^}]*scope="workload"[^}]*\} \d+/m);
  assert.match(m, /^mcp_kubernetes_operations_total\{[^}]*scope="management"[^}]*\} \d+/m);
  for (const line of m.split('\n').filter((l) => l.startsWith('mcp_kubernetes_'))) {
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    assert.doesNotMatch(labels, /wc[123]|org-acme|org-beta|example\.com/, `unbounded label value: ${line}`);
  }
});

describe("Cluster objects only as the management cluster's RBAC allows (--capi-access-check rbac)", () => {
  const WHERE = { wc1: 'org-acme', wc2: 'org-acme', wc3: 'org-beta' };
  const USERS = { admin: ['admin@example.com', 'mcp-admins'], viewer: ['viewer@example.com', 'mcp-viewers'] };
  // kubectl auth can-i on c0 as the user (impersonated by the harness admin): true / false.
  const canI = (who, verb, ns, name) => {
    const [user, group] = USERS[who];
    const what = name ? `clusters.cluster.x-k8s.io/${name}` : 'clusters.cluster.x-k8s.io';
    const out = kubectl(['auth', 'can-i', verb, what, '-n', ns, '--as', user, '--as-group', group],
      { kubeconfig: clusterEnv().KUBECONFIG_C0, allowFail: true });
    const answer = typeof out === 'string' ? out : out.stdout;
    assert.match(answer, /^(yes|no)\b/m, `kubectl auth can-i answered: ${JSON.stringify(out)}`);
    return /^yes\b/m.test(answer);
  };
  const mayUse = (who, wc) => canI(who, 'get', WHERE[wc], wc) || canI(who, 'list', WHERE[wc]);

  test('the restricted user lists only the clusters they may see; the other user sees all; kubectl agrees', async () => {
    const v = await okCall(viewer, 'capi_list_clusters', {});
    assert.deepEqual(v.data.clusters.map((c) => c.name), ['wc1', 'wc3']);
    assert.equal(v.data.total, 2);
    assertClusterItem(v.data.clusters[0], 'wc1');  // seen by a get on wc1 alone (no list in org-acme)
    assertClusterItem(v.data.clusters[1], 'wc3');  // seen by a list in org-beta
    assert.doesNotMatch(v.text, /wc2/);
    const org = await okCall(viewer, 'capi_list_clusters', { organization: 'acme' });
    assert.deepEqual(org.data.clusters.map((c) => c.name), ['wc1']);
    const a = await okCall(admin, 'capi_list_clusters', {});
    assert.deepEqual(a.data.clusters.map((c) => c.name), ['wc1', 'wc2', 'wc3']);
    // The server's decisions are the management cluster's, user by user and cluster by cluster.
    for (const [who, seen] of [['viewer', v], ['admin', a]]) {
      const names = seen.data.clusters.map((c) => c.name);
      for (const wc of ['wc1', 'wc2', 'wc3']) assert.equal(names.includes(wc), mayUse(who, wc), `${who} ${wc}`);
    }
    assert.equal(canI('viewer', 'list', 'org-acme'), false, 'wc1 is seen through the get alone');
  });

  test('cluster: <hidden> answers exactly as a missing cluster, and nothing reaches it', async () => {
    const mark = auditMark('wc2');
    const hidden = await errCall(viewer, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc2' });
    const missing = await errCall(viewer, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc9' });
    assert.match(hidden, /cluster "wc2" not found; capi_list_clusters lists the clusters/);
    assert.equal(hidden.replaceAll('wc2', 'X'), missing.replaceAll('wc9', 'X'));
    assert.doesNotMatch(hidden, /forbidden|org-acme/i);
    const get = await callTool(viewer, 'capi_get_cluster', { name: 'wc2' });
    assert.ok(get.isError);
    assert.match(text(get), /cluster "wc2" not found/);
    const health = await callTool(viewer, 'capi_cluster_health', { name: 'wc2', namespace: 'org-acme' });
    assert.ok(health.isError);
    assert.match(text(health), /cluster "wc2" not found in namespace "org-acme"/);
    const res = await okCall(viewer, 'capi_resolve_cluster', { pattern: 'wc2' });
    assert.equal(res.data.resolved, false);
    assert.equal(res.data.matches, undefined);
    const some = await okCall(viewer, 'capi_resolve_cluster', { pattern: 'wc' });
    assert.deepEqual(some.data.matches.map((c) => c.name), ['wc1', 'wc3']);
    // A named list: the hidden one is an error section like a missing one, the others run.
    const two = await okCall(viewer, 'k8s_list_resources', { ...LIST_CM, clusters: ['wc2', 'wc3'] });
    const by = fleetByCluster(two.data);
    assert.equal(by.wc2.ok, false);
    assert.match(by.wc2.error, /cluster "wc2" not found/);
    assert.equal(by.wc3.ok, true);
    assert.deepEqual(auditEventsNow('wc2', mark, (e) => e.impersonatedUser?.username === 'viewer@example.com'), []);
    // The admin reaches it (the same server, the same moment).
    await okCall(admin, 'k8s_get_resource', { cluster: 'wc2', resourceType: 'configmaps', namespace: 'fedtest',
      name: 'wc-identity' });
  });

  test('cluster "*" and clusterSelector cover only the clusters the user may see', async () => {
    const all = await okCall(viewer, 'k8s_list_resources', { resourceType: 'namespaces', cluster: '*' });
    assert.deepEqual(all.data.clusters.map((c) => c.cluster).sort(), ['wc1', 'wc3']);
    assert.deepEqual(all.data.summary, { total: 2, succeeded: 2, failed: 0 });
    assert.doesNotMatch(all.text, /## cluster wc2/);
    const sel = await okCall(viewer, 'k8s_list_resources', { resourceType: 'namespaces',
      clusterSelector: 'mcp-test/ground=federation' });
    assert.deepEqual(sel.data.clusters.map((c) => c.cluster).sort(), ['wc1', 'wc3']);
    const staging = await okCall(viewer, 'k8s_list_resources', { resourceType: 'namespaces',
      clusterSelector: 'mcp-test/tier=staging' });  // wc2 alone: nothing for the viewer
    assert.deepEqual(staging.data.summary, { total: 0, succeeded: 0, failed: 0 });
    const a = await okCall(admin, 'k8s_list_resources', { resourceType: 'namespaces', cluster: '*' });
    assert.deepEqual(a.data.clusters.map((c) => c.cluster).sort(), ['wc1', 'wc2', 'wc3']);
  });

  test('a review the server may not make fails the call and shows nothing; only the server\'s log names the review', async () => {
    // The harness user "viewer" (view on c0) may list Cluster objects for this test, but not
    // create SubjectAccessReviews: a server running as it cannot ask, so it must not show.
    const env = clusterEnv();
    const name = 'fed-e2e-cluster-lister';
    const rbac = { apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name },
        rules: [{ apiGroups: ['cluster.x-k8s.io'], resources: ['clusters'], verbs: ['get', 'list'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer' }] }] };
    kubectl(['apply', '-f', '-'], { kubeconfig: env.KUBECONFIG_C0, input: JSON.stringify(rbac) });
    try {
      // The authorizer picks the binding up asynchronously: wait until it is in force, so the
      // list below fails at the review and not at the Cluster list.
      await eventually(async () => {
        const r = kubectl(['auth', 'can-i', 'list', 'clusters.cluster.x-k8s.io', '--all-namespaces', '--as', 'viewer'],
          { kubeconfig: env.KUBECONFIG_C0, allowFail: true });
        return typeof r === 'string' && r.trim() === 'yes';
      }, 'the cluster-lister binding in force', 30000);
      const s = await startOAuthServer(['--enable-capi'], { KUBECONFIG: env.VIEWER_KUBECONFIG });
      servers.push(s);
      const v = await user(s, 'viewer@example.com');
      const list = await errCall(v, 'capi_list_clusters', {});
      // The caller learns only that the check failed: the review's details (which name namespaces
      // holding clusters) go to the server's log, with the hint for the operator.
      assert.match(list, /listing clusters: the access check on Cluster objects could not be made/);
      assert.doesNotMatch(list, /org-acme|org-beta/);
      // (The cluster-wide list is asked first: one answer would serve every cluster.)
      assert.match(s.stderr(), /SubjectAccessReview: list clusters\.cluster\.x-k8s\.io in all namespaces for viewer@example\.com/);
      assert.match(s.stderr(), /needs create on subjectaccessreviews/);
      assert.doesNotMatch(list, /wc[123]\b/);
      const one = await errCall(v, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc3' });
      // A cluster's failed check names nothing but the name asked for: not its namespace; and a
      // missing name fails the same way (the same reviews are asked whether it exists or not).
      assert.match(one, /cluster "wc3": the access check on Cluster objects could not be made/);
      assert.doesNotMatch(one, /org-beta/);
      assert.doesNotMatch(one, /wc-identity/);
      const missing = await errCall(v, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc9' });
      assert.equal(one.replaceAll('wc3', 'X'), missing.replaceAll('wc9', 'X'));
      const fleet = await errCall(v, 'k8s_list_resources', { resourceType: 'namespaces', cluster: '*' });
      assert.match(fleet, /the access check on Cluster objects could not be made/);
      assert.doesNotMatch(fleet, /org-acme|org-beta/);
    } finally {
      kubectl(['delete', 'clusterrolebinding,clusterrole', name, '--ignore-not-found'], { kubeconfig: env.KUBECONFIG_C0 });
    }
  });

  // The access check's metrics on a server: reviews sent by result, cache use.
  const accessMetrics = async (s) => {
    const m = await (await fetch(`${s.base}/metrics`)).text();
    const v = (family, result) => Number((m.match(new RegExp(`^mcp_kubernetes_capi_access_${family}_total\\{result="${result}"\\} (\\S+)$`, 'm')) || [])[1] ?? NaN);
    const out = { allowed: v('reviews', 'allowed'), denied: v('reviews', 'denied'), error: v('reviews', 'error'),
      hit: v('cache', 'hit'), miss: v('cache', 'miss') };
    out.reviews = out.allowed + out.denied + out.error;
    return out;
  };

  test('cluster: <hidden> and cluster: <missing> cost the same reviews and answer the same (fresh servers)', async () => {
    // Each on a fresh server, stopped after (the Dex client allows only ten callback ports).
    const fresh = async (fn) => {
      const s = await oauthServer([]);
      try {
        return await fn(s);
      } finally {
        await s.stop().catch(() => {});
        servers.splice(servers.indexOf(s), 1);
      }
    };
    const cost = (name, shown = name) => fresh(async (s) => {
      const before = await accessMetrics(s);
      assert.deepEqual(before, { allowed: 0, denied: 0, error: 0, hit: 0, miss: 0, reviews: 0 }, 'present at 0 from start-up');
      const v = await user(s, 'viewer@example.com');
      const t = await errCall(v, 'k8s_list_resources', { ...LIST_CM, cluster: name });
      return { text: t.replaceAll(shown, 'X'), reviews: (await accessMetrics(s)).reviews };
    });
    const hidden = await cost('wc2');
    const missing = await cost('wc9');
    assert.match(hidden.text, /cluster "X" not found/);
    assert.deepEqual(hidden, missing);
    // list everywhere (no), org-acme (no), org-beta (yes), get org-acme/<name> (no).
    assert.equal(hidden.reviews, 4);
    // Named with its namespace: only that namespace is asked about (list everywhere, list in
    // org-acme, get org-acme/<name>), and hidden still answers as missing.
    const hiddenNs = await cost('org-acme/wc2', 'wc2');
    const missingNs = await cost('org-acme/wc9', 'wc9');
    assert.match(hiddenNs.text, /cluster "X" not found in namespace "org-acme"/);
    assert.deepEqual(hiddenNs, missingNs);
    assert.equal(hiddenNs.reviews, 3);
    // The user's own cluster named the same way works, for the same three reviews.
    await fresh(async (s) => {
      const v = await user(s, 'viewer@example.com');
      await okCall(v, 'k8s_list_resources', { ...LIST_CM, cluster: 'org-acme/wc1' });
      assert.equal((await accessMetrics(s)).reviews, 3);
    });
  });

  test('a restricted user facing 300 more Cluster objects: one call sends a bounded number of reviews, then fails closed', async () => {
    const env = clusterEnv();
    const NS = 'acc-many';
    const items = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }];
    for (let i = 0; i < 300; i++) {
      items.push({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', metadata: { name: `many-${i}`, namespace: NS },
        spec: { controlPlaneEndpoint: { host: '127.0.0.1', port: 1 } } });
    }
    kubectl(['apply', '-f', '-'], { kubeconfig: env.KUBECONFIG_C0, input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
    try {
      const s = await oauthServer([]);
      const v = await user(s, 'viewer@example.com');
      const a = await user(s, 'admin@example.com');
      // The viewer may list in org-beta and get org-acme/wc1 only: 302 objects would need a get
      // each. The namespaces' lists fit in the cap, the gets do not: the call fails, none sent.
      const list = await errCall(v, 'capi_list_clusters', {});
      assert.match(list, /TooLarge: .*more than 256 access reviews in this one call/);
      assert.doesNotMatch(list, /acc-many|many-\d|org-acme|org-beta/);
      let m = await accessMetrics(s);
      assert.deepEqual([m.allowed, m.denied, m.error], [1, 3, 0], 'list everywhere, org-acme, acc-many (no), org-beta (yes)');
      const fleet = await errCall(v, 'k8s_list_resources', { resourceType: 'namespaces', cluster: '*' });
      assert.match(fleet, /TooLarge/);
      assert.equal((await accessMetrics(s)).reviews, 4, 'the refused fleet call sent nothing more (answers cached)');
      // Narrowed by a label selector, the same user lists what they may see.
      const sel = await okCall(v, 'capi_list_clusters', { labelSelector: 'mcp-test/ground=federation' });
      assert.deepEqual(sel.data.clusters.map((c) => c.name), ['wc1', 'wc3']);
      // A user who may list everywhere: one review for all 303.
      const before = (await accessMetrics(s)).reviews;
      const all = await okCall(a, 'capi_list_clusters', { limit: 500 });
      assert.equal(all.data.total, 303);
      m = await accessMetrics(s);
      assert.equal(m.reviews - before, 1);
      assert.ok(m.hit >= 4, 'the refused fleet call was answered from the cache');
    } finally {
      kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=120s'], { kubeconfig: env.KUBECONFIG_C0 });
    }
  });

  test('--capi-access-check none: every user sees every cluster (the old behaviour); wc2 then refuses the viewer itself', async () => {
    // SSO passthrough: the viewer's own ID token reaches wc2, whose RBAC gives viewers nothing.
    const s = await oauthServer(['--capi-access-check', 'none', '--wc-auth-mode', 'sso-passthrough']);
    const v = await user(s, 'viewer@example.com');
    const list = await okCall(v, 'capi_list_clusters', {});
    assert.deepEqual(list.data.clusters.map((c) => c.name), ['wc1', 'wc2', 'wc3']);
    const denied = await errCall(v, 'k8s_list_resources', { ...LIST_CM, cluster: 'wc2' });
    assert.match(denied, /forbidden/i);
    assert.match(denied, /cluster wc2/);
    assert.match(denied, /as viewer@example\.com via SSO/);
  });
});
