// The call pipeline against a hostile caller (issue 12, findings 1 and 11): names that walk the
// API path, Namespace objects of denied namespaces, cluster-scoped writes under namespace
// limits. Every refused call is cross-checked with kubectl: nothing was read or changed.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ok, fails, kubectl, freshNamespace, dropNamespace } from '../lib/harness.mjs';

const servers = [];
async function server(args) {
  const s = await startServer(args);
  servers.push(s);
  return s;
}
const exists = (args) => !kubectl(['get', ...args], { allowFail: true }).failed;

describe('pipeline: hostile names and namespace limits', () => {
  let mine, other;
  before(() => {
    mine = freshNamespace('pl-mine');
    other = freshNamespace('pl-other');
    kubectl(['-n', other, 'create', 'configmap', 'cm1', '--from-literal=secret-ish=value-in-other']);
    kubectl(['-n', mine, 'create', 'configmap', 'cm1', '--from-literal=k=v']);
  });
  after(async () => {
    for (const s of servers) await s.close();
    kubectl(['delete', 'clusterrolebinding', 'pl-escape', '--ignore-not-found'], { allowFail: true });
    dropNamespace(mine);
    dropNamespace(other);
  });

  test('a "/" in a name does not walk into another namespace (get, describe, list-by-name)', async () => {
    const { client } = await server([`--allowed-namespaces=${mine}`]);
    for (const name of [`${other}/configmaps/cm1`, `${other}/configmaps`, `${other}%2Fconfigmaps%2Fcm1`]) {
      for (const tool of ['k8s_get_resource', 'k8s_describe_resource']) {
        const t = await fails(client, tool, { resourceType: 'namespaces', name });
        assert.match(t, /^InvalidArgument: name /, `${tool} ${name}: ${t}`);
        assert.doesNotMatch(t, /value-in-other/);
      }
    }
    // Proxy subresources of nodes and services are out of reach the same way.
    const t = await fails(client, 'k8s_get_resource', { resourceType: 'nodes', name: 'kwok-node-0/proxy/metrics' });
    assert.match(t, /^InvalidArgument:/);
    for (const name of ['.', '..']) {
      const r = await fails(client, 'k8s_get_resource', { resourceType: 'configmaps', namespace: mine, name });
      assert.match(r, /^InvalidArgument:/, r);
    }
    const ns = await fails(client, 'k8s_list_resources', { resourceType: 'configmaps', namespace: `${mine}/../${other}` });
    assert.match(ns, /^InvalidArgument: namespace /, ns);
    // The legitimate call still works.
    const good = await ok(client, 'k8s_get_resource', { resourceType: 'configmaps', namespace: mine, name: 'cm1' });
    assert.equal(good.data.resource.metadata.name, 'cm1');
  });

  test('a denied namespace\'s Namespace object cannot be read or deleted; lists hide it', async () => {
    const { client } = await server([`--denied-namespaces=${other}`, '--non-destructive=false']);
    let t = await fails(client, 'k8s_get_resource', { resourceType: 'namespaces', name: other });
    assert.match(t, /^PolicyDenied:/, t);
    t = await fails(client, 'k8s_describe_resource', { resourceType: 'namespaces', name: other });
    assert.match(t, /^PolicyDenied:/, t);
    t = await fails(client, 'k8s_delete_resource', { resourceType: 'namespaces', name: `${other}/configmaps/cm1` });
    assert.match(t, /^InvalidArgument:/, t);
    assert.ok(exists(['-n', other, 'configmap', 'cm1']), 'the ConfigMap in the denied namespace is still there');
    t = await fails(client, 'k8s_delete_resource', { resourceType: 'namespaces', name: other });
    assert.match(t, /^PolicyDenied:/, t);
    assert.ok(exists(['namespace', other]));
    const list = await ok(client, 'k8s_list_resources', { resourceType: 'namespaces', limit: 1000 });
    const names = list.data.rows.map((r) => r[0]);
    assert.ok(!names.includes(other), 'the denied namespace is not listed');
    assert.ok(names.includes(mine));
    assert.ok(list.data.hiddenByNamespacePolicy >= 1);
    const full = await ok(client, 'k8s_list_resources', { resourceType: 'namespaces', output: 'slim', limit: 1000 });
    assert.ok(!full.data.items.some((i) => i.metadata.name === other));
  });

  test('cluster-scoped writes are refused under a deny list unless the operator allows them', async () => {
    const crb = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: pl-escape}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: User, name: pl-escape-user, apiGroup: rbac.authorization.k8s.io}]
`;
    const deny = await server([`--denied-namespaces=${other}`, '--non-destructive=false']);
    const t = await fails(deny.client, 'k8s_create_resource', { manifest: crb });
    assert.match(t, /cluster-scoped/);
    assert.match(t, /--allow-cluster-scoped-writes/);
    assert.ok(!exists(['clusterrolebinding', 'pl-escape']), 'nothing was created');
    const d = await fails(deny.client, 'k8s_delete_resource', {
      resourceType: 'clusterroles', name: 'view' });
    assert.match(d, /^PolicyDenied:/, d);
    assert.ok(exists(['clusterrole', 'view']));
    // Reads of cluster-scoped objects stay allowed.
    await ok(deny.client, 'k8s_get_resource', { resourceType: 'clusterroles', name: 'view' });

    const opted = await server([`--denied-namespaces=${other}`, '--non-destructive=false',
      '--allow-cluster-scoped-writes']);
    await ok(opted.client, 'k8s_create_resource', { manifest: crb });
    assert.ok(exists(['clusterrolebinding', 'pl-escape']));
  });

  test('manifest objects with path-walking names or namespaces are refused before any write', async () => {
    const { client } = await server(['--non-destructive=false']);
    const manifest = `apiVersion: v1
kind: ConfigMap
metadata: {name: ok-first, namespace: ${mine}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: "x/../../${other}", namespace: ${mine}}
`;
    const t = await fails(client, 'k8s_create_resource', { manifest });
    assert.match(t, /metadata\.name|not a valid/, t);
    assert.ok(!exists(['-n', mine, 'configmap', 'ok-first']), 'nothing was written');
  });
});
