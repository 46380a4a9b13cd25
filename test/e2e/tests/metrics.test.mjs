// Prometheus /metrics (issue 5): after real tool calls over Streamable HTTP (a success, a
// failure, pod logs, exec and a port-forward), the exposition served on the HTTP port and on
// --metrics-addr parses with a real Prometheus parser and passes `promtool check metrics`
// (test/promlint: client_golang's promlint over expfmt's text parser, pinned to what
// promtool v0.316.0 uses, run with --strict), and carries the original server's metric names
// with sensible labels and values.
//
// The checker is $PROMLINT_BIN (scripts/test.sh builds it with test/promlint/build.sh in its
// cluster-bins phase); without it this test runs that script itself (cached, instant when warm).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serverBin, clusterEnv, repoRoot, ok, fails, freshNamespace, dropNamespace, freePort } from '../lib/harness.mjs';
import { createWorkload } from './pods_fixture.mjs';

let proc;
let base;
let metricsBase;
let stderr = '';
let ns;
let checker;

async function waitOk(url) {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(url)).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer: ${stderr}`);
}

function findChecker() {
  if (process.env.PROMLINT_BIN) return process.env.PROMLINT_BIN;
  return execFileSync(path.join(repoRoot, 'test/promlint/build.sh'), {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600000,
  }).trim();
}

// Runs the exposition through the checker: { status, problems (stderr) }.
function promtoolCheck(text, args = ['--strict']) {
  const r = spawnSync(checker, args, { input: text, encoding: 'utf8', timeout: 60000 });
  if (r.error) throw r.error;
  return { status: r.status, problems: r.stderr };
}

// Minimal reader of the text format for assertions: name -> [{ labels, value }], plus types.
function parseExposition(text) {
  const samples = new Map();
  const types = new Map();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const t = line.match(/^# TYPE (\S+) (\S+)$/);
    if (t) { types.set(t[1], t[2]); continue; }
    if (line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    assert.ok(m, `unreadable sample line: ${line}`);
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    if (!samples.has(m[1])) samples.set(m[1], []);
    samples.get(m[1]).push({ labels, value: Number(m[3]) });
  }
  return { samples, types };
}

const find = (series, labels) => series.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const sum = (series) => series.reduce((a, s) => a + s.value, 0);

async function scrape(url) {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return r.text();
}

before(async () => {
  checker = findChecker();
  ns = freshNamespace('metrics');
  createWorkload(ns);
  const [port, mport] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  metricsBase = `http://127.0.0.1:${mport}`;
  proc = spawn(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`,
    '--metrics-addr', `127.0.0.1:${mport}`, '--non-destructive=false'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: clusterEnv().KUBECONFIG },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr.on('data', (d) => { stderr += d; });
  await waitOk(`${base}/healthz`);
  await waitOk(`${metricsBase}/metrics`);
});

after(async () => {
  if (proc && proc.exitCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  if (ns) dropNamespace(ns);
});

test('the checker itself: accepts a clean exposition, rejects a broken one and lint problems', () => {
  const clean = '# HELP x_total X.\n# TYPE x_total counter\nx_total{a="1"} 1\n';
  assert.equal(promtoolCheck(clean).status, 0);
  const broken = promtoolCheck('x_total{a="1} 1\n');
  assert.equal(broken.status, 1, broken.problems);
  assert.match(broken.problems, /error while linting: text format parsing error/);
  const lint = promtoolCheck('# TYPE x counter\nx 1\n');
  assert.equal(lint.status, 3);
  assert.match(lint.problems, /^x counter metrics should have "_total" suffix$/m);
  assert.match(lint.problems, /^x no help text$/m);
  const dup = promtoolCheck('# HELP x_total X.\n# TYPE x_total counter\nx_total{a="1"} 1\nx_total{a="1"} 2\n');
  assert.equal(dup.status, 3);
  assert.match(dup.problems, /^x_total duplicate series \{a="1"\}$/m);
});

test('after real tool calls, /metrics passes promtool check metrics and has the original names', async () => {
  const client = new Client({ name: 'e2e-metrics', version: '1' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`));
  await client.connect(transport);
  let pf;
  try {
    await ok(client, 'k8s_list_resources', { resourceType: 'namespaces' });
    await ok(client, 'k8s_list_resources', { resourceType: 'pods', namespace: ns });
    await fails(client, 'k8s_get_resource', { resourceType: 'pods', namespace: ns, name: 'does-not-exist' });
    await ok(client, 'k8s_get_pod_logs', { namespace: ns, name: 'app' });
    await ok(client, 'k8s_exec_pod', { namespace: ns, name: 'app', command: ['sh', '-c', 'echo hi'] });
    await fails(client, 'k8s_get_pod_logs', { namespace: ns, name: 'no-such-pod' });
    pf = (await ok(client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 })).data;
    assert.ok(pf.id, JSON.stringify(pf));

    // Both listeners serve the same registry; each must pass the checker on its own.
    for (const url of [`${base}/metrics`, `${metricsBase}/metrics`]) {
      const text = await scrape(url);
      const { status, problems } = promtoolCheck(text);
      assert.equal(status, 0, `promtool check metrics on ${url} (exit ${status}):\n${problems}\n--- exposition:\n${text}`);
      // The same, as promtool would run it (no --strict), with the cardinality table.
      const ext = spawnSync(checker, ['--extended'], { input: text, encoding: 'utf8' });
      assert.equal(ext.status, 0, ext.stderr);
      assert.match(ext.stdout, /^Metric\s+Cardinality\s+Percentage/);
    }

    const text = await scrape(`${metricsBase}/metrics`);
    const { samples, types } = parseExposition(text);
    const expectType = {
      http_requests_total: 'counter',
      http_request_duration_seconds: 'histogram',
      mcp_kubernetes_operations_total: 'counter',
      mcp_kubernetes_operation_duration_seconds: 'histogram',
      kubernetes_pod_operations_total: 'counter',
      active_port_forward_sessions: 'gauge',
    };
    for (const [name, type] of Object.entries(expectType)) assert.equal(types.get(name), type, `# TYPE of ${name}`);

    // HTTP: method, path (the MCP endpoint, not raw URLs) and status code.
    const http = samples.get('http_requests_total');
    assert.ok(sum(find(http, { method: 'POST', path: '/mcp', status: '200' })) >= 7, JSON.stringify(http));
    for (const s of http) {
      assert.match(s.labels.method, /^[A-Z]+$/);
      assert.match(s.labels.status, /^[1-5][0-9][0-9]$/);
      assert.ok(s.labels.path.startsWith('/'), s.labels.path);
    }
    const httpCount = find(samples.get('http_request_duration_seconds_count'), { method: 'POST', path: '/mcp' });
    assert.ok(sum(httpCount) >= 7, JSON.stringify(httpCount));
    assert.ok(find(samples.get('http_request_duration_seconds_bucket'), { le: '+Inf' }).length > 0);

    // Tool calls: tool and status.
    const ops = samples.get('mcp_kubernetes_operations_total');
    assert.equal(sum(find(ops, { tool: 'k8s_list_resources', status: 'success' })), 2, JSON.stringify(ops));
    assert.equal(sum(find(ops, { tool: 'k8s_get_resource', status: 'error' })), 1);
    assert.equal(sum(find(ops, { tool: 'k8s_exec_pod', status: 'success' })), 1);
    assert.equal(sum(find(ops, { tool: 'k8s_get_pod_logs', status: 'success' })), 1);
    assert.equal(sum(find(ops, { tool: 'k8s_get_pod_logs', status: 'error' })), 1);
    for (const s of ops) assert.match(s.labels.status, /^(success|error|cancelled)$/);
    const opCount = find(samples.get('mcp_kubernetes_operation_duration_seconds_count'), { tool: 'k8s_list_resources' });
    assert.equal(sum(opCount), 2);

    // Pod operations: operation and status.
    const pods = samples.get('kubernetes_pod_operations_total');
    assert.equal(sum(find(pods, { operation: 'logs', status: 'success' })), 1, JSON.stringify(pods));
    assert.equal(sum(find(pods, { operation: 'logs', status: 'error' })), 1);
    assert.equal(sum(find(pods, { operation: 'exec', status: 'success' })), 1);
    assert.equal(sum(find(pods, { operation: 'port-forward', status: 'success' })), 1);

    // One forward open now.
    assert.deepEqual(samples.get('active_port_forward_sessions'), [{ labels: {}, value: 1 }]);
    await ok(client, 'k8s_stop_port_forward_session', { id: pf.id });
    pf = undefined;
    const after = parseExposition(await scrape(`${base}/metrics`));
    assert.deepEqual(after.samples.get('active_port_forward_sessions'), [{ labels: {}, value: 0 }]);
    const last = promtoolCheck(await scrape(`${base}/metrics`));
    assert.equal(last.status, 0, last.problems);
  } finally {
    if (pf) await client.callTool({ name: 'k8s_stop_all_port_forward_sessions', arguments: {} }).catch(() => {});
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
});
