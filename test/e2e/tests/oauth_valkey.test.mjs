// Two server processes sharing one Redis (--oauth-storage-type valkey) behind one base URL, as
// replicas behind a load balancer: a sign-in started on one finishes on either, a token issued
// by one is accepted by the other, and a revocation or refresh-token replay on one is seen by
// the other at once. Debian's redis-server is started by this test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { startOAuthServer, dexLogin, REGISTRATION_TOKEN } from '../lib/oauth.mjs';

const REDIRECT = 'http://127.0.0.1:1/cb';
const KEY = randomBytes(32).toString('hex');
let redis;
let a;
let b;

const b64url = (x) => x.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const form = (o) => new URLSearchParams(o).toString();
const postForm = (url, o) => fetch(url, { method: 'POST', body: form(o),
  headers: { 'content-type': 'application/x-www-form-urlencoded' } });
const init = (port, token) => fetch(`http://127.0.0.1:${port}/mcp`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
    authorization: `Bearer ${token}` },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
});
const portOf = (srv) => new URL(`http://${srv.proc.spawnargs[srv.proc.spawnargs.indexOf('--http-addr') + 1]}`).port;

async function freeRedisPort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Registers on `reg`, authorizes on `authz`, redeems on `tok`: every step may hit another replica.
async function signIn(reg, authz, tok, email = 'viewer@example.com') {
  const r = await fetch(`http://127.0.0.1:${portOf(reg)}/oauth/register`, { method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${REGISTRATION_TOKEN}` },
    body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }) });
  assert.equal(r.status, 201);
  const clientId = (await r.json()).client_id;
  const verifier = b64url(randomBytes(32));
  const q = form({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, state: 's',
    code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256' });
  // Dex sends the browser back to the shared base URL (replica a); the flow state is in Redis.
  const back = await dexLogin(`http://127.0.0.1:${portOf(authz)}/oauth/authorize?${q}`, email, 'password', REDIRECT);
  const t = await postForm(`http://127.0.0.1:${portOf(tok)}/oauth/token`, { grant_type: 'authorization_code',
    code: back.searchParams.get('code'), client_id: clientId, redirect_uri: REDIRECT, code_verifier: verifier });
  assert.equal(t.status, 200, await t.clone().text());
  return { ...(await t.json()), clientId };
}

before(async () => {
  const port = await freeRedisPort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const flags = ['--oauth-storage-type', 'valkey', '--valkey-url', `127.0.0.1:${port}`, '--valkey-key-prefix', 'e2e:',
    '--oauth-encryption-key', KEY, '--downstream-oauth'];
  a = await startOAuthServer(flags);
  b = await startOAuthServer(flags, {}, { baseUrl: a.base });
});

after(async () => {
  await a?.stop();
  await b?.stop();
  redis?.kill('SIGTERM');
});

test('a sign-in spans replicas and a token from one is accepted by the other', async () => {
  const t = await signIn(b, b, a);  // registered and authorized on b, redeemed on a
  const rb = await init(portOf(b), t.access_token);
  assert.equal(rb.status, 200);
  await rb.text();
  const ra = await init(portOf(a), t.access_token);
  assert.equal(ra.status, 200);
  await ra.text();
});

test('revocation on one replica is seen by the other at once', async () => {
  const t = await signIn(a, a, a);
  assert.equal((await init(portOf(b), t.access_token)).status, 200);
  assert.equal((await postForm(`http://127.0.0.1:${portOf(a)}/oauth/revoke`,
    { token: t.refresh_token, client_id: t.clientId })).status, 200);
  assert.equal((await init(portOf(b), t.access_token)).status, 401);
});

test('a refresh on one replica and its replay on the other revoke the family everywhere', async () => {
  const t1 = await signIn(a, b, b);
  const r2 = await postForm(`http://127.0.0.1:${portOf(b)}/oauth/token`,
    { grant_type: 'refresh_token', refresh_token: t1.refresh_token, client_id: t1.clientId });
  assert.equal(r2.status, 200);
  const t2 = await r2.json();
  assert.equal((await init(portOf(a), t2.access_token)).status, 200);
  const replay = await postForm(`http://127.0.0.1:${portOf(a)}/oauth/token`,
    { grant_type: 'refresh_token', refresh_token: t1.refresh_token, client_id: t1.clientId });
  assert.equal(replay.status, 400);
  assert.equal((await init(portOf(b), t2.access_token)).status, 401);
  assert.equal((await init(portOf(a), t2.access_token)).status, 401);
});

// A 2025-era MCP session is known to every replica (its record is in Redis): no sticky routing.
test('an MCP session opened on one replica is served by the other: negotiation, selected context, owner, deletion', async () => {
  const t = await signIn(a, a, a);
  const post = (port, sid, body, token = t.access_token) => fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify(body),
  });
  let id = 10;
  const call = async (port, name, args = {}) => {
    const r = await post(port, sid, { jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name, arguments: args } });
    assert.equal(r.status, 200, `${name} on ${port}`);
    const j = await r.json();
    assert.ok(j.result && !j.result.isError, JSON.stringify(j));
    return j.result.structuredContent;
  };
  const opened = await init(portOf(a), t.access_token);
  assert.equal(opened.status, 200);
  const sid = opened.headers.get('mcp-session-id');
  await opened.text();
  assert.equal((await post(portOf(b), sid, { jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
  const listed = await post(portOf(b), sid, { jsonrpc: '2.0', id: id++, method: 'tools/list', params: {} });
  assert.equal(listed.status, 200);
  assert.ok((await listed.json()).result.tools.some((x) => x.name === 'k8s_switch_context'));

  // A context switched on one replica is the session's context on the other, right away.
  const { contexts, current } = await call(portOf(a), 'k8s_list_contexts');
  const other = contexts.map((c) => c.name).find((n) => n !== current);
  assert.ok(other, `a second context: ${JSON.stringify(contexts)}`);
  await call(portOf(b), 'k8s_switch_context', { name: other });
  assert.equal((await call(portOf(a), 'k8s_get_current_context')).name, other);
  await call(portOf(a), 'k8s_switch_context', { name: current });
  assert.equal((await call(portOf(b), 'k8s_get_current_context')).name, current);

  // Another user's token reaches nothing on either replica.
  const admin = await signIn(b, b, b, 'admin@example.com');
  for (const port of [portOf(a), portOf(b)]) {
    const r = await post(port, sid, { jsonrpc: '2.0', id: id++, method: 'tools/list', params: {} }, admin.access_token);
    assert.equal(r.status, 404);
    await r.text();
  }

  // Deleted on one replica: gone on both.
  const del = await fetch(`http://127.0.0.1:${portOf(b)}/mcp`, { method: 'DELETE',
    headers: { authorization: `Bearer ${t.access_token}`, 'mcp-session-id': sid } });
  assert.equal(del.status, 200);
  for (const port of [portOf(a), portOf(b)]) {
    const r = await post(port, sid, { jsonrpc: '2.0', id: id++, method: 'tools/list', params: {} });
    assert.equal(r.status, 404);
    await r.text();
  }
});
