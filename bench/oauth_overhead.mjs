// Token validation cost per MCP request: the same tools/list on one session, N times in a row,
// against a server with --enable-oauth (a valid access token) and one without; prints the
// mean per request of each and the difference. Usage (from test/e2e, test ground with Dex):
//   HARNESS_RUN=/dev/shm/h-oauth MCPK_BIN=.../mcp-kubernetes node ../../bench/oauth_overhead.mjs [N]
import { spawn } from 'node:child_process';
import { startOAuthServer, dexLogin } from '../test/e2e/lib/oauth.mjs';
import { serverBin, clusterEnv, freePort, waitHealthy } from '../test/e2e/lib/harness.mjs';
import { createHash, randomBytes } from 'node:crypto';

const N = Number(process.argv[2] || 2000);
const b64url = (b) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const headers = (token, sid) => ({ 'content-type': 'application/json', accept: 'application/json, text/event-stream',
  ...(token ? { authorization: `Bearer ${token}` } : {}), ...(sid ? { 'mcp-session-id': sid } : {}) });

async function measure(base, token) {
  const init = await fetch(`${base}/mcp`, { method: 'POST', headers: headers(token), body: JSON.stringify({
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }) });
  const sid = init.headers.get('mcp-session-id');
  await init.text();
  const body = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
  for (let i = 0; i < 200; i++) await (await fetch(`${base}/mcp`, { method: 'POST', headers: headers(token, sid), body })).text();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const r = await fetch(`${base}/mcp`, { method: 'POST', headers: headers(token, sid), body });
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    await r.text();
  }
  return Number(process.hrtime.bigint() - t0) / 1e6 / N;  // ms per request
}

// The per-user limit stays on (its cost is measured) but far above what one loop sends.
const oauth = await startOAuthServer(['--oauth-user-rate-limit', '1000000', '--oauth-user-rate-burst', '1000000']);
const reg = await (await fetch(`${oauth.base}/oauth/register`, { method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer e2e-registration-token' },
  body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:1/cb'], token_endpoint_auth_method: 'none' }) })).json();
const verifier = b64url(randomBytes(32));
const q = new URLSearchParams({ response_type: 'code', client_id: reg.client_id, redirect_uri: 'http://127.0.0.1:1/cb',
  state: 's', code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256' });
const back = await dexLogin(`${oauth.base}/oauth/authorize?${q}`, 'viewer@example.com', 'password', 'http://127.0.0.1:1/cb');
const tok = await (await fetch(`${oauth.base}/oauth/token`, { method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code'), client_id: reg.client_id,
    redirect_uri: 'http://127.0.0.1:1/cb', code_verifier: verifier }) })).json();

const port = await freePort();
const plain = spawn(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`],
  { env: { PATH: process.env.PATH, KUBECONFIG: clusterEnv().KUBECONFIG }, stdio: 'ignore' });
await waitHealthy(`http://127.0.0.1:${port}/healthz`);
const results = [];
for (let round = 0; round < 3; round++) {
  results.push([await measure(`http://127.0.0.1:${port}`), await measure(oauth.base, tok.access_token)]);
}
plain.kill('SIGTERM');
await oauth.stop();
for (const [a, b] of results)
  console.log(`without OAuth ${a.toFixed(4)} ms/request, with OAuth ${b.toFixed(4)} ms/request, difference ${(b - a).toFixed(4)} ms, ratio ${(b / a).toFixed(3)}`);
