// Contexts against a two-cluster harness (up.sh --clusters 2: contexts c0 and c1): listing
// without credentials, per-session switching, a per-call `context`, the kubeconfig file left
// untouched, and two server processes that do not affect each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { startServer, ok, fails, kubectl, clusterEnv, assertNamesMatchKubectl, serverBin } from '../lib/harness.mjs';

const env = clusterEnv();
let srv;
let kubeconfigBefore;
let onlyInC1;

before(async () => {
  assert.ok(Number(env.HARNESS_CLUSTERS) >= 2,
    'core_contexts needs a harness started with --clusters 2 (HARNESS_RUN points at it)');
  kubeconfigBefore = readFileSync(env.KUBECONFIG);
  onlyInC1 = `ctx-c1-${process.pid}-${Date.now().toString(36)}`;
  kubectl(['--context', 'c1', 'create', 'namespace', onlyInC1]);
  srv = await startServer();
});

after(async () => {
  await srv?.close();
  kubectl(['--context', 'c1', 'delete', 'namespace', onlyInC1, '--wait=false', '--ignore-not-found'],
    { allowFail: true });
});

// Every credential-looking value of the kubeconfig: none may appear in tool output.
function secretsOfKubeconfig() {
  const text = readFileSync(env.KUBECONFIG, 'utf8');
  const out = new Set([env.ADMIN_TOKEN, env.VIEWER_TOKEN].filter(Boolean));
  for (const m of text.matchAll(/(?:-data|token|password):\s*"?([^\s",}]+)/g)) out.add(m[1]);
  for (const f of [env.ADMIN_KEY, env.ADMIN_CERT]) {
    const pem = readFileSync(f, 'utf8');
    for (const line of pem.split('\n')) if (line.length > 40) out.add(line);
  }
  return [...out].filter((s) => s.length >= 8);
}

function assertNoCredentials(output) {
  const s = typeof output === 'string' ? output : JSON.stringify(output);
  assert.doesNotMatch(s, /BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)/);
  assert.doesNotMatch(s, /client-(key|certificate)|certificate-authority-data|"token"|password/i);
  for (const secret of secretsOfKubeconfig()) assert.ok(!s.includes(secret), 'a credential leaked into the output');
}

async function namespaceVisible(client, name, extra = {}) {
  const r = await client.callTool({ name: 'k8s_get_resource', arguments: { resourceType: 'namespaces', name, ...extra } });
  const text = r.content.map((c) => c.text).join('');
  if (r.isError) {
    assert.match(text, /^NotFound: /, text);
    return false;
  }
  return true;
}

test('list contexts marks the current one and shows no credentials', async () => {
  const { data, text } = await ok(srv.client, 'k8s_list_contexts');
  const names = data.contexts.map((c) => c.name);
  assert.deepEqual(names, ['c0', 'c1']);
  assert.equal(data.current, 'c0');
  assert.equal(data.contexts.filter((c) => c.current).length, 1);
  assert.equal(data.contexts.find((c) => c.current).name, 'c0');
  assert.equal(data.contexts.find((c) => c.name === 'c1').server, env.APISERVER_URL_C1);
  assert.match(text, /^\* c0 /m);
  assert.match(text, /^ {2}c1 /m);
  assertNoCredentials(text);
  assertNoCredentials(data);
  const cur = await ok(srv.client, 'k8s_get_current_context');
  assert.equal(cur.data.name, 'c0');
  assertNoCredentials(cur.text + JSON.stringify(cur.data));
});

test('switching context changes what later calls see; the kubeconfig file is untouched', async () => {
  assert.equal(await namespaceVisible(srv.client, onlyInC1), false, 'c0 has no such namespace');
  const sw = await ok(srv.client, 'k8s_switch_context', { name: 'c1' });
  assert.equal(sw.data.previous, 'c0');
  assert.equal(sw.data.current, 'c1');
  assert.equal(await namespaceVisible(srv.client, onlyInC1), true, 'visible after switching to c1');
  assert.equal((await ok(srv.client, 'k8s_get_current_context')).data.name, 'c1');
  const listed = await ok(srv.client, 'k8s_list_contexts');
  assert.equal(listed.data.current, 'c1');
  assert.match(listed.text, /^\* c1 /m);

  // A per-call context overrides the session's without changing it.
  assert.equal(await namespaceVisible(srv.client, onlyInC1, { context: 'c0' }), false);
  const rows = await ok(srv.client, 'k8s_list_resources', { resourceType: 'namespaces', context: 'c0' });
  assert.ok(!rows.text.includes(onlyInC1));
  assert.equal((await ok(srv.client, 'k8s_get_current_context')).data.name, 'c1');

  assert.deepEqual(readFileSync(env.KUBECONFIG), kubeconfigBefore, 'kubeconfig must be byte-identical');
  assert.match(kubectl(['config', 'current-context']), /^c0\s*$/, 'kubectl still sees c0 as current');

  await ok(srv.client, 'k8s_switch_context', { name: 'c0' });
  assert.equal(await namespaceVisible(srv.client, onlyInC1), false);
  assert.deepEqual(readFileSync(env.KUBECONFIG), kubeconfigBefore);
});

test('per-call context on a fresh session sees the other cluster', async () => {
  assert.equal(await namespaceVisible(srv.client, onlyInC1, { context: 'c1' }), true);
  const names = await assertNamesMatchKubectl(async () => {
    const { data } = await ok(srv.client, 'k8s_list_resources', { resourceType: 'ns', context: 'c1' });
    return data.rows.map((r) => r[data.columns.indexOf('NAME')]);
  }, ['--context', 'c1', 'get', 'namespaces']);
  assert.ok(names.includes(onlyInC1));
});

test('unknown context is a clear error', async () => {
  const sw = await fails(srv.client, 'k8s_switch_context', { name: 'nope' });
  assert.match(sw, /^NotFound: context "nope" not found/);
  assert.match(sw, /c0, c1/, 'lists what is available');
  const call = await fails(srv.client, 'k8s_list_resources', { resourceType: 'pods', context: 'nope' });
  assert.match(call, /context "nope" not found/);
  assert.equal((await ok(srv.client, 'k8s_get_current_context')).data.name, 'c0', 'a failed switch changes nothing');
});

test('two server processes keep their own context', async () => {
  const a = await startServer();
  const b = await startServer();
  try {
    await ok(a.client, 'k8s_switch_context', { name: 'c1' });
    // Interleaved calls on both sessions.
    const [va, vb, ca, cb] = await Promise.all([
      namespaceVisible(a.client, onlyInC1),
      namespaceVisible(b.client, onlyInC1),
      ok(a.client, 'k8s_get_current_context'),
      ok(b.client, 'k8s_get_current_context'),
    ]);
    assert.equal(va, true);
    assert.equal(vb, false);
    assert.equal(ca.data.name, 'c1');
    assert.equal(cb.data.name, 'c0');
    await ok(b.client, 'k8s_switch_context', { name: 'c1' });
    await ok(a.client, 'k8s_switch_context', { name: 'c0' });
    assert.equal(await namespaceVisible(a.client, onlyInC1), false);
    assert.equal(await namespaceVisible(b.client, onlyInC1), true);
  } finally {
    await a.close();
    await b.close();
  }
  assert.deepEqual(readFileSync(env.KUBECONFIG), kubeconfigBefore);
});

// The kubeconfig is parsed in the background while `initialize` is answered: its errors must
// still reach the user, as a tool error on stdio and as a refusal to start over HTTP.
test('a missing kubeconfig or unknown --context: stdio answers every call with the reason', async () => {
  const missing = `/nonexistent/${process.pid}/kubeconfig`;
  const s = await startServer([], { kubeconfig: missing });
  try {
    const t = await fails(s.client, 'k8s_list_resources', { resourceType: 'pods' });
    assert.match(t, /no kubeconfig found \(looked at: [^)]*nonexistent/);
    assert.match(await fails(s.client, 'k8s_get_current_context'), /no kubeconfig found/);
    assert.match(s.stderr(), /no kubeconfig found/, 'logged once on stderr too');
  } finally {
    await s.close();
  }
  const u = await startServer(['--context', 'no-such-context']);
  try {
    assert.match(await fails(u.client, 'k8s_get_resource', { resourceType: 'namespaces', name: 'default' }),
      /context "no-such-context" not found in kubeconfig/);
  } finally {
    await u.close();
  }
});

test('over HTTP a broken kubeconfig stops the server before it listens', () => {
  const r = spawnSync(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', '127.0.0.1:0', '--context', 'no-such-context'],
    { env: { PATH: process.env.PATH, HOME: '/nonexistent', KUBECONFIG: env.KUBECONFIG }, encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
  assert.match(r.stderr, /context "no-such-context" not found in kubeconfig/);
});
