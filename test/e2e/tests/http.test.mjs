// Streamable HTTP transport (2025-11-25 era): the TypeScript SDK client over HTTP against the
// local cluster, plus raw HTTP checks of every status code the transport promises.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { serverBin, clusterEnv, assertNamesMatchKubectl, freePort, waitHealthy } from '../lib/harness.mjs';
import net from 'node:net';

let proc;
let base;
let stderr = '';

const initBody = (id = 1) => JSON.stringify({
  jsonrpc: '2.0', id, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const headers = (extra = {}) => ({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra });

async function rawSession() {
  const r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers(), body: initBody() });
  assert.equal(r.status, 200);
  const sid = r.headers.get('mcp-session-id');
  assert.match(sid, /^[0-9a-f]{32}$/);
  await r.text();
  return sid;
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  proc = spawn(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: clusterEnv().KUBECONFIG },
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

test('TS SDK client over HTTP lists namespaces like kubectl', async () => {
  const client = new Client({ name: 'e2e-http', version: '1' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`));
  await client.connect(transport);
  assert.ok(transport.sessionId, 'session id issued');
  await assertNamesMatchKubectl(async () => {
    const r = await client.callTool({ name: 'k8s_list_resources', arguments: { resourceType: 'namespaces' } });
    assert.ok(!r.isError, JSON.stringify(r));
    return r.structuredContent.rows.map((row) => row[0]);
  }, ['get', 'ns']);
  // A call with a progress token is answered over SSE; the SDK handles both.
  const r2 = await client.request({ method: 'tools/call', params: { name: 'k8s_list_resources',
    arguments: { resourceType: 'nodes' }, _meta: { progressToken: 'p1' } } }, CallToolResultSchema);
  assert.ok(!r2.isError);
  await transport.terminateSession();
  await client.close();
});

test('raw: 202 for notifications, 400 without session, 404 unknown session, DELETE ends it', async () => {
  const sid = await rawSession();
  let r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers({ 'mcp-session-id': sid }),
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  assert.equal(r.status, 202);
  r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers(), body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) });
  assert.equal(r.status, 400);
  r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers({ 'mcp-session-id': 'nope' }), body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) });
  assert.equal(r.status, 404);
  r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers({ 'mcp-session-id': sid }), body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }) });
  assert.equal(r.status, 200);
  assert.deepEqual((await r.json()).result, {});
  r = await fetch(`${base}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': sid } });
  assert.equal(r.status, 200);
  r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers({ 'mcp-session-id': sid }), body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'ping' }) });
  assert.equal(r.status, 404);
});

test('raw: DNS rebinding and bad requests are refused', async () => {
  let r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers({ origin: 'http://evil.example.com' }), body: initBody() });
  assert.equal(r.status, 403);
  r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers({ 'content-type': 'text/plain' }), body: initBody() });
  assert.equal(r.status, 415);
  r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers(), body: '{not json' });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.code, -32700);
  r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers(), body: '[' + initBody() + ']' });
  assert.equal(r.status, 400);
  r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers({ 'mcp-protocol-version': '1999-01-01' }), body: initBody() });
  assert.equal(r.status, 400);
  // An oversized body is refused from its Content-Length, before it is read (raw socket: a
  // client still uploading would see the connection close under it).
  const status = await new Promise((resolve, reject) => {
    const u = new URL(base);
    const sock = net.connect(Number(u.port), u.hostname, () => {
      sock.write(`POST /mcp HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${5 * 1024 * 1024}\r\n\r\n{`);
    });
    let buf = '';
    sock.on('data', (d) => { buf += d; const m = buf.match(/^HTTP\/1\.1 (\d+)/); if (m) { resolve(Number(m[1])); sock.destroy(); } });
    sock.on('error', reject);
    setTimeout(() => reject(new Error('no answer to oversized body')), 10000);
  });
  assert.equal(status, 413);
  r = await fetch(`${base}/mcp`, { method: 'PUT', headers: headers(), body: initBody() });
  assert.equal(r.status, 405);
  const sid = await rawSession();
  r = await fetch(`${base}/mcp`, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sid } });
  assert.equal(r.status, 405);
});

test('raw: SSE response with priming event and Last-Event-ID replay', async () => {
  const sid = await rawSession();
  const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call',
    params: { name: 'k8s_list_resources', arguments: { resourceType: 'namespaces' }, _meta: { progressToken: 't' } } });
  const r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers({ 'mcp-session-id': sid }), body });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/event-stream/);
  const text = await r.text();
  const ids = [...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]);
  assert.ok(ids.length >= 2, text);
  assert.match(text, /^retry: \d+$/m);
  const dataLines = [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]));
  const resp = dataLines.find((d) => d.id === 7);
  assert.ok(resp && resp.result && !resp.result.isError);
  // Resuming after the priming event replays the response.
  const replay = await fetch(`${base}/mcp`, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'last-event-id': ids[0] } });
  assert.equal(replay.status, 200);
  assert.match(await replay.text(), /"id":7/);
});

test('health, readiness and Prometheus metrics', async () => {
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 200, await ready.text());
  const m = await (await fetch(`${base}/metrics`)).text();
  assert.match(m, /^# TYPE http_requests_total counter$/m);
  assert.match(m, /^http_requests_total\{method="POST",path="\/mcp",status="200"\} \d+$/m);
  assert.match(m, /^mcp_kubernetes_operations_total\{tool="k8s_list_resources",status="success"\} \d+$/m);
  assert.match(m, /^mcp_kubernetes_operation_duration_seconds_bucket\{tool="k8s_list_resources",le="\+Inf"\} \d+$/m);
});

// --- 2026-07-28 era on the same endpoint: stateless POSTs, headers checked against the body ---
const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
async function modern(method, params = {}, extraHeaders = {}, id = 1) {
  const h = headers({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...extraHeaders });
  if (params.name && !('mcp-name' in extraHeaders)) h['mcp-name'] = params.name;
  const r = await fetch(`${base}/mcp`, { method: 'POST', headers: h,
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { _meta: META, ...params } }) });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, body: text.startsWith('{') ? JSON.parse(text) : null };
}

test('2026-07-28: discover and a tool call without initialize or session, cross-checked with kubectl', async () => {
  const d = await modern('server/discover');
  assert.equal(d.status, 200);
  assert.equal(d.headers.get('mcp-session-id'), null, 'no session in the stateless era');
  assert.equal(d.body.result.supportedVersions[0], '2026-07-28');
  assert.equal(d.body.result.resultType, 'complete');
  assert.equal(d.body.result._meta['io.modelcontextprotocol/serverInfo'].name, 'mcp-kubernetes');
  await assertNamesMatchKubectl(async () => {
    const r = await modern('tools/call', { name: 'k8s_list_resources', arguments: { resourceType: 'namespaces' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.result.resultType, 'complete');
    assert.ok(!r.body.result.isError, r.text);
    return r.body.result.structuredContent.rows.map((row) => row[0]);
  }, ['get', 'ns']);
  const l = await modern('tools/list');
  assert.ok(l.body.result.tools.some((t) => t.name === 'k8s_get_resource'));
  assert.equal(typeof l.body.result.ttlMs, 'number');
});

test('2026-07-28: every rejection has its status and code, and echoes the id', async () => {
  let r = await fetch(`${base}/mcp`, { method: 'POST',
    headers: headers({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' }),
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} }) });
  let body = await r.json();
  assert.equal(r.status, 400);
  assert.equal(body.error.code, -32602, 'missing _meta');
  assert.equal(body.id, 7);

  let m = await modern('tools/call', { name: 'k8s_list_resources', arguments: { resourceType: 'ns' } }, { 'mcp-name': 'k8s_delete_resource' }, 8);
  assert.equal(m.status, 400);
  assert.equal(m.body.error.code, -32020, 'Mcp-Name disagrees with params.name');
  assert.equal(m.body.id, 8);
  m = await modern('tools/list', {}, { 'mcp-method': 'prompts/list' });
  assert.equal(m.body.error.code, -32020, 'Mcp-Method disagrees with method');

  r = await fetch(`${base}/mcp`, { method: 'POST',
    headers: headers({ 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'server/discover' }),
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'server/discover',
      params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } }) });
  body = await r.json();
  assert.equal(r.status, 400);
  assert.equal(body.error.code, -32022);
  assert.equal(body.error.data.requested, '2099-01-01');
  assert.ok(body.error.data.supported.includes('2026-07-28'));

  for (const method of ['initialize', 'ping', 'logging/setLevel', 'no/such']) {
    m = await modern(method, {}, {}, 10);
    assert.equal(m.status, 404, method);
    assert.equal(m.body.error.code, -32601, method);
  }
  r = await fetch(`${base}/mcp`, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2026-07-28' } });
  assert.equal(r.status, 405);
});

test('2026-07-28: a logLevel request streams its log messages over SSE; switching context is refused', async () => {
  const r = await modern('tools/call', { name: 'k8s_list_resources', arguments: { resourceType: 'nodes' },
    _meta: { ...META, 'io.modelcontextprotocol/logLevel': 'debug', progressToken: 'p' } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/event-stream/);
  assert.doesNotMatch(r.text, /^id:/m, 'no resumability ids in the stateless era');
  const frames = r.text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
  assert.equal(frames.at(-1).result.resultType, 'complete');
  assert.ok(frames.every((f) => !f.method || f.method.startsWith('notifications/')), 'no server requests on the stream');
  const sw = await modern('tools/call', { name: 'k8s_switch_context', arguments: { name: 'c1' } });
  assert.equal(sw.body.result.isError, true);
  assert.match(sw.body.result.content[0].text, /stateless/);
});

// Last: it stops the server.
test('SIGTERM shuts down gracefully', async () => {
  const exited = new Promise((r) => proc.once('exit', (code, sig) => r({ code, sig })));
  proc.kill('SIGTERM');
  const { code } = await exited;
  assert.equal(code, 0, stderr);
  await assert.rejects(fetch(`${base}/healthz`));
});
