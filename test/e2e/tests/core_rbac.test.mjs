// An RBAC-limited user (ClusterRole `view`: no secrets): Forbidden errors name the verb and the
// resource; what the role allows still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ok, fails, kubectl, kubectlJson, clusterEnv, freshNamespace, dropNamespace } from '../lib/harness.mjs';

const env = clusterEnv();
let viewer;
let ns;

before(async () => {
  ns = freshNamespace('rbac');
  kubectl(['-n', ns, 'create', 'secret', 'generic', 'db', '--from-literal=password=hunter2']);
  kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: ${ns}, labels: {app: web}}
spec:
  containers: [{name: app, image: registry.example/app:1}]
`,
  });
  viewer = await startServer([], { kubeconfig: env.VIEWER_KUBECONFIG });
});

after(async () => {
  await viewer?.close();
  dropNamespace(ns);
});

test('listing secrets is Forbidden and names verb and resource', async () => {
  const text = await fails(viewer.client, 'k8s_list_resources', { resourceType: 'secrets', namespace: ns });
  assert.match(text, /^Forbidden: /);
  assert.match(text, /User "viewer" cannot list resource "secrets"/);
  assert.ok(text.includes(`in the namespace "${ns}"`), text);
  // kubectl with the same identity agrees.
  const k = kubectl(['-n', ns, 'get', 'secrets'], { kubeconfig: env.VIEWER_KUBECONFIG, allowFail: true });
  assert.ok(k.failed);
  assert.match(k.stderr, /cannot list resource "secrets"/);
});

test('every output mode of a secret list is Forbidden', async () => {
  for (const output of ['slim', 'full', 'summary', 'wide']) {
    const text = await fails(viewer.client, 'k8s_list_resources', { resourceType: 'secret', namespace: ns, output });
    assert.match(text, /^Forbidden: .*cannot list resource "secrets"/, output);
  }
  const all = await fails(viewer.client, 'k8s_list_resources', { resourceType: 'secrets', allNamespaces: true });
  assert.match(all, /cannot list resource "secrets" in API group "" at the cluster scope/);
});

test('reading one secret is Forbidden and names the verb', async () => {
  const text = await fails(viewer.client, 'k8s_get_resource', { resourceType: 'Secret', namespace: ns, name: 'db' });
  assert.match(text, /^Forbidden: secrets "db" is forbidden: User "viewer" cannot get resource "secrets"/);
  assert.ok(!text.includes('hunter2'));
});

test('listing and reading pods works for the viewer', async () => {
  const { data } = await ok(viewer.client, 'k8s_list_resources', { resourceType: 'pods', namespace: ns });
  const col = data.columns.indexOf('NAME');
  assert.deepEqual(data.rows.map((r) => r[col]), ['web']);
  const fromKubectl = kubectlJson(['-n', ns, 'get', 'pods'], { kubeconfig: env.VIEWER_KUBECONFIG });
  assert.equal(fromKubectl.items.length, 1);
  const got = await ok(viewer.client, 'k8s_get_resource', { resourceType: 'po', namespace: ns, name: 'web' });
  assert.equal(got.data.resource.metadata.uid, fromKubectl.items[0].metadata.uid);
  assert.equal(got.data.resource.metadata.labels.app, 'web');
});

test('cluster-scoped reads outside the role are Forbidden too', async () => {
  // `view` does not include RBAC objects.
  const text = await fails(viewer.client, 'k8s_list_resources', { resourceType: 'clusterroles' });
  assert.match(text, /^Forbidden: .*cannot list resource "clusterroles" in API group "rbac.authorization.k8s.io"/);
});
