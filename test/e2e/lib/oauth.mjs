// OAuth e2e helpers: the server started with --enable-oauth against the test ground's Dex, the
// TypeScript SDK's own OAuth client (OAuthClientProvider + auth()), and Dex's login form
// driven headlessly over HTTP (no browser).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { serverBin, clusterEnv, waitHealthy } from './harness.mjs';

export const REGISTRATION_TOKEN = 'e2e-registration-token';

// Dex's static client mcp-kubernetes accepts callbacks on these ports only (test/cluster/up.sh).
async function dexCallbackPort() {
  for (let p = 16780; p <= 16789; p++) {
    const free = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return p;
  }
  throw new Error('no free port in 16780..16789 (the Dex client redirect URIs)');
}

export async function startOAuthServer(extra = [], extraEnv = {}, { baseUrl } = {}) {
  const env = clusterEnv();
  assert.ok(env.DEX_MCP_CLIENT_ID, `the test ground at ${process.env.HARNESS_RUN} has no Dex client for this server: ` +
    'start it with test/cluster/up.sh --dex (this branch)');
  const port = await dexCallbackPort();
  const base = `http://127.0.0.1:${port}`;
  const issuer = baseUrl || base;  // replicas behind one address share it
  const dir = mkdtempSync(path.join(tmpdir(), 'oauth-e2e-'));
  writeFileSync(path.join(dir, 'dex-secret'), env.DEX_MCP_CLIENT_SECRET + '\n');
  writeFileSync(path.join(dir, 'reg-token'), REGISTRATION_TOKEN);
  const args = ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`,
    '--enable-oauth', '--oauth-base-url', issuer, '--dex-issuer-url', env.DEX_ISSUER,
    '--dex-client-id', env.DEX_MCP_CLIENT_ID, '--dex-ca-file', env.DEX_CA_FILE,
    '--dex-k8s-authenticator-client-id', env.DEX_CLIENT_ID, ...extra];
  // The secret files, unless the caller names its own (a flag may be given once).
  if (!extra.includes('--dex-client-secret-file')) args.push('--dex-client-secret-file', path.join(dir, 'dex-secret'));
  if (!extra.includes('--registration-token-file')) args.push('--registration-token-file', path.join(dir, 'reg-token'));
  // No Dex variables from the environment: the flags above are what is tested.
  const proc = spawn(serverBin, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: env.KUBECONFIG, ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  await waitHealthy(`${base}/healthz`, () => stderr);
  return {
    base, env, proc, stderr: () => stderr,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

// One HTTP(S) request without following redirects; Dex's CA trusted.
export function request(url, { method = 'GET', headers = {}, body } = {}) {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  const ca = u.protocol === 'https:' ? readFileSync(clusterEnv().DEX_CA_FILE) : undefined;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, { method, headers, ca, timeout: 20000 }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    if (body) req.write(body);
    req.end();
  });
}

const unescape = (s) => s.replace(/&amp;/g, '&').replace(/&#43;/g, '+').replace(/&#34;/g, '"').replace(/&#39;/g, "'")
  .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>');

// A browser's cookies, per host (as browsers keep them: not per port, so replicas on one host
// see each other's cookies; enough for our cookies and Dex's: Path=/, no Domain).
export class CookieJar {
  constructor() { this.byHost = new Map(); }
  _host(url) {
    const h = new URL(url).hostname;
    if (!this.byHost.has(h)) this.byHost.set(h, new Map());
    return this.byHost.get(h);
  }
  header(url) {
    const m = this._host(url);
    return m.size ? [...m].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }
  store(url, setCookie) {
    const m = this._host(url);
    for (const c of [setCookie ?? []].flat()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) m.delete(name);
      else m.set(name, pair.slice(eq + 1).trim());
    }
  }
  get(url, name) { return this._host(url).get(name); }
  set(url, name, value) { this._host(url).set(name, value); }
  names(url) { return [...this._host(url).keys()]; }
}

// Our consent page (the MCP server's, before Dex): its form action and CSRF token, or null.
export function consentForm(body, pageUrl) {
  const token = body.match(/name="csrf_token" value="([^"]*)"/);
  const action = body.match(/<form[^>]*action="([^"]*)"/);
  if (!token || !action) return null;
  return { csrf: unescape(token[1]), action: new URL(unescape(action[1]), pageUrl).toString() };
}

// Answers a consent page as the browser holding `jar`.
export async function answerConsent(form, decision, jar) {
  const body = new URLSearchParams({ csrf_token: form.csrf, decision }).toString();
  const headers = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) };
  const cookie = jar?.header(form.action);
  if (cookie) headers.cookie = cookie;
  const r = await request(form.action, { method: 'POST', body, headers });
  jar?.store(form.action, r.headers['set-cookie']);
  return r;
}

// From our /oauth/authorize URL through our consent page (answered with `consent`: approve or
// deny) and Dex's password login to the client's redirect URI: returns that final URL (with
// code/state/iss, or error). `jar` is the browser's cookies (a fresh one by default: no
// consent remembered); `seen` collects the consent pages met.
export async function dexLogin(authorizeUrl, email, password = 'password', stopAt = 'http://127.0.0.1:1/',
  { jar = new CookieJar(), consent = 'approve', seen = [] } = {}) {
  let url = String(authorizeUrl);
  const get = async (u) => {
    const cookie = jar.header(u);
    const r = await request(u, { headers: cookie ? { cookie } : {} });
    jar.store(u, r.headers['set-cookie']);
    return r;
  };
  for (let hop = 0; hop < 15; hop++) {
    if (url.startsWith(stopAt)) return new URL(url);
    const r = await get(url);
    if (r.status >= 300 && r.status < 400) {
      url = new URL(r.headers.location, url).toString();
      continue;
    }
    const ours = r.status === 200 ? consentForm(r.body, url) : null;
    if (ours) {
      seen.push({ url, headers: r.headers, body: r.body, form: ours });
      const p = await answerConsent(ours, consent, jar);
      assert.equal(p.status, 303, `consent answer: ${p.status} ${p.body.slice(0, 300)}`);
      url = new URL(p.headers.location, ours.action).toString();
      continue;
    }
    if (r.status === 200 && /name="password"/.test(r.body)) {
      const m = r.body.match(/<form[^>]*action="([^"]*)"/);
      const action = new URL(m ? unescape(m[1]) : url, url).toString();
      const form = new URLSearchParams({ login: email, password }).toString();
      const p = await request(action, {
        method: 'POST', body: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
      });
      assert.ok(p.status >= 300 && p.status < 400, `Dex login answered ${p.status}: ${p.body.slice(0, 300)}`);
      url = new URL(p.headers.location, action).toString();
      continue;
    }
    if (r.status === 200 && /name="approval"/.test(r.body)) {  // Dex's consent page (prompt=consent)
      const m = r.body.match(/<form[^>]*action="([^"]*)"/);
      const action = new URL(m ? unescape(m[1]) : url, url).toString();
      const req = r.body.match(/name="req" value="([^"]*)"/);
      const form = new URLSearchParams({ req: req ? unescape(req[1]) : '', approval: 'approve' }).toString();
      const p = await request(action, {
        method: 'POST', body: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
      });
      assert.ok(p.status >= 300 && p.status < 400, `Dex approval answered ${p.status}: ${p.body.slice(0, 300)}`);
      url = new URL(p.headers.location, action).toString();
      continue;
    }
    throw new Error(`unexpected answer ${r.status} at ${url}: ${r.body.slice(0, 300)}`);
  }
  throw new Error('too many redirects');
}

// The SDK's OAuthClientProvider, in memory. The redirect URI is never listened on: dexLogin
// stops there and hands the code to the SDK (transport.finishAuth).
export class MemoryProvider {
  constructor(redirect = 'http://127.0.0.1:1/callback') {
    this._redirect = redirect;
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this.authorizationUrl = undefined;
  }
  get redirectUrl() { return this._redirect; }
  get clientMetadata() {
    return { client_name: 'e2e', redirect_uris: [this._redirect], grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  state() { return 'e2e-state-' + Math.random().toString(36).slice(2); }
  clientInformation() { return this._client; }
  saveClientInformation(c) { this._client = c; }
  tokens() { return this._tokens; }
  saveTokens(t) { this._tokens = t; }
  redirectToAuthorization(url) { this.authorizationUrl = url; }
  saveCodeVerifier(v) { this._verifier = v; }
  codeVerifier() { return this._verifier; }
}

// fetch that presents the registration token to /oauth/register (the SDK's registration has
// no such option; a deployment's client would be pre-registered or use public registration).
export const registeringFetch = (input, init = {}) => {
  const url = String(input instanceof Request ? input.url : input);
  if (url.endsWith('/oauth/register')) {
    const headers = new Headers(init.headers || {});
    headers.set('authorization', `Bearer ${REGISTRATION_TOKEN}`);
    init = { ...init, headers };
  }
  return fetch(input, init);
};

// Signs `email` in with the SDK's OAuth support; returns a connected client and its provider.
export async function signIn(base, email) {
  const provider = new MemoryProvider();
  const url = new URL(`${base}/mcp`);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: registeringFetch });
  const c0 = new Client({ name: 'e2e-oauth', version: '1' }, { capabilities: {} });
  await assert.rejects(c0.connect(first), UnauthorizedError);
  assert.ok(provider.authorizationUrl, 'the SDK asked for a browser sign-in');
  const seen = [];
  const back = await dexLogin(provider.authorizationUrl, email, 'password', undefined, { seen });
  assert.equal(seen.length, 1, 'our consent page was shown (a new client, a fresh browser)');
  assert.match(seen[0].body, /<strong id="client-name">e2e<\/strong>/);
  assert.equal(back.searchParams.get('error'), null, `sign-in failed: ${back}`);
  assert.equal(back.searchParams.get('iss'), base);
  await first.finishAuth(back.searchParams.get('code'));
  const transport = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: registeringFetch });
  const client = new Client({ name: 'e2e-oauth', version: '1' }, { capabilities: {} });
  await client.connect(transport);
  return { client, transport, provider };
}

export function text(r) { return r.content?.map((c) => c.text ?? '').join('') ?? ''; }
