// Port-forwards over Streamable HTTP belong to the MCP session that started them: two TS SDK
// clients against one server (writes allowed); B neither sees nor stops A's forward, A does,
// and DELETE of A's session closes A's local ports while B's forward keeps working. kwok
// connects pod port 8080 to 127.0.0.1:$PF_TARGET_8080, where this test runs a TCP echo server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serverBin, clusterEnv, ok, fails, freshNamespace, dropNamespace, freePort, waitHealthy } from '../lib/harness.mjs';
import { createWorkload, roundTrip, refused } from './pods_fixture.mjs';

let proc;
let base;
let stderr = '';
let ns;
let echo;
const echoSockets = new Set();
const clients = [];

// One MCP session over HTTP; returns { client, transport }.
async function session(name) {
  const client = new Client({ name, version: '1' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`));
  await client.connect(transport);
  assert.ok(transport.sessionId, `${name}: session id issued`);
  clients.push(client);
  return { client, transport };
}

before(async () => {
  ns = freshNamespace('pods-pfhttp');
  createWorkload(ns);
  echo = net.createServer((s) => { echoSockets.add(s); s.on('close', () => echoSockets.delete(s)); s.pipe(s); });
  await new Promise((res, rej) => echo.once('error', rej).listen(Number(clusterEnv().PF_TARGET_8080), '127.0.0.1', res));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  proc = spawn(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`,
    '--non-destructive=false'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: clusterEnv().KUBECONFIG },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  await waitHealthy(`${base}/healthz`, () => stderr);
});

after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  if (proc && proc.exitCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  // kwok keeps its side of forwarded connections open; close() would wait for them forever.
  for (const s of echoSockets) s.destroy();
  await new Promise((res) => (echo ? echo.close(res) : res()));
  dropNamespace(ns);
});

// Polls (bounded: 10 s) until nothing accepts connections on port.
async function waitRefused(port) {
  for (let i = 0; i < 100; i++) {
    if (await refused(port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const listIds = async (client) => {
  const { data } = await ok(client, 'k8s_list_port_forward_sessions');
  assert.equal(data.count, data.sessions.length);
  return data.sessions.map((s) => s.id).sort();
};

test('a forward is visible to and stoppable by its own MCP session only', async () => {
  const A = await session('pf-a');
  const B = await session('pf-b');
  assert.notEqual(A.transport.sessionId, B.transport.sessionId);

  const a = (await ok(A.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 })).data;
  assert.ok(a.localPort > 0);
  const payload = randomBytes(64 * 1024);
  assert.ok((await roundTrip(a.localPort, payload)).equals(payload));

  assert.deepEqual(await listIds(A.client), [a.id]);
  assert.deepEqual(await listIds(B.client), [], "B's list shows A's forward");

  const denied = await fails(B.client, 'k8s_stop_port_forward_session', { id: a.id });
  assert.match(denied, new RegExp(`NotFound: no port-forward "${a.id}" in this session`));
  assert.equal((await ok(B.client, 'k8s_stop_all_port_forward_sessions')).data.stopped, 0);

  // B's attempts changed nothing: the forward still carries bytes and A still lists it.
  const again = Buffer.from('still forwarding\n');
  assert.ok((await roundTrip(a.localPort, again)).equals(again));
  assert.deepEqual(await listIds(A.client), [a.id]);

  assert.equal((await ok(A.client, 'k8s_stop_port_forward_session', { id: a.id })).data.stopped, a.id);
  assert.equal(await waitRefused(a.localPort), true, `port ${a.localPort} still open after A stopped it`);
  assert.deepEqual(await listIds(A.client), []);

  await A.transport.terminateSession();
  await B.transport.terminateSession();
});

test("DELETE of a session closes that session's forwards, not the others'", async () => {
  const A = await session('pf-a2');
  const B = await session('pf-b2');
  const a1 = (await ok(A.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 })).data;
  const a2 = (await ok(A.client, 'k8s_port_forward_service', { namespace: ns, name: 'web', port: 'http' })).data;
  const b = (await ok(B.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 })).data;
  for (const p of [a1.localPort, a2.localPort, b.localPort]) {
    const payload = randomBytes(16 * 1024);
    assert.ok((await roundTrip(p, payload)).equals(payload), `echo through ${p}`);
  }
  assert.deepEqual(await listIds(A.client), [a1.id, a2.id].sort());
  assert.deepEqual(await listIds(B.client), [b.id]);

  // A connection left open through A's forward is closed with the session, too.
  const open = net.connect(a1.localPort, '127.0.0.1');
  open.on('error', () => {});
  await new Promise((res, rej) => open.once('connect', res).once('error', rej));
  open.write('ping');
  await new Promise((res) => open.once('data', res));
  const openClosed = new Promise((res) => open.once('close', () => res(true)));

  const sidA = A.transport.sessionId;
  await A.transport.terminateSession(); // HTTP DELETE with A's Mcp-Session-Id
  const closedInTime = await Promise.race([openClosed, new Promise((res) => setTimeout(() => res(false), 10000))]);
  open.destroy();
  assert.equal(closedInTime, true, "a connection through A's forward stayed open after DELETE of A's session");
  for (const p of [a1.localPort, a2.localPort])
    assert.equal(await waitRefused(p), true, `port ${p} of A's forward still open after DELETE of A's session`);

  // A's session is gone for good.
  const r = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sidA },
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }),
  });
  assert.equal(r.status, 404);
  await r.text();

  // B's forward is untouched.
  const payload = Buffer.from('b survives\n');
  assert.ok((await roundTrip(b.localPort, payload)).equals(payload));
  assert.deepEqual(await listIds(B.client), [b.id]);
  await B.transport.terminateSession();
  assert.equal(await waitRefused(b.localPort), true, `port ${b.localPort} still open after DELETE of B's session`);
});
