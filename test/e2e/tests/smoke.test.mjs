// Smoke: the built binary serves MCP over stdio to the TypeScript SDK client and lists
// namespaces of the local control plane; kubectl agrees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ok, kubectlJson, freshNamespace, dropNamespace } from '../lib/harness.mjs';

let srv;
let ns;
before(async () => {
  ns = freshNamespace('smoke');
  srv = await startServer();
});
after(async () => {
  await srv?.close();
  dropNamespace(ns);
});

test('initialize negotiates and lists tools', async () => {
  const info = srv.client.getServerVersion();
  assert.equal(info.name, 'mcp-kubernetes');
  const { tools } = await srv.client.listTools();
  const names = tools.map((t) => t.name);
  assert.ok(names.includes('k8s_list_resources'));
  for (const t of tools) {
    assert.equal(t.inputSchema.additionalProperties, false, `${t.name} schema must be closed`);
    assert.ok(t.annotations && typeof t.annotations.readOnlyHint === 'boolean', `${t.name} annotations`);
  }
});

test('k8s_list_resources namespaces matches kubectl', async () => {
  const { data, text } = await ok(srv.client, 'k8s_list_resources', { resourceType: 'namespaces' });
  const fromServer = data.rows.map((r) => r[data.columns.indexOf('NAME')]).sort();
  const fromKubectl = kubectlJson(['get', 'namespaces']).items.map((i) => i.metadata.name).sort();
  assert.deepEqual(fromServer, fromKubectl);
  assert.ok(fromServer.includes(ns));
  assert.match(text, new RegExp(`^${ns}\\t`, 'm'));
});
