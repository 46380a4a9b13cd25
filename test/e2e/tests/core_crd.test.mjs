// A CRD created while the server runs: discovery is refreshed on the miss, custom objects are
// reachable by plural, singular, kind, short name and group-qualified name, and table output
// shows the CRD's additionalPrinterColumns (priority 1 only with wide).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, ok, fails, kubectl, kubectlJson, freshNamespace, dropNamespace } from '../lib/harness.mjs';

// A group unique to this run: the server cannot have seen it before.
const group = `g${process.pid}${Date.now().toString(36)}.e2e.example.com`;
const crdName = `gadgets.${group}`;
let srv;
let ns;

function crdYaml() {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${crdName}}
spec:
  group: ${group}
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gdg], categories: [e2e]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
              owner: {type: string}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Owner, type: string, jsonPath: .spec.owner, priority: 1}
`;
}

// Waits (bounded) until the API server serves the new group in discovery.
function waitForGroup() {
  for (let i = 0; i < 300; i++) {
    const groups = JSON.parse(kubectl(['get', '--raw', '/apis'])).groups.map((g) => g.name);
    if (groups.includes(group)) return;
    execFileSync('sleep', ['0.1']);
  }
  throw new Error(`group ${group} never appeared in discovery`);
}

before(async () => {
  ns = freshNamespace('crd');
  srv = await startServer();
  // Prime the server's discovery cache before the CRD exists, so finding it needs a refresh.
  await ok(srv.client, 'k8s_list_resources', { resourceType: 'pods', namespace: ns });
  await fails(srv.client, 'k8s_list_resources', { resourceType: 'gadgets', namespace: ns });
  kubectl(['apply', '-f', '-'], { input: crdYaml() });
  kubectl(['wait', '--for=condition=Established', `crd/${crdName}`, '--timeout=60s']);
  waitForGroup();
  kubectl(['apply', '-f', '-'], {
    input: [
      { name: 'alpha', size: 3, color: 'red', owner: 'team-a' },
      { name: 'beta', size: 7, color: 'blue', owner: 'team-b' },
    ].map((g) => `apiVersion: ${group}/v1
kind: Gadget
metadata: {name: ${g.name}, namespace: ${ns}}
spec: {size: ${g.size}, color: ${g.color}, owner: ${g.owner}}`).join('\n---\n'),
  });
});

after(async () => {
  await srv?.close();
  dropNamespace(ns);
  kubectl(['delete', 'crd', crdName, '--wait=false', '--ignore-not-found'], { allowFail: true });
});

const spellings = () => ['gadgets', 'gadget', 'Gadget', 'gdg', `gadgets.${group}`, `gadgets.v1.${group}`];

test('custom objects are listed by every spelling of the type', async () => {
  const expected = kubectlJson(['-n', ns, 'get', crdName]).items.map((i) => i.metadata.name).sort();
  assert.deepEqual(expected, ['alpha', 'beta']);
  for (const resourceType of spellings()) {
    const { data } = await ok(srv.client, 'k8s_list_resources', { resourceType, namespace: ns });
    assert.equal(data.resource, crdName, resourceType);
    const col = data.columns.indexOf('NAME');
    assert.deepEqual(data.rows.map((r) => r[col]).sort(), expected, resourceType);
  }
  const viaGroup = await ok(srv.client, 'k8s_list_resources', { resourceType: 'gadgets', apiGroup: `${group}/v1`, namespace: ns });
  assert.equal(viaGroup.data.count, 2);
});

test('custom objects are read by every spelling of the type', async () => {
  const uid = kubectlJson(['-n', ns, 'get', crdName, 'beta']).metadata.uid;
  for (const resourceType of spellings()) {
    const { data } = await ok(srv.client, 'k8s_get_resource', { resourceType, namespace: ns, name: 'beta' });
    assert.equal(data.resource.metadata.uid, uid, resourceType);
    assert.equal(data.resource.kind, 'Gadget');
    assert.deepEqual(data.resource.spec, { size: 7, color: 'blue', owner: 'team-b' });
  }
  const missing = await fails(srv.client, 'k8s_get_resource', { resourceType: 'gdg', namespace: ns, name: 'gamma' });
  assert.match(missing, /^NotFound: gadgets.* "gamma" not found/);
});

test('table output shows additionalPrinterColumns', async () => {
  const { data, text } = await ok(srv.client, 'k8s_list_resources', { resourceType: 'gadgets', namespace: ns });
  // With additionalPrinterColumns the API server adds no AGE column of its own (kubectl shows the same).
  assert.deepEqual(data.columns, ['NAME', 'SIZE', 'COLOR']);
  const beta = data.rows.find((r) => r[0] === 'beta');
  assert.deepEqual(beta, ['beta', '7', 'blue']);
  assert.match(text, /^NAME\tSIZE\tCOLOR$/m);
  assert.match(text, /^alpha\t3\tred$/m);

  const wide = await ok(srv.client, 'k8s_list_resources', { resourceType: 'gadgets', namespace: ns, output: 'wide' });
  assert.deepEqual(wide.data.columns, ['NAME', 'SIZE', 'COLOR', 'OWNER']);
  assert.equal(wide.data.rows.find((r) => r[0] === 'alpha')[3], 'team-a');

  const all = await ok(srv.client, 'k8s_list_resources', { resourceType: 'gdg', allNamespaces: true });
  assert.equal(all.data.columns[0], 'NAMESPACE');
  assert.ok(all.data.rows.every((r) => r[0] === ns));
  const summary = await ok(srv.client, 'k8s_list_resources', { resourceType: 'Gadget', namespace: ns, output: 'summary' });
  assert.equal(summary.data.total, 2);
});

test('a misspelt custom type suggests the real one', async () => {
  const text = await fails(srv.client, 'k8s_list_resources', { resourceType: 'gadgts', namespace: ns });
  assert.match(text, /^NotFound: the server doesn't have a resource type "gadgts"/);
  assert.ok(text.includes(`gadgets.${group}`), text);
});
