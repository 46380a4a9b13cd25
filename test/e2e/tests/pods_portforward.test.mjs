// Port-forward through the real apiserver to kwok, which connects pod port 8080 to
// 127.0.0.1:$PF_TARGET_8080 where this test runs a TCP echo server: bytes both ways for a pod
// and for a service with a named targetPort, session listing/stopping, and no listener left
// after the server exits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { startServer, ok, fails, clusterEnv, freshNamespace, dropNamespace } from '../lib/harness.mjs';
import { createWorkload, roundTrip, refused } from './pods_fixture.mjs';

let srv;
let ns;
let echo;

const echoSockets = new Set();
before(async () => {
  ns = freshNamespace('pods-pf');
  createWorkload(ns);
  echo = net.createServer((s) => { echoSockets.add(s); s.on('close', () => echoSockets.delete(s)); s.pipe(s); });
  await new Promise((res, rej) => echo.once('error', rej).listen(Number(clusterEnv().PF_TARGET_8080), '127.0.0.1', res));
  srv = await startServer(['--non-destructive=false']);
});
after(async () => {
  await srv?.close();
  // kwok keeps its side of forwarded connections open; close() would wait for them forever.
  for (const s of echoSockets) s.destroy();
  await new Promise((res) => (echo ? echo.close(res) : res()));
  dropNamespace(ns);
});

test('pod: 256 KiB both ways through a picked local port', async () => {
  const { data, text } = await ok(srv.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 });
  assert.ok(data.localPort > 0);
  assert.equal(data.localAddress, '127.0.0.1');
  assert.equal(data.remotePort, 8080);
  assert.match(text, new RegExp(`127\\.0\\.0\\.1:${data.localPort} -> pod ${ns}/app:8080`));
  const payload = randomBytes(256 * 1024);
  assert.ok((await roundTrip(data.localPort, payload)).equals(payload));
  // A second connection gets its own stream.
  const again = Buffer.from('second connection\n');
  assert.ok((await roundTrip(data.localPort, again)).equals(again));
  await ok(srv.client, 'k8s_stop_port_forward_session', { id: data.id });
});

test('service: named targetPort resolved on a Ready pod', async () => {
  const { data } = await ok(srv.client, 'k8s_port_forward_service', { namespace: ns, name: 'web', port: 'http' });
  assert.equal(data.pod, 'app');
  assert.equal(data.remotePort, 8080);
  assert.equal(data.service, 'web');
  const payload = randomBytes(64 * 1024);
  assert.ok((await roundTrip(data.localPort, payload)).equals(payload));
  const byNumber = await ok(srv.client, 'k8s_port_forward_service', { namespace: ns, name: 'web', port: 80 });
  assert.equal(byNumber.data.remotePort, 8080);
  const bad = await fails(srv.client, 'k8s_port_forward_service', { namespace: ns, name: 'web', port: 'nope' });
  assert.match(bad, /service has no port "nope"; service "web" ports: http \(80\)/);
  await ok(srv.client, 'k8s_stop_all_port_forward_sessions');
});

test('sessions: list, stop one, stop all; stopped ports refuse connections', async () => {
  const a = (await ok(srv.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 })).data;
  const b = (await ok(srv.client, 'k8s_port_forward_service', { namespace: ns, name: 'web' })).data;
  let list = (await ok(srv.client, 'k8s_list_port_forward_sessions')).data;
  assert.deepEqual(list.sessions.map((s) => s.id).sort(), [a.id, b.id].sort());
  assert.equal(list.count, 2);

  await roundTrip(a.localPort, Buffer.from('counted'));
  const counted = (await ok(srv.client, 'k8s_list_port_forward_sessions')).data.sessions.find((s) => s.id === a.id);
  assert.ok(counted.totalConnections >= 1);
  assert.ok(counted.bytesToPod >= 7);

  const stopped = await ok(srv.client, 'k8s_stop_port_forward_session', { id: a.id });
  assert.equal(stopped.data.stopped, a.id);
  assert.equal(await refused(a.localPort), true);
  list = (await ok(srv.client, 'k8s_list_port_forward_sessions')).data;
  assert.deepEqual(list.sessions.map((s) => s.id), [b.id]);
  const unknown = await fails(srv.client, 'k8s_stop_port_forward_session', { id: a.id });
  assert.match(unknown, new RegExp(`NotFound: no port-forward "${a.id}" in this session; active: ${b.id}`));

  assert.equal((await ok(srv.client, 'k8s_stop_all_port_forward_sessions')).data.stopped, 1);
  assert.equal(await refused(b.localPort), true);
  assert.equal((await ok(srv.client, 'k8s_list_port_forward_sessions')).data.count, 0);
});

test('errors: missing pod, bad address, non-destructive mode hides the tools', async () => {
  const missing = await fails(srv.client, 'k8s_port_forward_pod', { namespace: ns, name: 'ghost', port: 8080 });
  assert.match(missing, /pods "ghost" not found/);
  const addr = await fails(srv.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080, address: 'localhost:1' });
  assert.match(addr, /address "localhost:1" is not an IP address/);
  const ro = await startServer();
  try {
    const names = (await ro.client.listTools()).tools.map((t) => t.name);
    assert.ok(!names.some((n) => n.includes('port_forward')));
  } finally {
    await ro.close();
  }
});

test('no listener remains after the server exits', async () => {
  const other = await startServer(['--non-destructive=false']);
  const { data } = await ok(other.client, 'k8s_port_forward_pod', { namespace: ns, name: 'app', port: 8080 });
  const payload = Buffer.from('before exit');
  assert.ok((await roundTrip(data.localPort, payload)).equals(payload));
  await other.close();
  // close() does not wait for the process to exit; poll (bounded) until the port is gone.
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    gone = await refused(data.localPort);
    if (!gone) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(gone, true, `port ${data.localPort} still accepts connections after the server exited`);
});
