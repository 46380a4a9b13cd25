// k8s_list_resources paging over 150+ ConfigMaps: every item exactly once through `continue`,
// explicit "more available" markers, summary counting all pages, selectors, slim vs full.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ok, fails, kubectl, kubectlJson, freshNamespace, dropNamespace } from '../lib/harness.mjs';

const COUNT = 155;
const PAGE = 40;
let srv;
let ns;
let expected; // names kubectl sees (ours plus kube-root-ca.crt)

before(async () => {
  ns = freshNamespace('paging');
  // One multi-document apply: fast, and client-side apply leaves the last-applied annotation
  // that slim output must drop.
  const docs = [];
  for (let i = 0; i < COUNT; i++) {
    const name = `cm-${String(i).padStart(3, '0')}`;
    docs.push(`apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: ${ns}
  labels: {batch: paging, parity: ${i % 2 ? 'odd' : 'even'}}
data: {index: "${i}"}`);
  }
  kubectl(['apply', '-f', '-'], { input: docs.join('\n---\n') });
  expected = kubectlJson(['-n', ns, 'get', 'configmaps']).items.map((i) => i.metadata.name).sort();
  assert.ok(expected.length >= COUNT + 1, `kubectl sees ${expected.length} configmaps`);
  srv = await startServer();
});

after(async () => {
  await srv?.close();
  dropNamespace(ns);
});

function names(data) {
  const col = data.columns.indexOf('NAME');
  assert.ok(col >= 0, `NAME column in ${data.columns}`);
  return data.rows.map((r) => r[col]);
}

test('table pages of 40 cover every item exactly once', async () => {
  const seen = new Map();
  let cont;
  let pages = 0;
  for (;;) {
    const args = { resourceType: 'configmaps', namespace: ns, limit: PAGE };
    if (cont) args.continue = cont;
    const { data, text } = await ok(srv.client, 'k8s_list_resources', args);
    pages++;
    assert.ok(pages <= 10, 'paging must terminate');
    for (const n of names(data)) seen.set(n, (seen.get(n) ?? 0) + 1);
    assert.equal(data.count, data.rows.length);
    if (data.hasMore) {
      assert.equal(data.rows.length, PAGE, 'a non-final page is full');
      assert.equal(typeof data.continue, 'string');
      assert.ok(data.continue.length > 0);
      assert.equal(data.remainingItemCount, expected.length - [...seen.values()].length,
        'remainingItemCount counts what is still to come');
      assert.match(text, /more available \(\d+ remaining\); call again with continue="/);
      cont = data.continue;
    } else {
      assert.equal(data.continue, undefined);
      assert.equal(data.remainingItemCount, undefined);
      assert.doesNotMatch(text, /more available/);
      break;
    }
  }
  assert.equal(pages, Math.ceil(expected.length / PAGE));
  for (const [n, times] of seen) assert.equal(times, 1, `${n} seen ${times} times`);
  assert.deepEqual([...seen.keys()].sort(), expected);
});

test('slim object pages also cover every item exactly once', async () => {
  const seen = [];
  let cont;
  for (let page = 0; page < 10; page++) {
    const args = { resourceType: 'cm', namespace: ns, limit: PAGE, output: 'slim' };
    if (cont) args.continue = cont;
    const { data } = await ok(srv.client, 'k8s_list_resources', args);
    for (const item of data.items) {
      assert.equal(item.kind, 'ConfigMap');
      assert.equal(item.apiVersion, 'v1');
      assert.equal(item.metadata.managedFields, undefined, 'slim drops managedFields');
      assert.equal(item.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
      seen.push(item.metadata.name);
    }
    if (!data.hasMore) break;
    assert.equal(data.items.length, PAGE);
    cont = data.continue;
  }
  assert.equal(new Set(seen).size, seen.length, 'no duplicates');
  assert.deepEqual(seen.sort(), expected);
});

test('a limit above 100 is honoured (the original dropped items 101..limit)', async () => {
  const { data } = await ok(srv.client, 'k8s_list_resources', { resourceType: 'configmaps', namespace: ns, limit: 150 });
  assert.equal(data.rows.length, 150);
  assert.equal(data.hasMore, true);
  const rest = await ok(srv.client, 'k8s_list_resources',
    { resourceType: 'configmaps', namespace: ns, limit: 150, continue: data.continue });
  assert.equal(rest.data.hasMore, false);
  assert.deepEqual([...names(data), ...names(rest.data)].sort(), expected);
});

test('summary counts all pages, not just the first', async () => {
  const { data, text } = await ok(srv.client, 'k8s_list_resources',
    { resourceType: 'configmaps', namespace: ns, output: 'summary', limit: 10 });
  assert.equal(data.total, expected.length);
  assert.equal(data.byNamespace?.[ns], expected.length);
  assert.match(text, new RegExp(`^${expected.length} configmaps`));
  // Namespaces other files dropped may still be terminating: bracket the call with kubectl.
  const countAll = () => kubectlJson(['get', 'configmaps', '-A']).items.length;
  const before = countAll();
  const all = await ok(srv.client, 'k8s_list_resources',
    { resourceType: 'configmaps', allNamespaces: true, summary: true });
  const after = countAll();
  assert.equal(all.data.byNamespace[ns], expected.length);
  assert.ok(all.data.total >= Math.min(before, after) && all.data.total <= Math.max(before, after),
    `total ${all.data.total}, kubectl saw ${before} then ${after}`);
});

test('labelSelector and fieldSelector filter on the server', async () => {
  const even = await ok(srv.client, 'k8s_list_resources',
    { resourceType: 'configmaps', namespace: ns, labelSelector: 'batch=paging,parity=even', limit: 500 });
  const kubectlEven = kubectlJson(['-n', ns, 'get', 'configmaps', '-l', 'batch=paging,parity=even'])
    .items.map((i) => i.metadata.name).sort();
  assert.equal(kubectlEven.length, Math.ceil(COUNT / 2));
  assert.deepEqual(names(even.data).sort(), kubectlEven);
  assert.equal(even.data.hasMore, false);

  const one = await ok(srv.client, 'k8s_list_resources',
    { resourceType: 'configmaps', namespace: ns, fieldSelector: 'metadata.name=cm-007' });
  assert.deepEqual(names(one.data), ['cm-007']);

  const none = await ok(srv.client, 'k8s_list_resources',
    { resourceType: 'configmaps', namespace: ns, labelSelector: 'batch=nothing' });
  assert.equal(none.data.count, 0);
  assert.match(none.text, /No configmaps found/);

  const paged = await ok(srv.client, 'k8s_list_resources',
    { resourceType: 'configmaps', namespace: ns, labelSelector: 'parity=odd', limit: 30 });
  assert.equal(paged.data.rows.length, 30);
  assert.equal(paged.data.hasMore, true, 'selectors and paging combine');

  const bad = await fails(srv.client, 'k8s_list_resources',
    { resourceType: 'configmaps', namespace: ns, fieldSelector: 'data.index=3' });
  assert.match(bad, /field label not supported|not a known field selector|data\.index/i);
});

test('output=full keeps managedFields and last-applied; slim get drops them', async () => {
  const full = await ok(srv.client, 'k8s_list_resources',
    { resourceType: 'configmaps', namespace: ns, fieldSelector: 'metadata.name=cm-001', output: 'full' });
  assert.equal(full.data.items.length, 1);
  const item = full.data.items[0];
  assert.ok(Array.isArray(item.metadata.managedFields) && item.metadata.managedFields.length > 0);
  assert.ok(item.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
  assert.equal(item.data.index, '1');

  const slim = await ok(srv.client, 'k8s_get_resource', { resourceType: 'configmap', namespace: ns, name: 'cm-001' });
  assert.equal(slim.data.resource.metadata.managedFields, undefined);
  assert.equal(slim.data.resource.metadata.annotations, undefined);
  assert.equal(slim.data.resource.data.index, '1');
  const getFull = await ok(srv.client, 'k8s_get_resource',
    { resourceType: 'ConfigMap', namespace: ns, name: 'cm-001', output: 'full' });
  assert.ok(getFull.data.resource.metadata.managedFields.length > 0);
  const fromKubectl = kubectlJson(['-n', ns, 'get', 'configmap', 'cm-001']);
  assert.equal(getFull.data.resource.metadata.uid, fromKubectl.metadata.uid);
});

test('a bad continue token is a clear error, not an empty page', async () => {
  const text = await fails(srv.client, 'k8s_list_resources',
    { resourceType: 'configmaps', namespace: ns, limit: 5, continue: 'not-a-token' });
  assert.match(text, /continue/i);
});
