// k8s_exec_pod over WebSocket through the real apiserver to kwok (which runs commands on this
// host, in /tmp, with HARNESS=1): exit codes, stderr, stdin, timeout, output cap, cancellation,
// and the safety modes (hidden in non-destructive mode, nothing executed in dry-run).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { startServer, ok, call, kubectl, freshNamespace, dropNamespace } from '../lib/harness.mjs';
import { createWorkload } from './pods_fixture.mjs';

let srv;
let ns;
before(async () => {
  ns = freshNamespace('pods-exec');
  createWorkload(ns);
  srv = await startServer(['--non-destructive=false']);
});
after(async () => {
  await srv?.close();
  dropNamespace(ns);
});

const exec = (args, opts) => ok(srv.client, 'k8s_exec_pod', { namespace: ns, name: 'app', ...args }, opts);

test('stdout, stderr and exit code 0; same as kubectl exec', async () => {
  const { data, text } = await exec({ command: ['sh', '-c', 'echo "$HARNESS"; pwd; echo err >&2'] });
  assert.equal(data.exitCode, 0);
  assert.equal(data.stdout, kubectl(['-n', ns, 'exec', 'app', '--', 'sh', '-c', 'echo "$HARNESS"; pwd']));
  assert.equal(data.stdout, '1\n/tmp\n');
  assert.equal(data.stderr, 'err\n');
  assert.equal(data.stdoutTruncated, false);
  assert.equal(data.container, 'app');
  assert.match(text, /exit code: 0/);
});

test('a non-zero exit is a result with its code', async () => {
  const r = await call(srv.client, 'k8s_exec_pod', { namespace: ns, name: 'app', command: ['sh', '-c', 'echo before; exit 3'] });
  assert.ok(!r.isError, r.content?.[0]?.text);
  assert.equal(r.structuredContent.exitCode, 3);
  assert.equal(r.structuredContent.stdout, 'before\n');
});

test('stdin reaches the command', async () => {
  // kwok does not pass stdin EOF on, so the command reads a fixed count.
  const { data } = await exec({ command: ['head', '-c', '11'], stdin: 'hello-stdin' });
  assert.equal(data.stdout, 'hello-stdin');
  assert.equal(data.exitCode, 0);
});

test('a command that outlives its timeout gives a clear timeout error', async () => {
  const r = await call(srv.client, 'k8s_exec_pod', { namespace: ns, name: 'app', command: ['sh', '-c', 'echo started; sleep 30'], timeout: 2 });
  const text = r.content[0].text;
  assert.ok(r.isError, text);
  assert.match(text, /^Timeout: `sh -c echo started; sleep 30` did not finish within 2 s/);
  assert.match(text, /started/);
});

test('huge output is capped and flagged, the exit code still arrives', async () => {
  const { data, text } = await exec({ command: ['sh', '-c', "head -c 5000000 /dev/zero | tr '\\0' a; echo done >&2"] });
  assert.equal(data.exitCode, 0);
  assert.equal(data.stdoutTruncated, true);
  assert.equal(data.stdout.length, 1 << 20);
  assert.match(data.stdout, /^a+$/);
  assert.equal(data.stderr, 'done\n');
  assert.match(text, /more bytes not shown/);
  const small = await exec({ command: ['sh', '-c', 'echo 0123456789'], maxOutputBytes: 4 });
  assert.equal(small.data.stdout, '0123');
  assert.equal(small.data.stdoutTruncated, true);
});

test('cancelling a running exec closes it; the server keeps serving', async () => {
  const ac = new AbortController();
  const pending = call(srv.client, 'k8s_exec_pod', { namespace: ns, name: 'app', command: ['sleep', '30'] }, { signal: ac.signal });
  setTimeout(() => ac.abort('stop'), 1000);
  await assert.rejects(pending);
  assert.equal((await exec({ command: ['echo', 'still here'] })).data.stdout, 'still here\n');
});

test('errors: unknown pod, unknown container, missing executable', async () => {
  const bad = await call(srv.client, 'k8s_exec_pod', { namespace: ns, name: 'ghost', command: ['true'] });
  assert.ok(bad.isError);
  assert.match(bad.content[0].text, /pods "ghost" not found/);
  const c = await call(srv.client, 'k8s_exec_pod', { namespace: ns, name: 'multi', command: ['true'] });
  assert.ok(c.isError);
  assert.match(c.content[0].text, /has 2 containers; name one with `container`: first, second/);
  const e = await call(srv.client, 'k8s_exec_pod', { namespace: ns, name: 'app', command: ['/no/such/binary'] });
  // Either an exit code (kwok reports a failed start as exit status 1) or a clear failure.
  if (e.isError) assert.match(e.content[0].text, /ExecFailed|no such file/i);
  else assert.notEqual(e.structuredContent.exitCode, 0);
});

test('non-destructive mode (default) hides and refuses exec', async () => {
  const ro = await startServer();
  try {
    const { tools } = await ro.client.listTools();
    assert.ok(!tools.some((t) => t.name === 'k8s_exec_pod'));
    assert.ok(tools.some((t) => t.name === 'k8s_get_pod_logs'));
    await assert.rejects(call(ro.client, 'k8s_exec_pod', { namespace: ns, name: 'app', command: ['true'] }), /Unknown tool/);
  } finally {
    await ro.close();
  }
});

test('dry-run mode executes nothing', async () => {
  const marker = `/tmp/pods-e2e-dryrun-${process.pid}`;
  rmSync(marker, { force: true });
  const dry = await startServer(['--non-destructive=false', '--dry-run']);
  try {
    const { data, text } = await ok(dry.client, 'k8s_exec_pod', { namespace: ns, name: 'app', command: ['touch', marker] });
    assert.equal(data.dryRun, true);
    assert.match(text, /nothing was executed/);
    assert.equal(existsSync(marker), false);
  } finally {
    await dry.close();
    rmSync(marker, { force: true });
  }
});
