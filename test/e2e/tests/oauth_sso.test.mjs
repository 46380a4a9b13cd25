// SSO token forwarding (--oauth-trusted-audiences), per-user rate limits and secret files
// re-read on change, against the test ground's Dex and a real kube-apiserver. Dex's password
// grant (its local connector) mints ID tokens for another client (mcp-test, the audience the
// API server trusts), as a sibling application signed in at the same Dex would hold them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { kubectl } from '../lib/harness.mjs';
import { startOAuthServer, dexLogin, request, text, REGISTRATION_TOKEN } from '../lib/oauth.mjs';

const NS = 'consent-sso-e2e';
const REDIRECT = 'http://127.0.0.1:1/cb';
let srv;

const b64url = (b) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const form = (o) => new URLSearchParams(o).toString();

// An ID token from Dex for `clientId` (its password grant), as that client would hold it.
async function dexIdToken(env, clientId, secret, email) {
  const body = form({ grant_type: 'password', username: email, password: 'password', scope: 'openid email groups' });
  const r = await request(`${env.DEX_ISSUER}/token`, { method: 'POST', body, headers: {
    'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body),
    authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64') } });
  assert.equal(r.status, 200, r.body);
  const idToken = JSON.parse(r.body).id_token;
  assert.equal(JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url')).aud, clientId);
  return idToken;
}

const mcp = (base, token, body) => fetch(`${base}/mcp`, { method: 'POST', headers: {
  'content-type': 'application/json', accept: 'application/json, text/event-stream',
  ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body ?? { jsonrpc: '2.0', id: 1,
  method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'sso', version: '1' } } }) });

async function connect(base, token) {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`),
    { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'sso-e2e', version: '1' }, { capabilities: {} });
  await client.connect(transport);
  return client;
}

before(async () => {
  srv = await startOAuthServer(['--downstream-oauth', '--non-destructive=false', '--oauth-trusted-audiences', 'mcp-test']);
  kubectl(['create', 'namespace', NS], { allowFail: true });
  kubectl(['-n', NS, 'create', 'configmap', 'sso-victim', '--from-literal=a=b'], { allowFail: true });
});

after(async () => {
  kubectl(['delete', 'namespace', NS, '--wait=false'], { allowFail: true });
  await srv?.stop();
});

test('a Dex ID token for a trusted audience is accepted and reaches the API server as that user', async () => {
  const env = srv.env;
  const idToken = await dexIdToken(env, env.DEX_CLIENT_ID, env.DEX_CLIENT_SECRET, 'viewer@example.com');
  const client = await connect(srv.base, idToken);
  const list = await client.callTool({ name: 'k8s_list_resources', arguments: { resourceType: 'configmaps', namespace: NS } });
  assert.ok(!list.isError, text(list));
  assert.ok(list.structuredContent.rows.some((r) => r[0] === 'sso-victim'), text(list));
  const del = await client.callTool({ name: 'k8s_delete_resource',
    arguments: { resourceType: 'configmaps', namespace: NS, name: 'sso-victim' } });
  assert.ok(del.isError, text(del));
  assert.match(text(del), /forbidden/i);
  assert.match(text(del), /viewer@example\.com/);
  await client.close();
  const m = await (await fetch(`${srv.base}/metrics`)).text();
  assert.match(m, /oauth_forwarded_id_tokens_total\{result="accepted"\} [1-9]/);
  assert.ok(!srv.stderr().includes(idToken), 'the forwarded token is not logged');
});

test('refused: an ID token for an audience not trusted, a tampered one, one from another issuer', async () => {
  const env = srv.env;
  // Dex's token for this server's own client id: not in --oauth-trusted-audiences.
  const ours = await dexIdToken(env, env.DEX_MCP_CLIENT_ID, env.DEX_MCP_CLIENT_SECRET, 'viewer@example.com');
  const r1 = await mcp(srv.base, ours);
  assert.equal(r1.status, 401);
  assert.match(r1.headers.get('www-authenticate'), /error="invalid_token"/);
  assert.match((await r1.json()).error_description, /audience/);
  const good = await dexIdToken(env, env.DEX_CLIENT_ID, env.DEX_CLIENT_SECRET, 'viewer@example.com');
  const [h, p, s] = good.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const forged = [h, Buffer.from(JSON.stringify({ ...claims, email: 'admin@example.com', groups: ['mcp-admins'] }))
    .toString('base64url'), s].join('.');
  const r2 = await mcp(srv.base, forged);
  assert.equal(r2.status, 401);
  assert.match((await r2.json()).error_description, /signature/);
  const foreign = [h, Buffer.from(JSON.stringify({ ...claims, iss: 'https://evil.example/dex' })).toString('base64url'), s].join('.');
  assert.equal((await mcp(srv.base, foreign)).status, 401);
  const m = await (await fetch(`${srv.base}/metrics`)).text();
  assert.match(m, /oauth_forwarded_id_tokens_total\{result="refused"\} [3-9]/);
});

test('per-user MCP rate limit: beyond the burst a 429 with Retry-After, for every token of that user', async () => {
  const env = srv.env;
  const limited = await startOAuthServer(['--oauth-trusted-audiences', 'mcp-test', '--oauth-user-rate-limit', '0.01',
    '--oauth-user-rate-burst', '3']);
  try {
    const viewer1 = await dexIdToken(env, env.DEX_CLIENT_ID, env.DEX_CLIENT_SECRET, 'viewer@example.com');
    const viewer2 = await dexIdToken(env, env.DEX_CLIENT_ID, env.DEX_CLIENT_SECRET, 'viewer@example.com');
    const admin = await dexIdToken(env, env.DEX_CLIENT_ID, env.DEX_CLIENT_SECRET, 'admin@example.com');
    const statuses = [];
    for (const t of [viewer1, viewer2, viewer1, viewer2]) {
      const r = await mcp(limited.base, t);
      statuses.push(r.status);
      if (r.status === 429) {
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
        assert.equal((await r.json()).error, 'too_many_requests');
      } else await r.text();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const other = await mcp(limited.base, admin);  // another user has their own budget
    assert.equal(other.status, 200);
  } finally {
    await limited.stop();
  }
});

test('per-user token endpoint limit: beyond it 429 too_many_requests', async () => {
  const limited = await startOAuthServer(['--oauth-token-rate-limit', '2']);
  try {
    const reg = await fetch(`${limited.base}/oauth/register`, { method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${REGISTRATION_TOKEN}` },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }) });
    const clientId = (await reg.json()).client_id;
    const verifier = b64url(randomBytes(32));
    const q = form({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, state: 's',
      code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256' });
    const back = await dexLogin(`${limited.base}/oauth/authorize?${q}`, 'viewer@example.com', 'password', REDIRECT);
    const tok = (o) => fetch(`${limited.base}/oauth/token`, { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ client_id: clientId, ...o }) });
    const t1 = await tok({ grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: REDIRECT,
      code_verifier: verifier });
    assert.equal(t1.status, 200);
    const r2 = await tok({ grant_type: 'refresh_token', refresh_token: (await t1.json()).refresh_token });
    assert.equal(r2.status, 200);
    const r3 = await tok({ grant_type: 'refresh_token', refresh_token: (await r2.json()).refresh_token });
    assert.equal(r3.status, 429);
    assert.equal(r3.headers.get('retry-after'), '60');
    assert.equal((await r3.json()).error, 'too_many_requests');
  } finally {
    await limited.stop();
  }
});

test('secret files are read again when they change: registration token and Dex client secret', async () => {
  const env = srv.env;
  const dir = mkdtempSync(path.join(tmpdir(), 'secret-files-'));
  const file = (name, content) => {  // replaced like a mounted Secret: a new file renamed over the old
    writeFileSync(path.join(dir, `${name}.new`), content);
    renameSync(path.join(dir, `${name}.new`), path.join(dir, name));
    return path.join(dir, name);
  };
  const regFile = file('reg', 'old-registration-token\n');
  const dexFile = file('dex', 'wrong-secret\n');
  // Later flags win over startOAuthServer's own -file flags.
  const s = await startOAuthServer(['--registration-token-file', regFile, '--dex-client-secret-file', dexFile]);
  try {
    const register = (token) => fetch(`${s.base}/oauth/register`, { method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }) });
    const first = await register('old-registration-token');
    assert.equal(first.status, 201);
    const clientId = (await first.json()).client_id;
    const signIn = async () => {
      const verifier = b64url(randomBytes(32));
      const q = form({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, state: 's',
        code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256' });
      return dexLogin(`${s.base}/oauth/authorize?${q}`, 'viewer@example.com', 'password', REDIRECT);
    };
    // Dex refuses the code exchange with the wrong client secret.
    assert.equal((await signIn()).searchParams.get('error'), 'access_denied');
    file('reg', 'new-registration-token\n');
    file('dex', env.DEX_MCP_CLIENT_SECRET + '\n');
    // Looked at again at most every 5 s: wait (bounded) for the new token to be taken.
    let status = 0;
    for (let i = 0; i < 40 && status !== 201; i++) {
      status = (await register('new-registration-token')).status;
      if (status !== 201) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(status, 201, 'the new registration token is accepted');
    assert.equal((await register('old-registration-token')).status, 401, 'the old one no longer');
    const back = await signIn();
    assert.equal(back.searchParams.get('error'), null, String(back));
    assert.ok(back.searchParams.get('code'));
    assert.match(s.stderr(), /secret file \S+ changed; the new value is in use/);
    assert.ok(!s.stderr().includes(env.DEX_MCP_CLIENT_SECRET), 'no secret in the log');
  } finally {
    await s.stop();
  }
});
