// Two server processes sharing one Redis (--oauth-storage-type valkey) behind one base URL, as
// replicas behind a load balancer: a sign-in started on one finishes on either, a token issued
// by one is accepted by the other, and a revocation or refresh-token replay on one is seen by
// the other at once. Debian's redis-server is started by this test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, renameSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { startOAuthServer, dexLogin, request, CookieJar, consentForm, answerConsent, REGISTRATION_TOKEN }
  from '../lib/oauth.mjs';

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

test('consent spans replicas: the page from one, the answer on the other, the cookie honoured by both', async () => {
  const r = await fetch(`http://127.0.0.1:${portOf(a)}/oauth/register`, { method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${REGISTRATION_TOKEN}` },
    body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }) });
  const clientId = (await r.json()).client_id;
  const q = form({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, state: 's',
    code_challenge: b64url(createHash('sha256').update(b64url(randomBytes(32))).digest()), code_challenge_method: 'S256' });
  const jar = new CookieJar();
  const get = async (port) => {
    const url = `http://127.0.0.1:${port}/oauth/authorize?${q}`;
    const res = await request(url, { headers: jar.header(url) ? { cookie: jar.header(url) } : {} });
    jar.store(url, res.headers['set-cookie']);
    return res;
  };
  const page = await get(portOf(b));
  assert.equal(page.status, 200);
  const f = consentForm(page.body, a.base);
  // The form posts to the shared base URL (replica a); the pending request is in Redis.
  assert.equal(new URL(f.action).port, String(portOf(a)));
  // (Cookies are per host, not per port: the browser sends b's binding cookie to a.)
  const ok = await answerConsent(f, 'approve', jar);
  assert.equal(ok.status, 303, ok.body);
  // A replay on the other replica: the token was taken once, in Redis.
  const replayUrl = f.action.replace(`:${portOf(a)}/`, `:${portOf(b)}/`);
  assert.equal((await answerConsent({ ...f, action: replayUrl }, 'approve', jar)).status, 400);
  // The consent cookie (set by a) is accepted by b: same --oauth-encryption-key.
  assert.ok(jar.names(a.base).some((n) => n.startsWith('mcpk-consent-')), jar.names(a.base).join());
  const skip = await get(portOf(b));
  assert.equal(skip.status, 302);
  assert.ok(skip.headers.location.startsWith(a.env.DEX_ISSUER), skip.headers.location);
});

// One RESP command on a fresh connection; resolves with the first reply line.
function redisCommand(port, args) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''));
    });
    let data = '';
    s.on('data', (d) => {
      data += d;
      const lines = data.split('\r\n');
      if (lines.length > 1) { s.destroy(); resolve(lines[0]); }
    });
    s.on('error', reject);
  });
}

test('a rotated --valkey-password-file is used for the next connection to Redis', async () => {
  const port = await freeRedisPort();
  const guarded = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--requirepass', 'first-password'], { stdio: 'ignore' });
  const dir = mkdtempSync(path.join(tmpdir(), 'valkey-pw-'));
  const pwFile = path.join(dir, 'pw');
  const writePw = (v) => { writeFileSync(pwFile + '.new', v + '\n'); renameSync(pwFile + '.new', pwFile); };
  writePw('first-password');
  let s;
  try {
    for (let i = 0; i < 50; i++) {
      const up = await redisCommand(port, ['AUTH', 'first-password']).catch(() => '');
      if (up === '+OK') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    s = await startOAuthServer(['--oauth-storage-type', 'valkey', '--valkey-url', `127.0.0.1:${port}`,
      '--valkey-password-file', pwFile, '--oauth-encryption-key', KEY]);
    const register = () => fetch(`${s.base}/oauth/register`, { method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${REGISTRATION_TOKEN}` },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }) });
    assert.equal((await register()).status, 201);
    // Rotate: Redis takes the new password, the file says it, and every connection is dropped.
    const rotate = await new Promise((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.write('*2\r\n$4\r\nAUTH\r\n$14\r\nfirst-password\r\n*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$11\r\nrequirepass\r\n$15\r\nsecond-password\r\n');
      });
      let d = '';
      c.on('data', (x) => { d += x; if ((d.match(/\r\n/g) || []).length >= 2) { c.destroy(); resolve(d); } });
      c.on('error', reject);
    });
    assert.match(rotate, /^\+OK\r\n\+OK\r\n/);
    writePw('second-password');
    const killed = await new Promise((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.write('*2\r\n$4\r\nAUTH\r\n$15\r\nsecond-password\r\n*4\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$4\r\nTYPE\r\n$6\r\nnormal\r\n');
      });
      let d = '';
      c.on('data', (x) => { d += x; if ((d.match(/\r\n/g) || []).length >= 2) { c.destroy(); resolve(d); } });
      c.on('close', () => resolve(d));
      c.on('error', reject);
    });
    // AUTH's +OK, then how many connections were killed: the store's among them, so what
    // follows needs a new connection, which only the new password opens.
    const count = Number((killed.match(/^\+OK\r\n:(\d+)\r\n/) || [])[1] || 0);
    assert.ok(count >= 1, JSON.stringify(killed));
    // The file is looked at again at most every 5 s: registrations fail (503) until then.
    let status = 0;
    for (let i = 0; i < 60 && status !== 201; i++) {
      status = (await register()).status;
      if (status !== 201) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(status, 201, 'the store reconnected with the new password');
    assert.ok(!s.stderr().includes('second-password') && !s.stderr().includes('first-password'), 'no password logged');
  } finally {
    await s?.stop();
    guarded.kill('SIGTERM');
  }
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
