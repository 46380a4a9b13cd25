// OAuth 2.1 end to end: the server as authorization server in front of the test ground's Dex,
// the TypeScript SDK's own OAuth client, and downstream OAuth to a real kube-apiserver (its
// RBAC decides: mcp-viewers -> view, mcp-admins -> cluster-admin). Needs a test ground started
// with `test/cluster/up.sh --dex` from this branch (Dex client mcp-kubernetes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { kubectl } from '../lib/harness.mjs';
import { startOAuthServer, signIn, dexLogin, request, text, REGISTRATION_TOKEN, CookieJar, consentForm, answerConsent }
  from '../lib/oauth.mjs';

const NS = 'oauth-e2e';
const REDIRECT = 'http://127.0.0.1:1/cb';
// Known to the test so it can make consent cookies as the server would (forged/expired cases).
const KEY = randomBytes(32);
let srv;

const b64url = (b) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const pkce = () => {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
};
const form = (o) => new URLSearchParams(o).toString();
const postForm = (url, o, headers = {}) => fetch(url, {
  method: 'POST', body: form(o), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
});
const mcpInit = (token, sid) => fetch(`${srv.base}/mcp`, {
  method: 'POST',
  headers: {
    'content-type': 'application/json', accept: 'application/json, text/event-stream',
    ...(token ? { authorization: `Bearer ${token}` } : {}), ...(sid ? { 'mcp-session-id': sid } : {}),
  },
  body: JSON.stringify(sid
    ? { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }
    : { jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
});

async function register(body = { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' },
  token = REGISTRATION_TOKEN) {
  return fetch(`${srv.base}/oauth/register`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
}

async function newClient() {
  const r = await register();
  assert.equal(r.status, 201);
  return (await r.json()).client_id;
}

// A raw authorization code flow through Dex; returns { code, verifier, clientId }.
async function rawCode(email, clientId) {
  const { verifier, challenge } = pkce();
  const q = form({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, state: 's1',
    code_challenge: challenge, code_challenge_method: 'S256', resource: `${srv.base}/mcp` });
  const back = await dexLogin(`${srv.base}/oauth/authorize?${q}`, email, 'password', REDIRECT);
  assert.equal(back.searchParams.get('state'), 's1');
  return { code: back.searchParams.get('code'), verifier, clientId };
}

async function rawTokens(email) {
  const clientId = await newClient();
  const { code, verifier } = await rawCode(email, clientId);
  const r = await postForm(`${srv.base}/oauth/token`, { grant_type: 'authorization_code', code, client_id: clientId,
    redirect_uri: REDIRECT, code_verifier: verifier });
  assert.equal(r.status, 200);
  return { ...(await r.json()), clientId };
}

before(async () => {
  srv = await startOAuthServer(['--downstream-oauth', '--non-destructive=false', '--max-clients-per-ip', '40',
    '--oauth-encryption-key', KEY.toString('hex')]);
  kubectl(['create', 'namespace', NS], { allowFail: true });
});

after(async () => {
  kubectl(['delete', 'namespace', NS, '--wait=false'], { allowFail: true });
  await srv?.stop();
});

test('without a token the MCP endpoint answers 401 with the resource metadata; health and metadata stay open', async () => {
  const r = await mcpInit();
  assert.equal(r.status, 401);
  assert.equal(r.headers.get('www-authenticate'),
    `Bearer resource_metadata="${srv.base}/.well-known/oauth-protected-resource/mcp"`);
  const bad = await mcpInit('not-a-token');
  assert.equal(bad.status, 401);
  assert.match(bad.headers.get('www-authenticate'), /error="invalid_token"/);
  for (const p of ['/healthz', '/readyz', '/metrics']) assert.equal((await fetch(srv.base + p)).status, 200, p);
  const prm = await (await fetch(`${srv.base}/.well-known/oauth-protected-resource/mcp`)).json();
  assert.equal(prm.resource, `${srv.base}/mcp`);
  assert.deepEqual(prm.authorization_servers, [srv.base]);
  const as = await (await fetch(`${srv.base}/.well-known/oauth-authorization-server`)).json();
  assert.equal(as.issuer, srv.base);
  assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
});

test('viewer (SDK OAuth, downstream token) lists pods; the API server refuses their delete by RBAC', async () => {
  kubectl(['-n', NS, 'create', 'configmap', 'victim', '--from-literal=a=b'], { allowFail: true });
  const { client, provider } = await signIn(srv.base, 'viewer@example.com');
  const list = await client.callTool({ name: 'k8s_list_resources', arguments: { resourceType: 'configmaps', namespace: NS } });
  assert.ok(!list.isError, text(list));
  assert.ok(list.structuredContent.rows.some((r) => r[0] === 'victim'), text(list));
  const pods = await client.callTool({ name: 'k8s_list_resources', arguments: { resourceType: 'pods', namespace: NS } });
  assert.ok(!pods.isError, text(pods));
  const del = await client.callTool({ name: 'k8s_delete_resource',
    arguments: { resourceType: 'configmaps', namespace: NS, name: 'victim' } });
  assert.ok(del.isError, text(del));
  assert.match(text(del), /forbidden/i);
  assert.match(text(del), /viewer@example\.com/);
  assert.ok(kubectl(['-n', NS, 'get', 'configmap', 'victim', '-o', 'name']).includes('victim'));
  await client.close();
  // Audit lines name the user, never a token (ours, or Dex's JWTs).
  const log = srv.stderr();
  assert.match(log, /oauth audit: user signed in subject=\S+ client=/);
  assert.ok(!log.includes(provider.tokens().access_token) && !log.includes(provider.tokens().refresh_token));
  assert.doesNotMatch(log, /eyJ[A-Za-z0-9_-]{10,}/);
});

test('admin (SDK OAuth) deletes; kubectl confirms', async () => {
  kubectl(['-n', NS, 'create', 'configmap', 'doomed', '--from-literal=a=b']);
  const { client } = await signIn(srv.base, 'admin@example.com');
  const del = await client.callTool({ name: 'k8s_delete_resource',
    arguments: { resourceType: 'configmaps', namespace: NS, name: 'doomed' } });
  assert.ok(!del.isError, text(del));
  const after = kubectl(['-n', NS, 'get', 'configmap', 'doomed'], { allowFail: true });
  assert.ok(after.failed && /NotFound/.test(after.stderr), JSON.stringify(after));
  await client.close();
});

test("a session belongs to its user: another user's token on it is answered 404", async () => {
  const viewer = await rawTokens('viewer@example.com');
  const admin = await rawTokens('admin@example.com');
  const init = await mcpInit(viewer.access_token);
  assert.equal(init.status, 200);
  const sid = init.headers.get('mcp-session-id');
  await init.text();
  const mine = await mcpInit(viewer.access_token, sid);
  assert.equal(mine.status, 200);
  await mine.text();
  const theirs = await mcpInit(admin.access_token, sid);
  assert.equal(theirs.status, 404);
});

test('2026-07-28 stateless requests: the bearer check per request, and the caller reaches the API server', async () => {
  kubectl(['-n', NS, 'create', 'configmap', 'stateless-victim', '--from-literal=a=b'], { allowFail: true });
  const viewer = await rawTokens('viewer@example.com');
  const modern = async (token, name, args) => {
    const h = { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name,
      ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const r = await fetch(`${srv.base}/mcp`, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', id: 1,
      method: 'tools/call', params: { name, arguments: args, _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } }) });
    return { status: r.status, body: await r.text() };
  };
  const args = { resourceType: 'configmaps', namespace: NS, name: 'stateless-victim' };
  assert.equal((await modern(undefined, 'k8s_get_resource', args)).status, 401);
  const got = await modern(viewer.access_token, 'k8s_get_resource', args);
  assert.equal(got.status, 200, got.body);
  assert.ok(!JSON.parse(got.body).result.isError, got.body);
  const del = await modern(viewer.access_token, 'k8s_delete_resource', args);
  assert.match(del.body, /forbidden/i);
  assert.match(del.body, /viewer@example\.com/);
});

test('a revoked access token is refused', async () => {
  const t = await rawTokens('viewer@example.com');
  assert.equal((await mcpInit(t.access_token)).status, 200);
  const r = await postForm(`${srv.base}/oauth/revoke`, { token: t.access_token, client_id: t.clientId });
  assert.equal(r.status, 200);
  const after = await mcpInit(t.access_token);
  assert.equal(after.status, 401);
  assert.match(after.headers.get('www-authenticate'), /invalid_token/);
});

test('a replayed refresh token revokes the family: the newer tokens stop working too', async () => {
  const t1 = await rawTokens('viewer@example.com');
  const r2 = await postForm(`${srv.base}/oauth/token`,
    { grant_type: 'refresh_token', refresh_token: t1.refresh_token, client_id: t1.clientId });
  assert.equal(r2.status, 200);
  const t2 = await r2.json();
  assert.notEqual(t2.refresh_token, t1.refresh_token);
  assert.equal((await mcpInit(t2.access_token)).status, 200);
  const replay = await postForm(`${srv.base}/oauth/token`,
    { grant_type: 'refresh_token', refresh_token: t1.refresh_token, client_id: t1.clientId });
  assert.equal(replay.status, 400);
  assert.equal((await replay.json()).error, 'invalid_grant');
  assert.equal((await mcpInit(t2.access_token)).status, 401);
  const again = await postForm(`${srv.base}/oauth/token`,
    { grant_type: 'refresh_token', refresh_token: t2.refresh_token, client_id: t1.clientId });
  assert.equal(again.status, 400);
  const m = await (await fetch(`${srv.base}/metrics`)).text();
  assert.match(m, /oauth_token_reuse_detected_total [1-9]/);
});

test('token endpoint: wrong verifier, reused code, unknown client', async () => {
  const clientId = await newClient();
  const tok = (o) => postForm(`${srv.base}/oauth/token`, { grant_type: 'authorization_code', redirect_uri: REDIRECT, ...o });
  const a = await rawCode('viewer@example.com', clientId);
  const wrong = await tok({ code: a.code, client_id: clientId, code_verifier: pkce().verifier });
  assert.equal(wrong.status, 400);
  assert.equal((await wrong.json()).error, 'invalid_grant');
  const b = await rawCode('viewer@example.com', clientId);
  assert.equal((await tok({ code: b.code, client_id: clientId, code_verifier: b.verifier })).status, 200);
  const reused = await tok({ code: b.code, client_id: clientId, code_verifier: b.verifier });
  assert.equal(reused.status, 400);
  assert.equal((await reused.json()).error, 'invalid_grant');
  const unknown = await tok({ code: 'x', client_id: 'no-such-client', code_verifier: b.verifier });
  assert.equal(unknown.status, 401);
  assert.equal((await unknown.json()).error, 'invalid_client');
  const grant = await postForm(`${srv.base}/oauth/token`, { grant_type: 'password', client_id: clientId });
  assert.equal((await grant.json()).error, 'unsupported_grant_type');
});

test('authorize: foreign redirect URI, missing state, plain PKCE, foreign resource, unknown client', async () => {
  const clientId = await newClient();
  const { challenge } = pkce();
  const q = (o) => `${srv.base}/oauth/authorize?${form({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT,
    state: 's', code_challenge: challenge, code_challenge_method: 'S256', ...o })}`;
  const foreign = await request(q({ redirect_uri: 'http://127.0.0.1:1/evil' }));
  assert.equal(foreign.status, 400);
  assert.equal(foreign.headers.location, undefined);
  assert.equal((await request(q({ client_id: 'nope' }))).status, 400);
  const errorOf = async (o) => new URL((await request(q(o))).headers.location).searchParams.get('error');
  assert.equal(await errorOf({ state: '' }), 'invalid_request');
  assert.equal(await errorOf({ code_challenge_method: 'plain' }), 'invalid_request');
  assert.equal(await errorOf({ resource: 'https://elsewhere.example/mcp' }), 'invalid_target');
  const ok = await request(q({ resource: `${srv.base}/mcp` }));
  assert.equal(ok.status, 200);  // our consent page, before anything goes to Dex
  assert.ok(consentForm(ok.body, srv.base), ok.body.slice(0, 300));
});

test('introspection needs a confidential client and reports the token', async () => {
  const t = await rawTokens('viewer@example.com');
  const pub = await postForm(`${srv.base}/oauth/introspect`, { token: t.access_token, client_id: t.clientId });
  assert.equal(pub.status, 401);
  const reg = await register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic' });
  const rs = await reg.json();
  assert.ok(rs.client_secret);
  const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(rs.client_id)}:${encodeURIComponent(rs.client_secret)}`).toString('base64');
  const info = await (await postForm(`${srv.base}/oauth/introspect`, { token: t.access_token }, { authorization: basic })).json();
  assert.equal(info.active, true);
  assert.equal(info.username, 'viewer@example.com');
  assert.equal(info.aud, `${srv.base}/mcp`);
  const wrong = await postForm(`${srv.base}/oauth/introspect`, { token: t.access_token },
    { authorization: 'Basic ' + Buffer.from(`${rs.client_id}:wrong`).toString('base64') });
  assert.equal(wrong.status, 401);
});

test('google provider (pointed at the local Dex by the test-only MCPK_TEST_GOOGLE_ISSUER): the same flow', async () => {
  const env = srv.env;
  const g = await startOAuthServer(['--oauth-provider', 'google', '--google-client-id', env.DEX_MCP_CLIENT_ID,
    '--google-client-secret', env.DEX_MCP_CLIENT_SECRET], { MCPK_TEST_GOOGLE_ISSUER: env.DEX_ISSUER });
  try {
    const { client } = await signIn(g.base, 'viewer@example.com');
    const r = await client.callTool({ name: 'k8s_list_resources', arguments: { resourceType: 'namespaces' } });
    assert.ok(!r.isError, text(r));  // no downstream OAuth: the server's own credentials
    await client.close();
  } finally {
    await g.stop();
  }
});

test("downstream OAuth renews the user's Dex ID token through Dex (real refresh grant, rotated refresh token)", async () => {
  // Test-only margin above Dex's ID token lifetime: every request renews.
  const r = await startOAuthServer(['--downstream-oauth'], { MCPK_TEST_UPSTREAM_REFRESH_MARGIN_SECONDS: '200000' });
  try {
    const { client } = await signIn(r.base, 'viewer@example.com');
    for (let i = 0; i < 3; i++) {
      const l = await client.callTool({ name: 'k8s_list_resources', arguments: { resourceType: 'configmaps', namespace: NS } });
      assert.ok(!l.isError, text(l));
    }
    const m = await (await fetch(`${r.base}/metrics`)).text();
    const renewed = Number((m.match(/oauth_upstream_refresh_total\{result="success"\} (\d+)/) || [])[1] || 0);
    assert.ok(renewed >= 3, m.split('\n').filter((l) => l.startsWith('oauth_')).join('\n'));
    assert.doesNotMatch(m, /oauth_upstream_refresh_total\{result="(refused|unavailable)"\}/);
    assert.match(r.stderr(), /oauth audit: upstream token renewed subject=/);
  } finally {
    await r.stop();
  }
});

test('startup refuses an incomplete or unsafe OAuth configuration, naming the flag', async () => {
  const { spawnSync } = await import('node:child_process');
  const { serverBin, clusterEnv } = await import('../lib/harness.mjs');
  const env = { PATH: process.env.PATH, KUBECONFIG: clusterEnv().KUBECONFIG };
  const run = (args) => spawnSync(serverBin, ['serve', ...args], { env, encoding: 'utf8', timeout: 20000 });
  const http = ['--transport', 'streamable-http', '--http-addr', '127.0.0.1:0'];
  const dex = ['--dex-issuer-url', srv.env.DEX_ISSUER, '--dex-client-id', 'x', '--dex-client-secret', 'y',
    '--registration-token', 't'];
  const cases = [
    [['--enable-oauth'], /--enable-oauth needs --transport streamable-http/],
    [[...http, '--downstream-oauth'], /--downstream-oauth needs --enable-oauth/],
    [[...http, '--enable-oauth', ...dex], /--oauth-base-url/],
    [[...http, '--enable-oauth', ...dex, '--oauth-base-url', 'http://mcp.example.com'], /must use https/],
    [[...http, '--enable-oauth', '--oauth-base-url', 'http://127.0.0.1:1', '--registration-token', 't'],
      /--dex-issuer-url/],
    [[...http, '--enable-oauth', '--oauth-base-url', 'http://127.0.0.1:1', '--dex-issuer-url', 'http://dex.example.com',
      ...dex.slice(2)], /--dex-issuer-url must be an https URL/],
    [[...http, '--enable-oauth', '--oauth-base-url', 'http://127.0.0.1:1', '--dex-issuer-url', srv.env.DEX_ISSUER,
      '--dex-client-id', 'x', '--dex-client-secret', 'y'], /no client could register/],
    [[...http, '--enable-oauth', '--oauth-base-url', 'http://127.0.0.1:1', ...dex, '--oauth-storage-type', 'valkey'],
      /--valkey-url/],
    [[...http, '--enable-oauth', '--oauth-base-url', 'http://127.0.0.1:1', ...dex, '--oauth-encryption-key', 'short'],
      /key/i],
  ];
  for (const [args, expected] of cases) {
    const r = run(args);
    assert.notEqual(r.status, 0, `${args.join(' ')} started`);
    assert.match(r.stderr, expected, `${args.join(' ')}: ${r.stderr}`);
  }
});

// --- our consent page (MCP security best practices: confused deputy) ---

const authorizeUrl = (clientId, o = {}) => `${srv.base}/oauth/authorize?${form({ response_type: 'code',
  client_id: clientId, redirect_uri: REDIRECT, state: 'consent-state', code_challenge: pkce().challenge,
  code_challenge_method: 'S256', ...o })}`;
const getAs = async (jar, url) => {
  const cookie = jar.header(url);
  const r = await request(url, { headers: cookie ? { cookie } : {} });
  jar.store(url, r.headers['set-cookie']);
  return r;
};
// The server's consent cookie for a client, made with the known --oauth-encryption-key.
const consentCookie = (clientId, expires) => {
  const key = createHmac('sha256', KEY).update('mcp-kubernetes consent cookie v1').digest();
  const mac = createHmac('sha256', key).update(`consent/v1\n${Buffer.byteLength(clientId)}\n${clientId}\n${expires}`).digest();
  return `${expires}.${b64url(mac)}`;
};
const cookieName = (clientId) => `mcpk-consent-${b64url(createHash('sha256').update(clientId).digest()).slice(0, 22)}`;

test('consent: without a cookie the page names the client (escaped) and cannot be framed; nothing went to Dex', async () => {
  const r = await register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none',
    client_name: '<img src=x onerror=alert(1)> Evil & Co' });
  const { client_id: clientId } = await r.json();
  const page = await request(authorizeUrl(clientId, { scope: 'mcp <b>' }));
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'], /^text\/html/);
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.match(page.headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(page.headers['cache-control'], 'no-store');
  assert.match(page.body, /<strong id="client-name">&lt;img src=x onerror=alert\(1\)&gt; Evil &amp; Co<\/strong>/);
  assert.doesNotMatch(page.body, /<img/);
  assert.match(page.body, /<dd id="redirect-host">127\.0\.0\.1:1<\/dd>/);
  assert.match(page.body, /<dd id="scope">mcp &lt;b&gt;<\/dd>/);
  assert.ok(page.body.includes(clientId));
  const setCookie = [page.headers['set-cookie']].flat().join('\n');
  assert.match(setCookie, /^mcpk-browser=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/m);
  assert.equal(page.headers.location, undefined);
});

test('consent: deny sends the browser back to the client with access_denied and its state', async () => {
  const clientId = await newClient();
  const back = await dexLogin(authorizeUrl(clientId), 'viewer@example.com', 'password', REDIRECT, { consent: 'deny' });
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('state'), 'consent-state');
  assert.equal(back.searchParams.get('iss'), srv.base);
  assert.equal(back.searchParams.get('code'), null);
});

test('consent: an approval is remembered for that client only', async () => {
  const a = await newClient();
  const b = await newClient();
  const jar = new CookieJar();
  const seen = [];
  const back = await dexLogin(authorizeUrl(a), 'viewer@example.com', 'password', REDIRECT, { jar, seen });
  assert.ok(back.searchParams.get('code'));
  assert.equal(seen.length, 1);
  assert.ok(jar.get(srv.base, cookieName(a)), 'consent cookie set');
  // The same browser and client: straight to Dex, and the whole sign-in works without the page.
  const again = await getAs(jar, authorizeUrl(a));
  assert.equal(again.status, 302);
  assert.ok(again.headers.location.startsWith(srv.env.DEX_ISSUER), again.headers.location);
  const seen2 = [];
  const back2 = await dexLogin(authorizeUrl(a), 'viewer@example.com', 'password', REDIRECT, { jar, seen: seen2 });
  assert.ok(back2.searchParams.get('code'));
  assert.equal(seen2.length, 0);
  // Client B from that browser: asked, even with A's cookie value copied under B's name.
  assert.equal((await getAs(jar, authorizeUrl(b))).status, 200);
  jar.set(srv.base, cookieName(b), jar.get(srv.base, cookieName(a)));
  assert.equal((await getAs(jar, authorizeUrl(b))).status, 200);
});

test('consent: forged and expired cookies are refused', async () => {
  const clientId = await newClient();
  const jar = new CookieJar();
  const now = Math.floor(Date.now() / 1000);
  jar.set(srv.base, cookieName(clientId), consentCookie(clientId, now + 3600));
  assert.equal((await getAs(jar, authorizeUrl(clientId))).status, 302, 'a genuine cookie (proves the test\'s MAC)');
  for (const [why, value] of [
    ['expired', consentCookie(clientId, now - 5)],
    ['another client\'s MAC', consentCookie('someone-else', now + 3600)],
    ['expiry moved', `${now + 86400}.${consentCookie(clientId, now + 3600).split('.')[1]}`],
    ['garbage', 'x.y'],
  ]) {
    jar.set(srv.base, cookieName(clientId), value);
    assert.equal((await getAs(jar, authorizeUrl(clientId))).status, 200, why);
  }
});

test('consent: the CSRF token answers once, and only from the browser that was asked', async () => {
  const clientId = await newClient();
  const jar = new CookieJar();
  const page = await getAs(jar, authorizeUrl(clientId));
  const f = consentForm(page.body, srv.base);
  // Another browser (an attacker's cross-site POST carries no cookie of ours): refused.
  const stranger = await answerConsent(f, 'approve', new CookieJar());
  assert.equal(stranger.status, 403);
  assert.equal(JSON.parse(stranger.body).error, 'access_denied');
  // The token is spent either way.
  assert.equal((await answerConsent(f, 'approve', jar)).status, 400);
  const page2 = await getAs(jar, authorizeUrl(clientId));
  const f2 = consentForm(page2.body, srv.base);
  const ok = await answerConsent(f2, 'approve', jar);
  assert.equal(ok.status, 303);
  assert.ok(ok.headers.location.startsWith(srv.env.DEX_ISSUER));
  const replay = await answerConsent(f2, 'approve', jar);
  assert.equal(replay.status, 400);
  assert.equal(JSON.parse(replay.body).error, 'invalid_request');
  assert.match(srv.stderr(), /oauth audit: consent given client=/);
});

// Last: it uses up this address's registrations.
test('registration: bad token, public not allowed, bad redirect, oversized body, per-address limit', async () => {
  assert.equal((await register(undefined, 'wrong-token')).status, 401);
  assert.equal((await register(undefined, '')).status, 401);
  const bad = await register({ redirect_uris: ['http://evil.example/cb'] });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error, 'invalid_redirect_uri');
  const big = await fetch(`${srv.base}/oauth/register`, {
    method: 'POST', body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: 'x'.repeat(200000) }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${REGISTRATION_TOKEN}` },
  });
  assert.equal(big.status, 413);
  // --max-clients-per-ip 40 (per hour): this suite has registered fewer; fill up and overflow.
  let status = 201;
  for (let i = 0; i < 50 && status === 201; i++) status = (await register()).status;
  assert.equal(status, 429);
});
