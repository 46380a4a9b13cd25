// Streamable HTTP hardening (issue 12): DNS rebinding (Host/Origin parsed; IPv6 listeners keep
// the checks), SSE readers that neither spin nor multiply, session caps that a flood of bare
// `initialize` POSTs cannot exhaust, and cancelled or deleted calls whose POSTs end at once.
// Raw HTTP (node:http / node:net) so Host, source address and stream timing are ours to choose.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serverBin, clusterEnv, freePort, waitHealthy, freshNamespace, dropNamespace } from '../lib/harness.mjs';
import { createWorkload } from './pods_fixture.mjs';

const servers = [];
let ns;

// Starts the server on `host` (default 127.0.0.1); returns { port, url, pid, stderr(), stop() }.
async function startHttp(args = [], { host = '127.0.0.1' } = {}) {
  const port = await freePort();
  const bracketed = host.includes(':') ? `[${host}]` : host;
  const proc = spawn(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', `${bracketed}:${port}`, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: clusterEnv().KUBECONFIG },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const probeHost = host === '::' ? '::1' : host === '0.0.0.0' ? '127.0.0.1' : host;
  const probe = probeHost.includes(':') ? `[${probeHost}]` : probeHost;
  const s = {
    port, pid: proc.pid, host: probeHost, url: `http://${probe}:${port}`, stderr: () => err,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
  servers.push(s);
  await waitHealthy(`${s.url}/healthz`, () => err);
  return s;
}

const initBody = (id = 1) => JSON.stringify({
  jsonrpc: '2.0', id, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'hardening', version: '1' } },
});
const mcpHeaders = (extra = {}) => ({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...extra });

// One HTTP request on a fresh connection. Resolves at the response headers with
// { status, headers, text() (so far), done (resolves with the whole body when it ends) }.
// `sent` (optional) is called once the request is written out.
function open(s, { method = 'POST', headers = {}, body, localAddress, host = s.host, sent } = {}) {
  return new Promise((resolve, reject) => {
    const r = http.request({ host, port: s.port, method, path: '/mcp', headers: mcpHeaders(headers), localAddress, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      const done = new Promise((ok) => { res.on('end', () => ok(data)); res.on('close', () => ok(data)); });
      resolve({ status: res.statusCode, headers: res.headers, text: () => data, done, destroy: () => r.destroy() });
    });
    r.on('error', reject);
    if (sent) r.on('finish', sent);
    if (body) r.write(body);
    r.end();
  });
}
async function request(s, opts) {
  const r = await open(s, opts);
  const text = await r.done;
  return { status: r.status, headers: r.headers, text, json: text.startsWith('{') ? JSON.parse(text) : null };
}

// An initialised 2025 session (initialize + notifications/initialized); returns its id.
async function session(s, { localAddress, initialized = true } = {}) {
  const r = await request(s, { body: initBody(), localAddress });
  assert.equal(r.status, 200, r.text);
  const sid = r.headers['mcp-session-id'];
  if (initialized) {
    const n = await request(s, { headers: { 'mcp-session-id': sid }, localAddress,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    assert.equal(n.status, 202);
  }
  return sid;
}
const ping = (s, sid, opts = {}) => request(s, { ...opts, headers: { 'mcp-session-id': sid }, body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'ping' }) });
const notify = (s, sid, method, params) => request(s, { headers: { 'mcp-session-id': sid }, body: JSON.stringify({ jsonrpc: '2.0', method, params }) });

// A call that runs for minutes unless cancelled: follow a pod's log for 300 s.
const slowCall = (id, progress = true) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: {
  name: 'k8s_get_pod_logs', arguments: { namespace: ns, name: 'app', follow: true, followSeconds: 300 },
  ...(progress ? { _meta: { progressToken: `p${id}` } } : {}) } });

// Waits until the SSE stream so far matches `re` (the stream is open: events arrive in order).
async function until(stream, re) {
  for (let i = 0; i < 600 && !re.test(stream.text()); i++) await sleep(50);
  assert.match(stream.text(), re);
}

// utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15).
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
async function ticksOver(pid, ms) {
  const a = cpuTicks(pid);
  await sleep(ms);
  return cpuTicks(pid) - a;
}

async function metric(s, name) {
  const m = (await (await fetch(`${s.url}/metrics`)).text()).match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

before(() => {
  ns = freshNamespace('http-hard');
  createWorkload(ns);
});
after(async () => {
  for (const s of servers) await s.stop();
  if (ns) dropNamespace(ns);
});

// --- (2) DNS rebinding ---

test('loopback listener: forged Host names get 403, loopback spellings are served', { timeout: 60000 }, async () => {
  const s = await startHttp();
  const p = s.port;
  for (const host of [`127.0.0.1.rebind.example:${p}`, `localhost.evil:${p}`, `127.0.0.1.nip.io:${p}`, `localhost.:${p}`,
    `evil.example@127.0.0.1:${p}`, `127.1:${p}`, `[::2]:${p}`]) {
    const r = await request(s, { headers: { host, origin: `http://${host}` }, body: initBody() });
    assert.equal(r.status, 403, `Host ${host}: ${r.text}`);
    assert.match(r.text, /Host not allowed/);
    const r2 = await request(s, { headers: { host }, body: initBody() });  // no Origin (not a browser)
    assert.equal(r2.status, 403, `Host ${host} without Origin`);
  }
  for (const host of [`localhost:${p}`, `127.0.0.1:${p}`, `LOCALHOST:${p}`, `127.5.6.7:${p}`, `[::1]:${p}`]) {
    const r = await request(s, { headers: { host }, body: initBody() });
    assert.equal(r.status, 200, `Host ${host}: ${r.text}`);
  }
  // Loopback Host but a rebinding Origin: refused as well.
  const r = await request(s, { headers: { origin: `http://127.0.0.1.rebind.example:${p}` }, body: initBody() });
  assert.equal(r.status, 403);
  assert.match(r.text, /Origin not allowed/);
  // A Host header no HTTP library would write, over a raw socket.
  const raw = await new Promise((resolve, reject) => {
    const sock = net.connect(p, '127.0.0.1', () => sock.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1.rebind.example:${p}\r\n` +
      `Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${initBody().length}\r\nConnection: close\r\n\r\n${initBody()}`));
    let buf = '';
    sock.on('data', (d) => { buf += d; });
    sock.on('end', () => resolve(buf));
    sock.on('error', reject);
  });
  assert.match(raw, /^HTTP\/1\.1 403 /);
});

test('IPv6 loopback listener works and keeps the Host check', { timeout: 60000 }, async () => {
  const s = await startHttp([], { host: '::1' });
  const ok = await request(s, { body: initBody() });  // Host: [::1]:port
  assert.equal(ok.status, 200, ok.text);
  const sid = ok.headers['mcp-session-id'];
  assert.equal((await ping(s, sid)).status, 200);
  for (const host of [`127.0.0.1.rebind.example:${s.port}`, `localhost.evil:${s.port}`, `[::1].evil:${s.port}`]) {
    const r = await request(s, { headers: { host }, body: initBody() });
    assert.equal(r.status, 403, `Host ${host}: ${r.text}`);
  }
  const bad = await request(s, { headers: { origin: 'http://evil.example' }, body: initBody() });
  assert.equal(bad.status, 403);
  assert.match(s.stderr(), /http:\/\/\[::1\]:\d+\/mcp/, 'the address is logged bracketed');
  // The SDK client over IPv6.
  const client = new Client({ name: 'v6', version: '1' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${s.url}/mcp`)));
  assert.ok((await client.listTools()).tools.length > 0);
  await client.close();
});

test('IPv6 wildcard listener serves IPv4 and IPv6 clients and still checks Origin', { timeout: 60000 }, async () => {
  const s = await startHttp([], { host: '::' });
  assert.equal((await request(s, { body: initBody() })).status, 200);
  assert.equal((await request(s, { host: '127.0.0.1', body: initBody() })).status, 200);
  const bad = await request(s, { headers: { origin: 'http://127.0.0.1.rebind.example' }, body: initBody() });
  assert.equal(bad.status, 403);
});

// --- (7) session caps ---

test('a flood of bare initialize POSTs does not lock real clients out', { timeout: 60000 }, async () => {
  const s = await startHttp(['--max-sessions', '4']);
  const flood = [];
  for (let i = 0; i < 12; i++) {
    const r = await request(s, { body: initBody() });
    assert.equal(r.status, 200, `flood ${i}: ${r.text}`);
    flood.push(r.headers['mcp-session-id']);
  }
  // A real client: handshake, then calls.
  const client = new Client({ name: 'real', version: '1' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(`${s.url}/mcp`));
  await client.connect(transport);
  assert.ok((await client.listTools()).tools.length > 0);
  // More flooding evicts the flood's own sessions, not the real (initialised, used) one.
  for (let i = 0; i < 8; i++) assert.equal((await request(s, { body: initBody() })).status, 200);
  assert.ok((await client.listTools()).tools.length > 0);
  assert.equal((await ping(s, flood[0])).status, 404, 'the oldest flood session was evicted');
  assert.equal(await metric(s, 'mcp_sessions_active'), 4);
  await client.close();
});

test('per-client cap: a client beyond its cap loses its own idlest session, others keep theirs', { timeout: 60000 }, async () => {
  const s = await startHttp(['--max-sessions', '100', '--max-sessions-per-client', '2']);
  const other = await session(s, { localAddress: '127.0.0.1' });
  const a = await session(s, { localAddress: '127.0.0.2' });
  const b = await session(s, { localAddress: '127.0.0.2' });
  assert.equal((await ping(s, a, { localAddress: '127.0.0.2' })).status, 200);
  assert.equal((await ping(s, b, { localAddress: '127.0.0.2' })).status, 200);  // a is now the idlest
  const c = await session(s, { localAddress: '127.0.0.2' });
  assert.equal((await ping(s, a)).status, 404, 'idlest session of 127.0.0.2 evicted');
  assert.equal((await ping(s, b)).status, 200);
  assert.equal((await ping(s, c)).status, 200);
  assert.equal((await ping(s, other)).status, 200, '127.0.0.1 unaffected');
  assert.equal(await metric(s, 'mcp_sessions_active'), 3);
});

test('per-client cap: when all of a client\'s sessions are busy the next initialize gets 429', { timeout: 60000 }, async () => {
  const s = await startHttp(['--max-sessions', '100', '--max-sessions-per-client', '1']);
  const a = await session(s, { localAddress: '127.0.0.3' });
  const busy = await open(s, { localAddress: '127.0.0.3', headers: { 'mcp-session-id': a }, body: slowCall(5) });
  await until(busy, /^id: \d+_0$/m);
  const r = await request(s, { localAddress: '127.0.0.3', body: initBody() });
  assert.equal(r.status, 429, r.text);
  assert.equal((await request(s, { localAddress: '127.0.0.4', body: initBody() })).status, 200, 'other clients still served');
  await notify(s, a, 'notifications/cancelled', { requestId: 5 });
  await busy.done;
});

// --- (5) SSE readers: no spin, at most one per stream ---

test('a resume GET beside the still-streaming POST takes the stream over; the server does not spin', { timeout: 60000 }, async () => {
  const s = await startHttp();
  const sid = await session(s);
  const idle = await ticksOver(s.pid, 2000);
  const post = await open(s, { headers: { 'mcp-session-id': sid }, body: slowCall(7) });
  assert.equal(post.status, 200);
  await until(post, /^id: \d+_0$/m);
  const last = post.text().match(/^id: (\d+_0)$/m)[1];
  const get = await open(s, { method: 'GET', headers: { 'mcp-session-id': sid, 'last-event-id': last, accept: 'text/event-stream' } });
  assert.equal(get.status, 200);
  // Two readers of one log used to cancel each other's timer forever: 100 % of a core.
  const busy = await ticksOver(s.pid, 2000);
  assert.ok(busy <= idle + 50, `CPU ticks over 2 s: ${busy} with a resume GET open, ${idle} idle`);
  assert.equal((await ping(s, sid)).status, 200);
  // One reader per stream: the POST's stream ended when the GET took over (without the response).
  const postBody = await post.done;
  assert.doesNotMatch(postBody, /"id":7/);
  // Further GETs each take over from the previous one: never more than one open.
  const gets = [get];
  for (let i = 0; i < 5; i++) {
    const g = await open(s, { method: 'GET', headers: { 'mcp-session-id': sid, 'last-event-id': last, accept: 'text/event-stream' } });
    assert.equal(g.status, 200);
    gets.push(g);
  }
  for (const g of gets.slice(0, -1)) await g.done;
  // Cancelling the call ends the last one too.
  assert.equal((await notify(s, sid, 'notifications/cancelled', { requestId: 7 })).status, 202);
  await gets.at(-1).done;
});

// --- (8) cancelled or deleted calls end their POSTs ---

test('notifications/cancelled ends the SSE POST at once; the session can then be swept', { timeout: 60000 }, async () => {
  const s = await startHttp(['--session-idle-timeout', '2']);
  const sid = await session(s);
  const post = await open(s, { headers: { 'mcp-session-id': sid }, body: slowCall(11) });
  await until(post, /^id: \d+_0$/m);
  const last = post.text().match(/^id: (\d+_0)$/m)[1];
  assert.equal((await notify(s, sid, 'notifications/cancelled', { requestId: 11, reason: 'test' })).status, 202);
  const body = await post.done;  // the call itself would follow the log for 300 s
  assert.doesNotMatch(body, /"id":11/, 'no response to a cancelled request');
  const resume = await request(s, { method: 'GET', headers: { 'mcp-session-id': sid, 'last-event-id': last, accept: 'text/event-stream' } });
  assert.equal(resume.status, 404, 'a cancelled stream is not resumable');
  // Nothing holds the session now: the idle sweep removes it.
  for (let i = 0; i < 100 && (await metric(s, 'mcp_sessions_active')) !== 0; i++) await sleep(100);
  assert.equal(await metric(s, 'mcp_sessions_active'), 0);
  assert.equal((await ping(s, sid)).status, 404);
});

test('JSON mode: a cancelled call is answered 202 without a body', { timeout: 60000 }, async () => {
  const s = await startHttp(['--disable-streaming']);
  const sid = await session(s);
  const post = open(s, { headers: { 'mcp-session-id': sid }, body: slowCall(12, false) });
  let settled = false;
  post.then(() => { settled = true; });
  // The cancel must reach the server after the call: retry until the POST is answered.
  for (let i = 0; i < 100 && !settled; i++) {
    await notify(s, sid, 'notifications/cancelled', { requestId: 12 });
    await Promise.race([post, sleep(200)]);
  }
  const r = await post;
  assert.equal(r.status, 202);
  assert.equal(await r.done, '');
  assert.equal((await ping(s, sid)).status, 200);
});

test('DELETE ends every open POST and GET of the session and removes it', { timeout: 60000 }, async () => {
  const s = await startHttp();
  const sid = await session(s);
  const keep = await session(s);
  const post = await open(s, { headers: { 'mcp-session-id': sid }, body: slowCall(21) });
  await until(post, /^id: \d+_0$/m);
  const post2 = await open(s, { headers: { 'mcp-session-id': sid }, body: slowCall(22) });
  await until(post2, /^id: \d+_0$/m);
  const last = post2.text().match(/^id: (\d+_0)$/m)[1];
  const get = await open(s, { method: 'GET', headers: { 'mcp-session-id': sid, 'last-event-id': last, accept: 'text/event-stream' } });
  assert.equal(get.status, 200);
  const del = await request(s, { method: 'DELETE', headers: { 'mcp-session-id': sid } });
  assert.equal(del.status, 200);
  await post.done;
  await post2.done;
  await get.done;
  assert.equal((await ping(s, sid)).status, 404);
  assert.equal((await ping(s, keep)).status, 200);
  assert.equal(await metric(s, 'mcp_sessions_active'), 1);
});

test('JSON mode: DELETE answers the open POST with 404 session terminated', { timeout: 60000 }, async () => {
  const s = await startHttp(['--disable-streaming']);
  const sid = await session(s);
  let written;
  const wrote = new Promise((r) => { written = r; });
  const post = open(s, { headers: { 'mcp-session-id': sid }, body: slowCall(31, false), sent: written });
  let settled = false;
  post.then(() => { settled = true; });
  // The DELETE must come after the call arrived (the server reads both on its one thread):
  // the POST is written out, then round trips on other connections go first.
  await wrote;
  for (let i = 0; i < 3; i++) assert.equal((await ping(s, sid)).status, 200);
  assert.ok(!settled);
  const del = await request(s, { method: 'DELETE', headers: { 'mcp-session-id': sid } });
  assert.equal(del.status, 200);
  const r = await post;
  assert.equal(r.status, 404);
  const body = JSON.parse(await r.done);
  assert.equal(body.id, 31);
  assert.match(body.error.message, /Session terminated/);
  assert.ok(settled);
});
