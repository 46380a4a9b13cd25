// The TypeScript SDK v2 client (@modelcontextprotocol/client) drives real tool calls over
// Streamable HTTP and stdio in each of its version-negotiation modes:
//   legacy (the default)          2025-11-25 era: initialize handshake, HTTP session
//   { pin: '2026-07-28' }          2026-07-28 era: server/discover, per-request _meta, no session
//   auto                          probes server/discover; a dual-era server is spoken to as modern
// Every mode lists namespaces (cross-checked with kubectl), gets one object, and sees a tool
// error (isError result) and a protocol error (unknown tool).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Client, StreamableHTTPClientTransport, ProtocolError } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { serverBin, clusterEnv, kubectlJson, assertNamesMatchKubectl, freePort, waitHealthy } from '../lib/harness.mjs';

const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';

let proc;
let base;
let stderr = '';

const serverEnv = () => ({ PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: clusterEnv().KUBECONFIG });

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  proc = spawn(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`], {
    env: serverEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr.on('data', (d) => { stderr += d; });
  await waitHealthy(`${base}/healthz`, () => stderr);
});

after(async () => {
  if (proc && proc.exitCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
});

const MODES = {
  legacy: undefined,
  pinned: { mode: { pin: MODERN } },
  auto: { mode: 'auto' },
};
const ERA = { legacy: 'legacy', pinned: 'modern', auto: 'modern' };

function transportFor(kind) {
  if (kind === 'http') return new StreamableHTTPClientTransport(new URL(`${base}/mcp`));
  return new StdioClientTransport({ command: serverBin, args: ['serve'], env: serverEnv(), stderr: 'pipe' });
}

async function connect(kind, mode) {
  const opts = { capabilities: {} };
  if (MODES[mode]) opts.versionNegotiation = MODES[mode];
  const client = new Client({ name: `e2e-sdk2-${kind}-${mode}`, version: '1.0.0' }, opts);
  const transport = transportFor(kind);
  let childErr = '';
  transport.stderr?.on('data', (d) => { childErr += d; });
  await client.connect(transport, { timeout: 30000 });
  return { client, transport, stderr: () => childErr };
}

const text = (r) => r.content?.map((c) => c.text ?? '').join('') ?? '';

for (const kind of ['http', 'stdio']) {
  for (const mode of Object.keys(MODES)) {
    test(`SDK v2 over ${kind}, ${mode} negotiation: era, list, get, errors`, async () => {
      const { client, transport, stderr: childErr } = await connect(kind, mode);
      try {
        const era = ERA[mode];
        assert.equal(client.getProtocolEra(), era, `protocol era (${childErr()})`);
        assert.equal(client.getNegotiatedProtocolVersion(), era === 'modern' ? MODERN : LEGACY);
        assert.equal(client.getServerVersion()?.name, 'mcp-kubernetes');
        if (era === 'modern') {
          const d = client.getDiscoverResult();
          assert.ok(d, 'discover result kept');
          assert.ok(d.supportedVersions.includes(MODERN), JSON.stringify(d.supportedVersions));
          assert.ok(d.capabilities?.tools, 'tools capability in server/discover');
          if (kind === 'http') assert.equal(transport.sessionId, undefined, 'no session in the stateless era');
        } else {
          assert.equal(client.getDiscoverResult(), undefined);
          if (kind === 'http') assert.match(transport.sessionId ?? '', /^[\x21-\x7e]+$/, 'legacy HTTP session id');
        }

        const { tools } = await client.listTools();
        const names = tools.map((t) => t.name);
        for (const n of ['k8s_list_resources', 'k8s_get_resource']) assert.ok(names.includes(n), `${n} listed`);

        await assertNamesMatchKubectl(async () => {
          const r = await client.callTool({ name: 'k8s_list_resources', arguments: { resourceType: 'namespaces' } });
          assert.ok(!r.isError, text(r));
          const { columns, rows } = r.structuredContent;
          return rows.map((row) => row[columns.indexOf('NAME')]);
        }, ['get', 'namespaces']);

        const r = await client.callTool({ name: 'k8s_get_resource', arguments: { resourceType: 'namespaces', name: 'kube-system' } });
        assert.ok(!r.isError, text(r));
        const want = kubectlJson(['get', 'namespace', 'kube-system']);
        assert.equal(r.structuredContent.resource.metadata.uid, want.metadata.uid);
        assert.equal(r.structuredContent.resource.kind, 'Namespace');

        // A tool that fails is an isError result naming the problem...
        const missing = await client.callTool({ name: 'k8s_get_resource',
          arguments: { resourceType: 'configmaps', namespace: 'default', name: 'no-such-configmap-sdk2' } });
        assert.equal(missing.isError, true);
        assert.match(text(missing), /^NotFound: configmaps "no-such-configmap-sdk2" not found/);
        // ...invalid arguments too (SEP-1303)...
        const bad = await client.callTool({ name: 'k8s_get_resource', arguments: { resourceType: 'namespaces' } });
        assert.equal(bad.isError, true, text(bad));
        // ...an unknown tool is a protocol error (-32602).
        await assert.rejects(client.callTool({ name: 'k8s_no_such_tool', arguments: {} }),
          (e) => e instanceof ProtocolError && e.code === -32602 && /Unknown tool/.test(e.message));
      } finally {
        await client.close();
      }
    });
  }
}
