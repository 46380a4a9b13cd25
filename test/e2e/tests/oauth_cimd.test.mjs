// Client ID Metadata Documents (--enable-cimd): a client whose client_id is an https URL, its
// document served by a real HTTPS server on loopback. Loopback is refused to CIMD fetches; the
// test-only MCPK_TEST_CIMD_LOOPBACK_HOST lets exactly the host name "localhost" through (with
// MCPK_TEST_CIMD_CA_FILE trusting this test's self-signed certificate), so every other
// loopback, private or wrapped address below is refused by the real check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startOAuthServer, dexLogin, request } from '../lib/oauth.mjs';

const REDIRECT = 'http://127.0.0.1:1/cb';
let srv;
let docs;
let port;
const hits = new Map();  // path -> requests the document server saw
const stalled = [];

const b64url = (b) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const form = (o) => new URLSearchParams(o).toString();
const url = (p, host = 'localhost') => `https://${host}:${port}${p}`;

function documents() {
  const good = { client_id: url('/good.json'), client_name: 'CIMD e2e app', redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] };
  return {
    '/good.json': [200, good],
    '/mismatch.json': [200, { ...good, client_id: url('/good.json') }],
    '/secret.json': [200, { ...good, client_id: url('/secret.json'), client_secret: 'in the open' }],
    '/big.json': [200, { ...good, client_id: url('/big.json'), client_name: 'x'.repeat(200), padding: 'y'.repeat(8000) }],
    '/redirect.json': [302, null],
    '/slow.json': [0, null],  // never answers
  };
}

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cimd-e2e-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE'], { stdio: 'ignore' });
  docs = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) },
    (req, res) => {
      hits.set(req.url, (hits.get(req.url) || 0) + 1);
      const d = documents()[req.url];
      if (!d) { res.writeHead(404).end(); return; }
      if (d[0] === 302) { res.writeHead(302, { location: url('/good.json') }).end(); return; }
      if (d[0] === 0) { stalled.push(res); return; }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(d[1]));
    });
  await new Promise((r) => docs.listen(0, '127.0.0.1', r));
  port = docs.address().port;
  srv = await startOAuthServer(['--enable-cimd'],
    { MCPK_TEST_CIMD_LOOPBACK_HOST: 'localhost', MCPK_TEST_CIMD_CA_FILE: path.join(dir, 'cert.pem') });
});

after(async () => {
  await srv?.stop();
  for (const r of stalled) r.destroy();
  docs?.close();
});

const pkce = () => {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
};
const authorize = (clientId, challenge = pkce().challenge) => `${srv.base}/oauth/authorize?${form({
  response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, state: 'cimd', code_challenge: challenge,
  code_challenge_method: 'S256' })}`;

test('metadata advertises client ID metadata documents', async () => {
  const as = await (await fetch(`${srv.base}/.well-known/oauth-authorization-server`)).json();
  assert.equal(as.client_id_metadata_document_supported, true);
});

test('a client named by its document URL signs in without registering; the document is fetched once (cached)', async () => {
  const clientId = url('/good.json');
  const { verifier, challenge } = pkce();
  const seen = [];
  const back = await dexLogin(authorize(clientId, challenge), 'viewer@example.com', 'password', REDIRECT, { seen });
  assert.equal(back.searchParams.get('error'), null, String(back));
  assert.equal(seen.length, 1);
  assert.match(seen[0].body, /<strong id="client-name">CIMD e2e app<\/strong>/);
  assert.ok(seen[0].body.includes(clientId));
  const t = await fetch(`${srv.base}/oauth/token`, { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'authorization_code', code: back.searchParams.get('code'), client_id: clientId,
      redirect_uri: REDIRECT, code_verifier: verifier }) });
  assert.equal(t.status, 200, await t.clone().text());
  const { access_token: at } = await t.json();
  const init = await fetch(`${srv.base}/mcp`, { method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${at}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'cimd', version: '1' } } }) });
  assert.equal(init.status, 200);
  await init.text();
  assert.equal(hits.get('/good.json'), 1, 'authorize and token used the cached document');
  // A redirect URI the document does not list is refused (exact match, as for registered clients).
  const foreign = await request(authorize(clientId).replace(encodeURIComponent(REDIRECT), encodeURIComponent('http://127.0.0.1:2/cb')));
  assert.equal(foreign.status, 400);
});

test('refused: loopback, private and wrapped addresses (never connected), non-https, bad documents', async () => {
  const cases = [
    [url('/good.json', '127.0.0.1'), /no address this server may connect to/],
    [url('/good.json', '[::ffff:127.0.0.1]'), /no address this server may connect to/],
    [url('/good.json', '[::1]'), /no address this server may connect to/],
    ['https://10.255.255.1/client.json', /no address this server may connect to/],
    ['https://169.254.169.254/latest/meta-data.json', /no address this server may connect to/],
    [url('/good.json').replace('https:', 'http:'), /must use https/],
    [url('/mismatch.json'), /client_id is not the URL/],
    [url('/secret.json'), /client secret/],
    [url('/big.json'), /exceeds 5120 bytes/],
    [url('/redirect.json'), /HTTP 302 \(redirects are not followed\)/],
    [url('/missing.json'), /HTTP 404/],
    [url('/slow.json'), /did not answer within 5 s/],
  ];
  const before = hits.get('/good.json');
  for (const [clientId, expected] of cases) {
    const r = await request(authorize(clientId));
    assert.equal(r.status, 400, `${clientId}: ${r.status} ${r.body}`);
    assert.equal(r.headers.location, undefined);
    const e = JSON.parse(r.body);
    assert.equal(e.error, 'invalid_client', clientId);
    assert.match(e.error_description, expected, clientId);
  }
  assert.equal(hits.get('/good.json'), before, 'no refused address reached the document server');
  const m = await (await fetch(`${srv.base}/metrics`)).text();
  assert.match(m, /oauth_cimd_fetch_total\{result="success"\} 1/);
  assert.match(m, /oauth_cimd_fetch_total\{result="invalid"\} 2/);
});
