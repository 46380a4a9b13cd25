// Smoke: the built binary serves MCP over stdio to the TypeScript SDK client and lists
// namespaces of the local control plane; kubectl agrees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, ok, freshNamespace, dropNamespace, serverBin, assertNamesMatchKubectl } from '../lib/harness.mjs';

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

// The tool names of giantswarm/mcp-kubernetes: clients configured for it must find them all.
const READ_TOOLS = [
  'k8s_get_resource', 'k8s_list_resources', 'k8s_describe_resource', 'k8s_get_pod_logs',
  'k8s_list_contexts', 'k8s_get_current_context', 'k8s_switch_context',
  'k8s_get_api_resources', 'k8s_get_cluster_health',
];
const WRITE_TOOLS = [
  'k8s_create_resource', 'k8s_apply_resource', 'k8s_delete_resource', 'k8s_patch_resource',
  'k8s_scale_resource', 'k8s_exec_pod', 'k8s_port_forward_pod', 'k8s_port_forward_service',
];

test('non-destructive default offers every read tool and no write tool', async () => {
  const names = new Set((await srv.client.listTools()).tools.map((t) => t.name));
  assert.deepEqual(READ_TOOLS.filter((n) => !names.has(n)), [], 'missing read tools');
  assert.deepEqual(WRITE_TOOLS.filter((n) => names.has(n)), [], 'write tools offered by default');
});

test('--non-destructive=false offers every tool of the replaced server', async () => {
  const rw = await startServer(['--non-destructive=false']);
  try {
    const names = new Set((await rw.client.listTools()).tools.map((t) => t.name));
    assert.deepEqual([...READ_TOOLS, ...WRITE_TOOLS].filter((n) => !names.has(n)), [], 'missing tools');
  } finally {
    await rw.close();
  }
});

test('version subcommand and flag print the same version', () => {
  const sub = execFileSync(serverBin, ['version'], { encoding: 'utf8', timeout: 10000 });
  const flag = execFileSync(serverBin, ['--version'], { encoding: 'utf8', timeout: 10000 });
  assert.match(sub, /^mcp-kubernetes version \d+\.\d+\.\d+/);
  assert.equal(flag.trim(), sub.trim());
  assert.equal(sub.trim(), `mcp-kubernetes version ${srv.client.getServerVersion().version}`);
});

test('k8s_list_resources namespaces matches kubectl', async () => {
  let data, text;
  const fromServer = await assertNamesMatchKubectl(async () => {
    ({ data, text } = await ok(srv.client, 'k8s_list_resources', { resourceType: 'namespaces' }));
    return data.rows.map((r) => r[data.columns.indexOf('NAME')]);
  }, ['get', 'namespaces']);
  assert.ok(fromServer.includes(ns));
  assert.match(text, new RegExp(`^${ns}\\t`, 'm'));
});
