// The Kubernetes client's memory bound is an operator setting: --max-api-response-bytes
// refuses a bigger API answer while reading it, with an error that says how to ask for less.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ok, fails, kubectl, freshNamespace, dropNamespace } from '../lib/harness.mjs';

let srv;
let ns;

before(async () => {
  ns = freshNamespace('k8s-client');
  // One ConfigMap of ~800 KiB (created, not applied: no last-applied copy), one tiny one. The
  // cap stays above discovery's answers, which every tool needs.
  const big = 'x'.repeat(800 * 1024);
  kubectl(['create', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: ns }, data: { blob: big } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'small', namespace: ns }, data: { a: 'b' } },
    ] }),
  });
  srv = await startServer(['--max-api-response-bytes', String(512 * 1024)]);
});

after(async () => {
  await srv?.close();
  dropNamespace(ns);
});

test('an API answer over --max-api-response-bytes is a clear error', async () => {
  const text = await fails(srv.client, 'k8s_get_resource', { resourceType: 'configmaps', namespace: ns, name: 'big' });
  assert.match(text, /exceeds 524288 bytes/);
  assert.match(text, /--max-api-response-bytes/);
  assert.match(text, /limit\/continue/);
});

test('answers under the cap are unaffected', async () => {
  const { text } = await ok(srv.client, 'k8s_get_resource', { resourceType: 'configmaps', namespace: ns, name: 'small' });
  assert.match(text, /small/);
  await ok(srv.client, 'k8s_list_resources', { resourceType: 'configmaps', namespace: ns });
});
