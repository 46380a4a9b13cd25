// Port-forward safety. Where a forward listens is the operator's decision: loopback only
// unless --port-forward-allowed-addresses lists the address (issue 12, finding 4). Forwards of
// stateless (2026-07-28) HTTP requests are reached only by their random id and end when idle,
// while a 2025-era session's forward lives on (finding 11). kwok connects pod port 8080 to
// 127.0.0.1:$PF_TARGET_8080, where this test runs a TCP echo server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startServer, serverBin, ok, fails, clusterEnv, freshNamespace, dropNamespace, freePort, waitHealthy } from '../lib/harness.mjs';
import { createWorkload, roundTrip, refused } from './pods_fixture.mjs';

let ns;
let echo;
const echoSockets = new Set();
const cleanups = [];

before(async () => {
  ns = freshNamespace('pf-sec');
  createWorkload(ns);
  echo = net.createServer((s) => { echoSockets.add(s); s.on('close', () => echoSockets.delete(s)); s.pipe(s); });
  await new Promise((res, rej) => echo.once('error', rej).listen(Number(clusterEnv().PF_TARGET_8080), '127.0.0.1', res));
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  // kwok keeps its side of forwarded connections open; close() would wait for them forever.
  for (const s of echoSockets) s.destroy();
  await new Promise((res) => (echo ? echo.close(res) : res()));
  dropNamespace(ns);
});

// Polls (bounded: 30 s) until nothing accepts connections on port.
async function waitRefused(port) {
  for (let i = 0; i < 300; i++) {
    if (await refused(port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

// Echo through [::1]:port.
function roundTripV6(port, payload) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.connect(port, '::1', () => s.write(payload));
    s.on('data', (d) => {
      chunks.push(d);
      if (Buffer.concat(chunks).length >= payload.length) { s.end(); resolve(Buffer.concat(chunks)); }
    });
    s.on('error', reject);
  });
}

test('default: only loopback; 0.0.0.0, other addresses, names and privileged ports are refused', async () => {
  const srv = await startServer(['--non-destructive=false']);
  cleanups.push(() => srv.close());
  const args = { namespace: ns, name: 'app', port: 8080 };
  for (const address of ['0.0.0.0', '::', '::ffff:0.0.0.0']) {
    const t = await fails(srv.client, 'k8s_port_forward_pod', { ...args, address });
    assert.match(t, /^PolicyDenied: address "(0\.0\.0\.0|::)" is not loopback/, t);
    assert.match(t, /--port-forward-allowed-addresses/);
  }
  const svc = await fails(srv.client, 'k8s_port_forward_service', { namespace: ns, name: 'web', address: '0.0.0.0' });
  assert.match(svc, /^PolicyDenied: .*--port-forward-allowed-addresses/);
  for (const address of ['example.com', '127.0.0.1.nip.io', '127.1', 'fe80::1%lo'])
    assert.match(await fails(srv.client, 'k8s_port_forward_pod', { ...args, address }),
      /^InvalidArgument: address ".*" is not an IP address or localhost/, address);
  for (const localPort of [22, 80, 1023])
    assert.match(await fails(srv.client, 'k8s_port_forward_pod', { ...args, localPort }),
      new RegExp(`^InvalidArgument: local port ${localPort} is privileged`));
  assert.equal((await ok(srv.client, 'k8s_list_port_forward_sessions')).data.count, 0, 'a refused forward was kept');

  const lh = (await ok(srv.client, 'k8s_port_forward_pod', { ...args, address: 'localhost' })).data;
  assert.equal(lh.localAddress, '127.0.0.1');
  const p = randomBytes(4096);
  assert.ok((await roundTrip(lh.localPort, p)).equals(p));
  const v6 = (await ok(srv.client, 'k8s_port_forward_pod', { ...args, address: '::1' })).data;
  assert.equal(v6.localAddress, '::1');
  assert.ok((await roundTripV6(v6.localPort, p)).equals(p));
  await ok(srv.client, 'k8s_stop_all_port_forward_sessions');
});

test('--port-forward-allowed-addresses=0.0.0.0 lets a caller listen on every interface, nothing else', async () => {
  const srv = await startServer(['--non-destructive=false', '--port-forward-allowed-addresses=0.0.0.0']);
  cleanups.push(() => srv.close());
  const { data, text } = await ok(srv.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080, address: '0.0.0.0' });
  assert.equal(data.localAddress, '0.0.0.0');
  assert.match(text, /listening on 0\.0\.0\.0, reachable from other hosts/);
  const p = randomBytes(4096);
  assert.ok((await roundTrip(data.localPort, p)).equals(p));
  assert.match(await fails(srv.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080, address: '::' }),
    /^PolicyDenied/);
  await ok(srv.client, 'k8s_stop_all_port_forward_sessions');
  // The flag takes IP literals only.
  const bad = spawn(serverBin, ['serve', '--port-forward-allowed-addresses=example.com'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  bad.stderr.on('data', (d) => { err += d; });
  const code = await new Promise((r) => bad.once('exit', r));
  assert.equal(code, 2);
  assert.match(err, /"example\.com" is not an IP address/);
});

// --- over HTTP: stateless 2026-07-28 requests beside a 2025-era session ---
let base;
const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
let rid = 100;
// One stateless tools/call; returns the result ({ isError, text, data }).
async function modernCall(name, args = {}) {
  const r = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name },
    body: JSON.stringify({ jsonrpc: '2.0', id: rid++, method: 'tools/call', params: { _meta: META, name, arguments: args } }),
  });
  const body = await r.text();
  assert.equal(r.status, 200, body);
  const line = body.startsWith('{') ? body : body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).at(-1);
  const res = JSON.parse(line).result;
  assert.ok(res, body);
  return { isError: !!res.isError, text: res.content.map((c) => c.text).join(''), data: res.structuredContent };
}

async function httpServer(env = {}) {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  let stderr = '';
  const proc = spawn(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`,
    '--non-destructive=false'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: clusterEnv().KUBECONFIG, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  cleanups.push(async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  });
  await waitHealthy(`${base}/healthz`, () => stderr);
  return proc;
}

test('2026-07-28: a stateless forward is reached only by its id', async () => {
  await httpServer();
  // Request A starts a forward.
  const a = await modernCall('k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 });
  assert.ok(!a.isError, a.text);
  const id = a.data.id;
  const p = randomBytes(8192);
  assert.ok((await roundTrip(a.data.localPort, p)).equals(p));

  // Request B, without the id, neither sees nor stops it.
  const list = await modernCall('k8s_list_port_forward_sessions');
  assert.ok(!list.isError, list.text);
  assert.equal(list.data.count, 0, `B sees A's forward: ${list.text}`);
  assert.doesNotMatch(list.text, new RegExp(id));
  assert.match(id, /^pf-[A-Za-z0-9_-]{22}$/, 'an unguessable id');
  for (const guess of ['pf-1', 'pf-2', id.slice(0, -1) + (id.endsWith('A') ? 'B' : 'A')]) {
    const s = await modernCall('k8s_stop_port_forward_session', { id: guess });
    assert.ok(s.isError, `B stopped ${guess}`);
    assert.doesNotMatch(s.text, new RegExp(id), 'the error names the real id');
  }
  const all = await modernCall('k8s_stop_all_port_forward_sessions');
  assert.ok(all.isError, `stop-all without ids: ${all.text}`);
  assert.ok((await roundTrip(a.data.localPort, p)).equals(p), 'still forwarding after B tried');

  // With the id B sees it and stops it.
  const named = await modernCall('k8s_list_port_forward_sessions', { ids: [id] });
  assert.deepEqual(named.data.sessions.map((s) => s.id), [id]);
  assert.equal(named.data.sessions[0].idleTimeoutSeconds, 1800);
  const stopped = await modernCall('k8s_stop_port_forward_session', { id });
  assert.ok(!stopped.isError, stopped.text);
  assert.equal(await waitRefused(a.data.localPort), true);
  assert.equal((await modernCall('k8s_list_port_forward_sessions', { ids: [id] })).data.count, 0);
});

test('2026-07-28: an idle stateless forward ends after --port-forward-idle-timeout; a session forward stays', async () => {
  // The environment fallback of the flag.
  await httpServer({ MCP_PORT_FORWARD_IDLE_TIMEOUT: '2' });
  const client = new Client({ name: 'pf-sec', version: '1' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`));
  await client.connect(transport);
  cleanups.push(() => client.close());
  const kept = (await ok(client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 })).data;

  const a = await modernCall('k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 });
  assert.ok(!a.isError, a.text);
  const p = randomBytes(1024);
  assert.ok((await roundTrip(a.data.localPort, p)).equals(p));
  assert.equal(await waitRefused(a.data.localPort), true, `idle stateless forward ${a.data.id} still listening`);
  assert.equal(a.data.idleTimeoutSeconds, 2);
  assert.equal((await modernCall('k8s_list_port_forward_sessions', { ids: [a.data.id] })).data.count, 0);
  const gone = await modernCall('k8s_stop_port_forward_session', { id: a.data.id });
  assert.ok(gone.isError);

  // The 2025-era session's forward, as old and as idle, still works and is still listed.
  assert.ok((await roundTrip(kept.localPort, p)).equals(p));
  const { data } = await ok(client, 'k8s_list_port_forward_sessions');
  assert.deepEqual(data.sessions.map((s) => s.id), [kept.id]);
  await transport.terminateSession();
});
