// Port-forward protocols and multiplexing. c0's apiserver tunnels SPDY in a WebSocket
// (SPDY/3.1+portforward.k8s.io, `websocket`); c1's runs with --feature-gates=PortForwardWebsockets=false
// (up.sh), so it passes upgrades to kwok (moby/spdystream), which refuses the tunnel: `spdy`.
// kwok connects pod port 9000 to 127.0.0.1:$PF_TARGET_OTHER, where this test runs a TCP echo
// server. Checked: bytes both ways, 1 MiB each way (flow control), every local connection of a
// forward on one upstream connection, re-dialling when it dies, half-close, the fallback chain
// websocket -> spdy -> websocket-channel behind proxies that refuse upgrades, and kubectl
// port-forward against c1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, ok, fails, clusterEnv, kubectl, freshNamespace, dropNamespace } from '../lib/harness.mjs';
import { roundTrip as echoRoundTrip } from './pods_fixture.mjs';

const env = clusterEnv();
const PORT = 9000;  // any port but 8080 -> PF_TARGET_OTHER
let ns;             // in c1
let ns0;            // in c0
let echo;
let proxy;
let channelProxy;  // refuses SPDY and the WebSocket tunnel: only v4.channel.k8s.io gets through
let tmp;
const sockets = new Set();

function podYaml(name) {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeName: kwok-node-0
  containers: [{name: app, image: registry.invalid/app:1, ports: [{containerPort: ${PORT}}]}]
`;
}

function makePod(context, namespace) {
  kubectl(['--context', context, '-n', namespace, 'apply', '-f', '-'], { input: podYaml('app') });
  kubectl(['--context', context, '-n', namespace, 'wait', 'pod/app', '--for=condition=Ready', '--timeout=60s']);
}

// A TLS front for c1 that answers the upgrades `refuse(requestHead)` picks with a bare 403 (as a
// kubelet or proxy without support for them does) and passes everything else through; the
// Authorization header (a static token) is forwarded unchanged. `upstreams` holds the live
// connections to c1 (a test cuts them).
const refuseWebSocket = (head) => /^upgrade:\s*websocket/im.test(head);
const refuseAllButChannel = (head) =>
  /^upgrade:\s*spdy/im.test(head) || /^sec-websocket-protocol:.*SPDY\/3\.1\+portforward/im.test(head);
function startRefusingProxy(refuse = refuseWebSocket) {
  const upstreams = new Set();
  const upstream = new URL(env.APISERVER_URL_C1);
  const server = tls.createServer({
    key: readFileSync(path.join(env.RUN, 'pki/serving.key')),
    cert: readFileSync(path.join(env.RUN, 'pki/serving.crt')),
  }, (client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      if (head.indexOf('\r\n\r\n') < 0 && head.length < 65536) return;
      client.off('data', onData);
      if (refuse(head.toString('latin1'))) {
        server.refused++;
        client.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const up = tls.connect({ host: upstream.hostname, port: Number(upstream.port), ca: readFileSync(env.CA_CERT) }, () => {
        up.write(head);
        client.pipe(up);
        up.pipe(client);
      });
      sockets.add(up);
      upstreams.add(up);
      up.on('close', () => { sockets.delete(up); upstreams.delete(up); client.destroy(); });
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
    };
    client.on('data', onData);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(Object.assign(server, { refused: 0, upstreams }))));
}

before(async () => {
  ns = `pf-spdy-${process.pid}-${Date.now().toString(36)}`;
  kubectl(['--context', 'c1', 'create', 'namespace', ns]);
  for (let i = 0; i < 100; i++) {
    if (!kubectl(['--context', 'c1', '-n', ns, 'get', 'serviceaccount', 'default'], { allowFail: true }).failed) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  makePod('c1', ns);
  ns0 = freshNamespace('pf-ws');
  makePod('c0', ns0);
  echo = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); s.pipe(s); });
  await new Promise((res, rej) => echo.once('error', rej).listen(Number(env.PF_TARGET_OTHER), '127.0.0.1', res));
  proxy = await startRefusingProxy();
  channelProxy = await startRefusingProxy(refuseAllButChannel);
  tmp = mkdtempSync(path.join(tmpdir(), 'pf-spdy-'));
});

after(async () => {
  // kwok keeps its side of forwarded connections open; close() would wait for them forever.
  for (const s of sockets) s.destroy();
  await new Promise((res) => (echo ? echo.close(res) : res()));
  await new Promise((res) => (proxy ? proxy.close(res) : res()));
  await new Promise((res) => (channelProxy ? channelProxy.close(res) : res()));
  kubectl(['--context', 'c1', 'delete', 'namespace', ns, '--wait=false', '--ignore-not-found'], { allowFail: true });
  dropNamespace(ns0);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// A kubeconfig whose server is `front` (one of the proxies), with the admin token.
function proxiedKubeconfig(file, front) {
  const kc = path.join(tmp, file);
  writeFileSync(kc, `apiVersion: v1
kind: Config
clusters: [{name: proxied, cluster: {server: "https://127.0.0.1:${front.address().port}", certificate-authority: "${env.CA_CERT}"}}]
users: [{name: admin, user: {token: "${env.ADMIN_TOKEN}"}}]
contexts: [{name: proxied, context: {cluster: proxied, user: admin}}]
current-context: proxied
`);
  return kc;
}

// Echo through a forward; sockets are tracked (kwok keeps its side open) and dropped when done.
const roundTrip = (port, payload) => echoRoundTrip(port, payload, { timeoutMs: 60000, track: sockets, destroy: true });

test('c1 with WebSockets off in the server: SPDY carries bytes both ways, 1 MiB intact', async () => {
  const srv = await startServer(['--non-destructive=false'], { env: { MCP_KUBERNETES_PORT_FORWARD_WEBSOCKETS: 'false' } });
  try {
    const { data } = await ok(srv.client, 'k8s_port_forward_pod', { context: 'c1', namespace: ns, name: 'app', port: PORT });
    assert.equal(data.protocol, 'spdy');
    assert.equal(data.context, 'c1');
    const small = Buffer.from('hello over spdy\n');
    assert.ok((await roundTrip(data.localPort, small)).equals(small));
    // 16x the 64 KiB SPDY window: stalls unless WINDOW_UPDATEs flow.
    const big = randomBytes(1024 * 1024);
    assert.ok((await roundTrip(data.localPort, big)).equals(big));
    // Eight connections at once, each its own pair of streams.
    const words = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight'];
    const echoed = await Promise.all(words.map((w) => roundTrip(data.localPort, Buffer.from(w))));
    assert.deepEqual(echoed.map(String), words);
    const listed = (await ok(srv.client, 'k8s_list_port_forward_sessions')).data.sessions.find((s) => s.id === data.id);
    assert.equal(listed.protocol, 'spdy');
    // Every local connection rode the connection made when the forward started.
    assert.equal(listed.totalConnections, 10, JSON.stringify(listed));
    assert.equal(listed.upstreamConnections, 1, JSON.stringify(listed));
    assert.ok(listed.bytesFromPod >= big.length + small.length, JSON.stringify(listed));
    assert.ok(listed.bytesToPod >= big.length + small.length, JSON.stringify(listed));
    // Errors still come as the API's Status over SPDY.
    const missing = await fails(srv.client, 'k8s_port_forward_pod', { context: 'c1', namespace: ns, name: 'ghost', port: PORT });
    assert.match(missing, /pods "ghost" not found/);
  } finally {
    await srv.close();
  }
});

test('SPDY: the pod side refusing the port shows as lastError', async () => {
  const srv = await startServer(['--non-destructive=false'], { env: { MCP_KUBERNETES_PORT_FORWARD_WEBSOCKETS: 'false' } });
  try {
    // Nothing listens on PF_TARGET_8080 in this test: kwok's dial fails and says so on the error stream.
    const probe = net.connect(Number(env.PF_TARGET_8080), '127.0.0.1');
    const free = await new Promise((r) => { probe.on('connect', () => { probe.destroy(); r(false); }); probe.on('error', () => r(true)); });
    // Test files run one at a time (scripts/test.sh), so nothing else may listen there now.
    assert.ok(free, 'something listens on PF_TARGET_8080: the refusal cannot be tested');
    const { data } = await ok(srv.client, 'k8s_port_forward_pod', { context: 'c1', namespace: ns, name: 'app', port: 8080 });
    await new Promise((resolve) => {
      const s = net.connect(data.localPort, '127.0.0.1', () => s.write('x'));
      sockets.add(s);
      s.on('close', resolve);
      s.on('error', resolve);
      setTimeout(() => { s.destroy(); resolve(); }, 10000);
    });
    let last;
    for (let i = 0; i < 50 && !last; i++) {
      last = (await ok(srv.client, 'k8s_list_port_forward_sessions')).data.sessions[0].lastError;
      if (!last) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(last ?? '', /failed to dial 127\.0\.0\.1:\d+/);
  } finally {
    await srv.close();
  }
});

test('a refused WebSocket upgrade falls back to SPDY by itself', async () => {
  const kc = proxiedKubeconfig('proxied.kubeconfig', proxy);
  const srv = await startServer(['--non-destructive=false'], { kubeconfig: kc });
  try {
    const before = proxy.refused;
    const { data } = await ok(srv.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: PORT });
    assert.ok(proxy.refused > before, 'the WebSocket upgrade was tried first');
    assert.equal(data.protocol, 'spdy');
    const payload = randomBytes(256 * 1024);
    assert.ok((await roundTrip(data.localPort, payload)).equals(payload));
    // The choice is remembered: later connections do not try WebSocket again.
    const refusedAfterStart = proxy.refused;
    const again = Buffer.from('again');
    assert.ok((await roundTrip(data.localPort, again)).equals(again));
    assert.equal(proxy.refused, refusedAfterStart);
    const listed = async () => (await ok(srv.client, 'k8s_list_port_forward_sessions')).data.sessions[0];
    assert.equal((await listed()).upstreamConnections, 1);
    // The upstream connection dies (proxy restart, load balancer): the next local connection
    // dials a new one by itself.
    for (const up of proxy.upstreams) up.destroy();
    const after = Buffer.from('after the cut');
    assert.ok((await roundTrip(data.localPort, after)).equals(after));
    assert.equal((await listed()).upstreamConnections, 2);
    assert.equal(proxy.refused, refusedAfterStart, 'the re-dial keeps the protocol');
  } finally {
    await srv.close();
  }
});

test('by default c0 tunnels SPDY in a WebSocket and c1 (tunnel refused by kwok) uses SPDY', async () => {
  const srv = await startServer(['--non-destructive=false']);
  try {
    for (const [context, namespace, protocol] of [['c0', ns0, 'websocket'], ['c1', ns, 'spdy']]) {
      const { data } = await ok(srv.client, 'k8s_port_forward_pod', { context, namespace, name: 'app', port: PORT });
      assert.equal(data.protocol, protocol, context);
      const payload = randomBytes(64 * 1024);
      assert.ok((await roundTrip(data.localPort, payload)).equals(payload));
      const words = ['a', 'b', 'c', 'd'];
      assert.deepEqual((await Promise.all(words.map((w) => roundTrip(data.localPort, Buffer.from(w))))).map(String), words);
      const listed = (await ok(srv.client, 'k8s_list_port_forward_sessions')).data.sessions.find((s) => s.id === data.id);
      assert.equal(listed.upstreamConnections, 1, `${context}: ${JSON.stringify(listed)}`);
    }
  } finally {
    await srv.close();
  }
});

test('half-close: the answer to a request sent before the local EOF still arrives', async () => {
  const srv = await startServer(['--non-destructive=false']);
  try {
    for (const [context, namespace] of [['c0', ns0], ['c1', ns]]) {
      const { data } = await ok(srv.client, 'k8s_port_forward_pod', { context, namespace, name: 'app', port: PORT });
      const payload = randomBytes(512 * 1024);
      const got = await new Promise((resolve, reject) => {
        const chunks = [];
        let n = 0;
        const s = net.connect(data.localPort, '127.0.0.1', () => s.end(payload));  // write, then FIN at once
        sockets.add(s);
        const timer = setTimeout(() => { s.destroy(); reject(new Error(`${context}: ${n}/${payload.length} bytes after the half-close`)); }, 60000);
        s.on('data', (d) => {
          chunks.push(d);
          n += d.length;
          if (n >= payload.length) { clearTimeout(timer); s.destroy(); resolve(Buffer.concat(chunks)); }
        });
        s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
        s.on('error', (e) => { clearTimeout(timer); reject(e); });
      });
      assert.equal(got.length, payload.length, `${context}: echoed bytes`);
      assert.ok(got.equals(payload), context);
    }
  } finally {
    await srv.close();
  }
});

test('a proxy refusing SPDY and the WebSocket tunnel leaves v4.channel.k8s.io (websocket-channel)', async () => {
  const kc = proxiedKubeconfig('channel.kubeconfig', channelProxy);
  const srv = await startServer(['--non-destructive=false'], { kubeconfig: kc });
  try {
    const { data } = await ok(srv.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: PORT });
    assert.equal(channelProxy.refused, 2, 'the tunnel and SPDY were tried first');
    assert.equal(data.protocol, 'websocket-channel');
    const payload = randomBytes(128 * 1024);
    assert.ok((await roundTrip(data.localPort, payload)).equals(payload));
    const words = ['x', 'y'];
    assert.deepEqual((await Promise.all(words.map((w) => roundTrip(data.localPort, Buffer.from(w))))).map(String), words);
    const listed = (await ok(srv.client, 'k8s_list_port_forward_sessions')).data.sessions[0];
    // One WebSocket per local connection on this protocol, plus the start-up probe.
    assert.equal(listed.upstreamConnections, 4, JSON.stringify(listed));
    assert.equal(channelProxy.refused, 2, 'the choice is remembered');
  } finally {
    await srv.close();
  }
});

test('kubectl port-forward against c1 (its WebSocket tunnel is refused, SPDY used)', async () => {
  const child = spawn(env.KUBECTL, ['--context', 'c1', '-n', ns, 'port-forward', 'pod/app', `:${PORT}`, '-v=6'],
    { env: { ...process.env, KUBECONFIG: env.KUBECONFIG }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  try {
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kubectl port-forward did not start: ${err}`)), 30000);
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/Forwarding from 127\.0\.0\.1:(\d+)/);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      child.on('exit', (code) => reject(new Error(`kubectl exited ${code}: ${err}`)));
    });
    const payload = randomBytes(128 * 1024);
    assert.ok((await roundTrip(port, payload)).equals(payload));
    // kubectl tried the WebSocket tunnel first (kwok answers 400: its own WebSocket handler wants
    // ?ports=) and fell back to SPDY.
    assert.match(err, /fallback to secondary dialer/, err);
  } finally {
    child.kill();
  }
});
