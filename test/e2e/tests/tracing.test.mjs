// OpenTelemetry traces (issue 15) against a real collector: Jaeger v2 (test/tracing/build.sh,
// built from Go modules and cached; $JAEGER_BIN overrides) receiving OTLP/HTTP JSON from the
// server, read back through Jaeger's query API. Checks the parent taken from the HTTP
// `traceparent` header and from MCP `params._meta`, the span names, the attributes, the
// Kubernetes API child spans, that a malformed traceparent is not trusted, and that a dead or
// stuck collector neither fails calls nor keeps spans: they are dropped and counted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { serverBin, clusterEnv, repoRoot, kubectl, freshNamespace, dropNamespace, freePort } from '../lib/harness.mjs';
import { createWorkload } from './pods_fixture.mjs';

const service = `mcpk-e2e-${process.pid}`;
let jaeger;
let jaegerLog = '';
let queryBase;
let otlpPort;
let ns;
const servers = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function jaegerBin() {
  if (process.env.JAEGER_BIN) return process.env.JAEGER_BIN;
  return execFileSync(path.join(repoRoot, 'test/tracing/build.sh'), {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 3600000,
  }).trim();
}

async function waitOk(url, logs) {
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(url)).ok) return; } catch {}
    await sleep(100);
  }
  throw new Error(`${url} did not answer: ${logs()}`);
}

// Starts the server over Streamable HTTP with `env` added; returns { base, stderr() }.
async function startServer(env, args = []) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let stderr = '';
  const proc = spawn(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: clusterEnv().KUBECONFIG, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr.on('data', (d) => { stderr += d; });
  servers.push(proc);
  await waitOk(`${base}/healthz`, () => stderr);
  return { base, stderr: () => stderr };
}

// A minimal MCP client over fetch, so each POST's headers are ours to choose.
async function session(base) {
  const post = async (body, headers = {}, sid) => {
    const r = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
        ...(sid ? { 'Mcp-Session-Id': sid } : {}), ...headers },
      body: JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, sid: r.headers.get('mcp-session-id'), body: text ? JSON.parse(text) : null };
  };
  const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'e2e-tracing', version: '1' } } });
  assert.equal(init.status, 200, JSON.stringify(init.body));
  const sid = init.sid;
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, {}, sid);
  return {
    sid,
    async call(id, name, args, { headers = {}, meta } = {}) {
      const params = { name, arguments: args, ...(meta ? { _meta: meta } : {}) };
      const r = await post({ jsonrpc: '2.0', id, method: 'tools/call', params }, headers, sid);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.result;
    },
    async request(id, method, params, headers = {}) {
      const r = await post({ jsonrpc: '2.0', id, method, params }, headers, sid);
      return r.body;
    },
  };
}

const hex = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const tag = (span, key) => span.tags.find((t) => t.key === key)?.value;
const childOf = (span) => span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

// Polls Jaeger until the trace holds the call's server span and spans matching `ready`. Export
// is batched and async: a client span and its parent server span can land in different
// batches, so a test never reads one without waiting for the other.
async function readTrace(traceId, ready, { needCall = true } = {}) {
  let last;
  for (let i = 0; i < 300; i++) {
    const r = await fetch(`${queryBase}/api/traces/${traceId}`);
    if (r.ok) {
      last = await r.json();
      const t = last.data?.[0];
      if (t && (!needCall || t.spans.some((x) => x.operationName.startsWith('tools/call '))) && ready(t.spans)) return t;
    }
    await sleep(100);
  }
  throw new Error(`trace ${traceId} incomplete in Jaeger: ${JSON.stringify(last)?.slice(0, 2000)}\n${jaegerLog}`);
}

async function searchByTag(key, value) {
  const tags = encodeURIComponent(JSON.stringify({ [key]: value }));
  for (let i = 0; i < 300; i++) {
    const r = await fetch(`${queryBase}/api/traces?service=${service}&tags=${tags}&limit=5&lookback=1h`);
    if (r.ok) {
      const j = await r.json();
      if (j.data?.length) return j.data;
    }
    await sleep(100);
  }
  throw new Error(`no trace with ${key}=${value}`);
}

function metric(text, name, labels = {}) {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

before(async () => {
  const bin = jaegerBin();
  const [q, g] = [await freePort(), await freePort()];
  otlpPort = await freePort();
  queryBase = `http://127.0.0.1:${q}`;
  jaeger = spawn(bin, ['--config', path.join(repoRoot, 'test/tracing/jaeger.yaml')], {
    env: { PATH: process.env.PATH, JAEGER_QUERY_HTTP: String(q), JAEGER_QUERY_GRPC: String(g),
      JAEGER_OTLP_HTTP: String(otlpPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  jaeger.stdout.on('data', (d) => { jaegerLog += d; });
  jaeger.stderr.on('data', (d) => { jaegerLog += d; });
  await waitOk(`${queryBase}/api/services`, () => jaegerLog);
  ns = freshNamespace('otel');
  kubectl(['-n', ns, 'create', 'configmap', 'traced', '--from-literal=a=b']);
});

after(async () => {
  for (const p of servers) {
    if (p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
  }
  if (jaeger && jaeger.exitCode === null) jaeger.kill('SIGTERM');
  if (ns) dropNamespace(ns);
});

const tracingEnv = () => ({
  TRACING_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
  OTEL_SERVICE_NAME: service,
  OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=e2e',
  OTEL_TRACES_SAMPLER_ARG: '1.0',
  OTEL_BSP_SCHEDULE_DELAY: '100',
});

test('a tool call continues the caller\'s trace (HTTP traceparent) with API-server child spans', async () => {
  const { base, stderr } = await startServer(tracingEnv(), ['--debug']);
  const s = await session(base);
  const traceId = hex(32);
  const parent = hex(16);
  const r = await s.call('list-1', 'k8s_list_resources', { resourceType: 'configmaps', namespace: ns },
    { headers: { traceparent: `00-${traceId}-${parent}-01`, tracestate: 'e2e=1' } });
  assert.ok(!r.isError, JSON.stringify(r));

  const listTemplate = 'GET /api/v1/namespaces/{namespace}/configmaps';
  const t = await readTrace(traceId, (spans) => spans.some((x) => x.operationName === listTemplate));
  const server = t.spans.find((x) => x.operationName === 'tools/call k8s_list_resources');
  assert.ok(server, `span names: ${t.spans.map((x) => x.operationName)}`);
  assert.equal(childOf(server), parent, 'the server span is a child of the caller\'s span');
  assert.equal(tag(server, 'span.kind'), 'server');
  assert.equal(tag(server, 'mcp.method.name'), 'tools/call');
  assert.equal(tag(server, 'gen_ai.tool.name'), 'k8s_list_resources');
  assert.equal(tag(server, 'gen_ai.operation.name'), 'execute_tool');
  assert.equal(tag(server, 'jsonrpc.request.id'), 'list-1');
  assert.equal(tag(server, 'mcp.session.id'), s.sid.slice(0, 8));
  assert.equal(tag(server, 'mcp.protocol.version'), '2025-11-25');
  assert.equal(tag(server, 'k8s.namespace.name'), ns);
  assert.equal(tag(server, 'mcp.tool.outcome'), 'success');
  assert.equal(tag(server, 'error'), undefined);
  assert.equal(t.processes[server.processID].serviceName, service);
  assert.equal(t.processes[server.processID].tags.find((x) => x.key === 'deployment.environment')?.value, 'e2e');

  // Every Kubernetes API request of the call is a client span under the server span; the
  // list has the templated name and the request's attributes.
  const api = t.spans.filter((x) => childOf(x) === server.spanID);
  assert.ok(api.length >= 1, 'API child spans');
  for (const x of api) {
    assert.equal(tag(x, 'span.kind'), 'client');
    assert.ok(!x.operationName.includes(ns), `span names carry no object names: ${x.operationName}`);
  }
  const list = api.find((x) => x.operationName === listTemplate);
  assert.ok(list, `child span names: ${api.map((x) => x.operationName)}`);
  assert.equal(tag(list, 'http.request.method'), 'GET');
  assert.equal(tag(list, 'http.response.status_code'), 200);
  assert.equal(tag(list, 'k8s.verb'), 'list');
  assert.equal(tag(list, 'k8s.resource'), 'configmaps');
  assert.equal(tag(list, 'k8s.namespace.name'), ns);
  assert.equal(tag(list, 'url.path'), `/api/v1/namespaces/${ns}/configmaps`);
  assert.equal(tag(list, 'k8s.cluster.name'), tag(server, 'k8s.cluster.name'));
  assert.ok(tag(list, 'k8s.cluster.name'), 'the context is recorded');
  // The call's log line (--debug) names the trace and the server span.
  assert.match(stderr(), new RegExp(
    `audit: tools/call k8s_list_resources success user=local cluster=- context=- namespace="${ns}" name=- trace_id=${traceId} span_id=${server.spanID}`));
});

test('other MCP requests are spans too: tools/list and ping continue the caller\'s trace; unknown methods get one fixed name', async () => {
  const { base } = await startServer(tracingEnv());
  const s = await session(base);
  const traceId = hex(32), parent = hex(16);
  const tp = { traceparent: `00-${traceId}-${parent}-01` };
  assert.ok((await s.request('tl-1', 'tools/list', {}, tp)).result.tools.length > 0);
  assert.ok((await s.request('ping-1', 'ping', {}, tp)).result);
  const bogus = `x/${hex(8)}`;
  assert.equal((await s.request('bogus-1', bogus, {}, tp)).error.code, -32601);
  const t = await readTrace(traceId, (spans) => ['tools/list', 'ping', 'unknown method']
    .every((n) => spans.some((x) => x.operationName === n)), { needCall: false });
  const list = t.spans.find((x) => x.operationName === 'tools/list');
  assert.equal(childOf(list), parent);
  assert.equal(tag(list, 'span.kind'), 'server');
  assert.equal(tag(list, 'mcp.method.name'), 'tools/list');
  assert.equal(tag(list, 'jsonrpc.request.id'), 'tl-1');
  assert.equal(tag(list, 'mcp.session.id'), s.sid.slice(0, 8));
  assert.equal(tag(list, 'error'), undefined);
  const unknown = t.spans.find((x) => x.operationName === 'unknown method');
  assert.equal(tag(unknown, 'mcp.method.name'), bogus);
  assert.equal(tag(unknown, 'error'), true);
  assert.ok(!t.spans.some((x) => x.operationName.includes(bogus)), 'a caller\'s method never names a span');
});

test('a write is audited at info level with its trace id; reads only under --debug', async () => {
  const { base, stderr } = await startServer(tracingEnv(), ['--non-destructive=false']);
  const s = await session(base);
  const traceId = hex(32);
  const name = `audited-${process.pid}`;
  const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { a: '1' } });
  const r = await s.call('create-1', 'k8s_create_resource', { namespace: ns, manifest },
    { headers: { traceparent: `00-${traceId}-${hex(16)}-01` } });
  assert.ok(!r.isError, JSON.stringify(r));
  const g = await s.call('get-2', 'k8s_get_resource', { resourceType: 'configmaps', namespace: ns, name });
  assert.ok(!g.isError, JSON.stringify(g));
  const t = await readTrace(traceId, (spans) => spans.some((x) => x.operationName.startsWith('POST ')));
  const server = t.spans.find((x) => x.operationName === 'tools/call k8s_create_resource');
  assert.match(stderr(), new RegExp(
    `info +audit: tools/call k8s_create_resource success user=local cluster=- context=- namespace="${ns}" name=- trace_id=${traceId} span_id=${server.spanID}`));
  assert.doesNotMatch(stderr(), /audit: tools\/call k8s_get_resource/);
});

test('params._meta.traceparent is the parent; the HTTP header\'s context becomes a link', async () => {
  const { base } = await startServer(tracingEnv());
  const s = await session(base);
  const metaTrace = hex(32), metaSpan = hex(16), httpTrace = hex(32), httpSpan = hex(16);
  const r = await s.call('get-1', 'k8s_get_resource', { resourceType: 'configmaps', namespace: ns, name: 'traced' }, {
    headers: { traceparent: `00-${httpTrace}-${httpSpan}-01` },
    meta: { traceparent: `00-${metaTrace}-${metaSpan}-01` },
  });
  assert.ok(!r.isError, JSON.stringify(r));
  const t = await readTrace(metaTrace, (spans) => spans.some((x) => x.operationName.startsWith('GET ')));
  const server = t.spans.find((x) => x.operationName === 'tools/call k8s_get_resource');
  assert.equal(childOf(server), metaSpan);
  const link = server.references.find((x) => x.refType === 'FOLLOWS_FROM');
  assert.deepEqual({ traceID: link?.traceID, spanID: link?.spanID }, { traceID: httpTrace, spanID: httpSpan });
  const get = t.spans.find((x) => x.operationName === 'GET /api/v1/namespaces/{namespace}/configmaps/{name}');
  assert.ok(get, `span names: ${t.spans.map((x) => x.operationName)}`);
  assert.equal(tag(get, 'k8s.verb'), 'get');
});

// Both OTLP/HTTP encodings reach the real collector with the same content: http/protobuf (the
// default, used by every other test here) and http/json. Ints, bools and strings all decode.
for (const protocol of ['http/protobuf', 'http/json'])
test(`a failed call and a 404 from the API server are error spans (${protocol})`, async () => {
  const { base } = await startServer({ ...tracingEnv(), OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol });
  const s = await session(base);
  const traceId = hex(32);
  const r = await s.call('miss-1', 'k8s_get_resource', { resourceType: 'configmaps', namespace: ns, name: 'absent' },
    { headers: { traceparent: `00-${traceId}-${hex(16)}-01` } });
  assert.ok(r.isError, JSON.stringify(r));
  const t = await readTrace(traceId, (spans) => spans.some((x) => tag(x, 'http.response.status_code') === 404));
  const server = t.spans.find((x) => x.operationName === 'tools/call k8s_get_resource');
  assert.equal(tag(server, 'error'), true);
  assert.equal(tag(server, 'mcp.tool.outcome'), 'error');
  assert.ok(tag(server, 'error.type'), 'error.type set');
  const miss = t.spans.find((x) => tag(x, 'http.response.status_code') === 404);
  assert.equal(tag(miss, 'error'), true);
  assert.equal(tag(miss, 'error.type'), '404');
});

// Streams (a log follow, an exec, a port-forward's upgrade) are client spans under the call like
// any API request, named by the path template, with how each ended. kwok answers them for real
// (test/cluster): exec runs the command on this host.
test('log follow, exec and port-forward are client spans under their call, with their outcome', async () => {
  createWorkload(ns);
  const { base } = await startServer(tracingEnv(), ['--non-destructive=false']);
  const s = await session(base);
  const traced = async (id, tool, args) => {
    const traceId = hex(32), parent = hex(16);
    const r = await s.call(id, tool, args, { headers: { traceparent: `00-${traceId}-${parent}-01` } });
    assert.ok(!r.isError, JSON.stringify(r));
    return { r, traceId };
  };
  const streamSpan = async (traceId, tool, templ) => {
    const t = await readTrace(traceId, (spans) => spans.some((x) => x.operationName === templ));
    const server = t.spans.find((x) => x.operationName === `tools/call ${tool}`);
    const span = t.spans.find((x) => x.operationName === templ);
    assert.equal(childOf(span), server.spanID, 'the stream is a child of the call');
    assert.equal(tag(span, 'span.kind'), 'client');
    assert.equal(tag(span, 'k8s.namespace.name'), ns);
    assert.equal(tag(span, 'k8s.cluster.name'), tag(server, 'k8s.cluster.name'));
    assert.equal(tag(span, 'url.path').replace(/\/[a-z]+$/, ''), `/api/v1/namespaces/${ns}/pods/app`);
    return span;
  };

  const logs = await traced('follow-1', 'k8s_get_pod_logs', { namespace: ns, name: 'app', follow: true, followSeconds: 1 });
  const follow = await streamSpan(logs.traceId, 'k8s_get_pod_logs', 'GET /api/v1/namespaces/{namespace}/pods/{name}/log');
  assert.equal(tag(follow, 'http.response.status_code'), 200);
  const end = logs.r.structuredContent.followEnded.startsWith('followed for') ? 'deadline' : 'finished';
  assert.equal(tag(follow, 'k8s.stream.end'), end);
  assert.ok(tag(follow, 'k8s.stream.bytes_received') >= Buffer.byteLength(logs.r.structuredContent.logs),
    `bytes_received ${tag(follow, 'k8s.stream.bytes_received')} covers the lines returned`);
  assert.equal(tag(follow, 'error'), undefined);

  const ex = await traced('exec-1', 'k8s_exec_pod', { namespace: ns, name: 'app', command: ['sh', '-c', 'echo out; echo e >&2; exit 3'] });
  assert.equal(ex.r.structuredContent.exitCode, 3);
  const exec = await streamSpan(ex.traceId, 'k8s_exec_pod', 'GET /api/v1/namespaces/{namespace}/pods/{name}/exec');
  assert.equal(tag(exec, 'process.exit.code'), 3);
  assert.equal(tag(exec, 'k8s.stream.end'), 'finished');
  assert.equal(tag(exec, 'k8s.exec.stdout_bytes'), 4);
  assert.equal(tag(exec, 'k8s.exec.stderr_bytes'), 2);
  assert.match(tag(exec, 'k8s.exec.protocol'), /^v[45]\.channel\.k8s\.io$/);
  assert.equal(tag(exec, 'error'), undefined, 'a non-zero exit is the command\'s outcome, not a failed request');
  assert.ok(!JSON.stringify(exec.tags).includes('echo out'), 'the command is not recorded');

  const pf = await traced('pf-1', 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 });
  try {
    const fwd = await streamSpan(pf.traceId, 'k8s_port_forward_pod', 'GET /api/v1/namespaces/{namespace}/pods/{name}/portforward');
    assert.equal(tag(fwd, 'k8s.portforward.protocol'), pf.r.structuredContent.protocol);
    assert.equal(tag(fwd, 'k8s.portforward.local_port'), pf.r.structuredContent.localPort);
    assert.equal(tag(fwd, 'http.response.status_code'), 101);
  } finally {
    await s.call('pf-stop', 'k8s_stop_port_forward_session', { id: pf.r.structuredContent.id });
  }
});

test('a malformed traceparent is not trusted: the call starts a trace of its own', async () => {
  const { base } = await startServer(tracingEnv());
  const s = await session(base);
  const bad = hex(32).toUpperCase().replace(/^./, 'A');  // uppercase hex is invalid
  const r = await s.call(`bad-${process.pid}`, 'k8s_list_resources', { resourceType: 'configmaps', namespace: ns },
    { headers: { traceparent: `00-${bad}-${hex(16)}-01` } });
  assert.ok(!r.isError, JSON.stringify(r));
  const traces = await searchByTag('jsonrpc.request.id', `bad-${process.pid}`);
  const server = traces[0].spans.find((x) => x.operationName === 'tools/call k8s_list_resources');
  assert.ok(server);
  assert.notEqual(server.traceID, bad.toLowerCase());
  assert.equal(childOf(server), undefined, 'a root span');
});

// A collector that accepts connections and never answers: exports time out.
async function blackhole() {
  const sockets = [];
  const srv = net.createServer((c) => { sockets.push(c); c.on('error', () => {}); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { port: srv.address().port, close: () => { sockets.forEach((c) => c.destroy()); srv.close(); } };
}

for (const kind of ['stopped', 'stuck']) {
  test(`a ${kind} collector does not fail calls; its spans are dropped and counted`, async () => {
    const hole = kind === 'stuck' ? await blackhole() : null;
    const port = hole ? hole.port : await freePort();  // free = nobody listens
    const { base } = await startServer({
      ...tracingEnv(),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
      OTEL_BSP_MAX_QUEUE_SIZE: '8',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4',
    });
    try {
      const s = await session(base);
      const calls = 30;
      for (let i = 0; i < calls; i++) {
        const r = await s.call(`c${i}`, 'k8s_list_resources', { resourceType: 'configmaps', namespace: ns },
          { headers: { traceparent: `00-${hex(32)}-${hex(16)}-01` } });
        assert.ok(!r.isError, JSON.stringify(r));
      }
      // Each call made at least two spans; with nothing delivered, all but the few still queued
      // or in the export in flight end up dropped.
      let text = '';
      for (let i = 0; i < 300; i++) {
        text = await (await fetch(`${base}/metrics`)).text();
        if (metric(text, 'otel_spans_dropped_total') >= calls) break;
        await sleep(100);
      }
      assert.ok(metric(text, 'otel_spans_dropped_total') >= calls, text);
      assert.equal(metric(text, 'otel_spans_exported_total'), 0);
      const reason = kind === 'stuck' ? 'queue_full' : 'export_failed';
      assert.ok(metric(text, 'otel_spans_dropped_total', { reason }) > 0, text);
    } finally {
      hole?.close();
    }
  });
}

for (const protocol of ['http/protobuf', 'http/json'])
test(`METRICS_EXPORTER=otlp pushes the /metrics registry to the collector (${protocol})`, async () => {
  const metricsService = `${service}-metrics-${protocol.slice(5)}`;
  const { base } = await startServer({
    ...tracingEnv(), METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: '300', OTEL_SERVICE_NAME: metricsService,
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: protocol,
  });
  const logStart = jaegerLog.length;
  const s = await session(base);
  const r = await s.call('m1', 'k8s_list_resources', { resourceType: 'configmaps', namespace: ns });
  assert.ok(!r.isError, JSON.stringify(r));
  // The collector answered 2xx to our pushes (its OTLP receiver refuses a malformed request
  // with a 400), and its debug exporter printed our metrics under our service name.
  const ours = () => jaegerLog.slice(logStart);
  let text = '';
  for (let i = 0; i < 300; i++) {
    text = await (await fetch(`${base}/metrics`)).text();
    if (metric(text, 'otel_metric_exports_total', { outcome: 'success' }) >= 2 &&
        ours().includes(metricsService) && ours().includes('Name: mcp_kubernetes_operations_total')) break;
    await sleep(100);
  }
  assert.ok(metric(text, 'otel_metric_exports_total', { outcome: 'success' }) >= 2, text);
  assert.equal(metric(text, 'otel_metric_exports_total', { outcome: 'failed' }), 0);
  assert.ok(ours().includes(metricsService), 'resource service.name reached the collector');
  for (const name of ['mcp_kubernetes_operations_total', 'mcp_kubernetes_operation_duration_seconds', 'otel_spans_exported_total'])
    assert.ok(ours().includes(`Name: ${name}`), `${name} in the collector's log`);
  // The histogram's shape survived: its type, its first bound and a data point's label.
  assert.match(ours(), /Name: mcp_kubernetes_operation_duration_seconds[\s\S]*?DataType: Histogram/);
  assert.match(ours(), /ExplicitBounds #0: 0\.001000\b/);
  assert.match(ours(), /ExplicitBounds #11: 10\.000000\b/);
  assert.match(ours(), /Buckets #12, Count: \d+/);  // len(bounds) + 1 buckets
  assert.match(ours(), /-> tool: Str\(k8s_list_resources\)/);
});

// What goes on the wire for each setting (Jaeger takes both encodings, so the tests above cannot
// tell them apart): a sink that records each request's path, Content-Type and body.
test('the protocol settings choose the encoding of each signal', async () => {
  const seen = [];
  const sink = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      seen.push({ path: req.url, type: req.headers['content-type'], body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': req.headers['content-type'] }).end();
    });
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const pb = 'application/x-protobuf', js = 'application/json';
  try {
    let n = 0;
    for (const [env, traces, metrics] of [
      [{}, pb, pb],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, js, js],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }, pb, js],
      [{ OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json' }, pb, js],
    ]) {
      // A path of its own per server: the servers of earlier rounds keep pushing metrics.
      const prefix = `/s${++n}`;
      const { base } = await startServer({
        ...tracingEnv(), OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.address().port}${prefix}`,
        METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: '300', ...env,
      });
      const s = await session(base);
      const r = await s.call('enc', 'k8s_list_resources', { resourceType: 'configmaps', namespace: ns },
        { headers: { traceparent: `00-${hex(32)}-${hex(16)}-01` } });
      assert.ok(!r.isError, JSON.stringify(r));
      const got = (p) => seen.find((x) => x.path === prefix + p);
      for (let i = 0; i < 100 && !(got('/v1/traces') && got('/v1/metrics')); i++) await sleep(100);
      const what = JSON.stringify(env);
      for (const [p, want] of [['/v1/traces', traces], ['/v1/metrics', metrics]]) {
        const req = got(p);
        assert.ok(req, `${what}: nothing sent to ${p}`);
        assert.equal(req.type, want, `${what}: ${p}`);
        if (want === js) JSON.parse(req.body.toString('utf8'));
        else assert.equal(req.body[0], 0x0a, `${what}: ${p} starts with field 1, length-delimited`);
      }
    }
  } finally {
    sink.close();
  }
});

test('an OTLP protocol the server does not speak stops it at start-up, naming the setting', () => {
  for (const [name, value, want] of [
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', /OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported; use http\/protobuf or http\/json/],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http/xml', /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be http\/protobuf or http\/json/],
  ]) {
    const r = spawnSync(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', '127.0.0.1:0'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: clusterEnv().KUBECONFIG, ...tracingEnv(), [name]: value },
      encoding: 'utf8', timeout: 20000,
    });
    assert.notEqual(r.status, 0, `${name}=${value} was accepted`);
    assert.match(r.stderr, want);
  }
});
