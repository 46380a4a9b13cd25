// k8s_get_pod_logs against kwok through the real apiserver: every option cross-checked with
// kubectl, container defaulting and errors, follow ended by its duration and by cancellation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { startServer, ok, fails, call, kubectl, clusterEnv, freshNamespace, dropNamespace } from '../lib/harness.mjs';
import { createWorkload } from './pods_fixture.mjs';

let srv;
let ns;
let logFile;
let original;
const stamp = () => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');

before(async () => {
  ns = freshNamespace('pods-logs');
  createWorkload(ns);
  logFile = clusterEnv().KWOK_LOG_FILE;
  original = readFileSync(logFile, 'utf8');
  srv = await startServer();
});
after(async () => {
  await srv?.close();
  if (original !== undefined) writeFileSync(logFile, original);
  dropNamespace(ns);
});

const logs = (args) => ok(srv.client, 'k8s_get_pod_logs', { namespace: ns, ...args });
const k = (...args) => kubectl(['-n', ns, 'logs', ...args]);

test('default: the only container, matches kubectl logs', async () => {
  const { data, text } = await logs({ name: 'app' });
  assert.equal(data.container, 'app');
  assert.equal(data.logs, k('app'));
  assert.ok(data.lines >= 5);
  assert.match(text, /harness log line 5/);
  assert.equal(data.truncated, false);
});

test('tailLines, previous and timestamps match kubectl', async () => {
  assert.equal((await logs({ name: 'app', tailLines: 2 })).data.logs, k('app', '--tail=2'));
  assert.equal((await logs({ name: 'app', previous: true })).data.logs, k('app', '--previous'));
  const ts = await logs({ name: 'app', timestamps: true, tailLines: 3 });
  assert.equal(ts.data.logs, k('app', '--timestamps', '--tail=3'));
  for (const line of ts.data.logs.trimEnd().split('\n')) assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z /);
});

test('sinceTime and sinceSeconds match kubectl', async () => {
  appendFileSync(logFile, `${stamp()} stdout F since-marker fresh line\n`);
  const since = await logs({ name: 'app', sinceTime: '2026-01-01T00:00:02.5Z' });
  assert.equal(since.data.logs, k('app', '--since-time=2026-01-01T00:00:02.5Z'));
  assert.doesNotMatch(since.data.logs, /line 1\n/);
  const recent = await logs({ name: 'app', sinceSeconds: 3600 });
  assert.equal(recent.data.logs, k('app', '--since=3600s'));
  assert.match(recent.data.logs, /since-marker/);
  assert.doesNotMatch(recent.data.logs, /harness log line 1/);
  await fails(srv.client, 'k8s_get_pod_logs', { namespace: ns, name: 'app', sinceSeconds: 5, sinceTime: '2026-01-01T00:00:00Z' });
});

test('substring and regex filters keep only matching lines', async () => {
  const sub = await logs({ name: 'app', filter: 'stderr' });
  assert.equal(sub.data.logs, 'harness log line 3 (stderr)\n');
  assert.equal(sub.data.matchedLines, 1);
  const re = await logs({ name: 'app', regex: 'line [45]$' });
  assert.equal(re.data.logs, 'harness log line 4\nharness log line 5\n');
  const bad = await fails(srv.client, 'k8s_get_pod_logs', { namespace: ns, name: 'app', regex: '(unclosed' });
  assert.match(bad, /InvalidArgument: regex "\(unclosed" is invalid/);
});

test('limitBytes caps the output and says so', async () => {
  const { data, text } = await logs({ name: 'app', limitBytes: 30 });
  assert.equal(data.truncated, true);
  assert.ok(data.logs.length <= 30, `got ${data.logs.length} bytes`);
  assert.ok(k('app', '--limit-bytes=30').startsWith(data.logs));
  assert.match(text, /capped at 30 bytes/);
});

test('container defaulting and container errors', async () => {
  const many = await fails(srv.client, 'k8s_get_pod_logs', { namespace: ns, name: 'multi' });
  assert.match(many, /pod "multi" has 2 containers; name one with `container`: first, second/);
  assert.equal((await logs({ name: 'annotated' })).data.container, 'second');
  assert.equal((await logs({ name: 'multi', container: 'first' })).data.logs, k('multi', '-c', 'first'));
  const unknown = await fails(srv.client, 'k8s_get_pod_logs', { namespace: ns, name: 'multi', container: 'nope' });
  assert.match(unknown, /container "nope" is not in pod "multi"; its containers are: first, second/);
  const missing = await fails(srv.client, 'k8s_get_pod_logs', { namespace: ns, name: 'ghost' });
  assert.match(missing, /NotFound.*pods "ghost" not found/i);
});

test('follow streams appended lines as progress and ends at followSeconds', async () => {
  const progress = [];
  let appended = false;
  const r = await call(srv.client, 'k8s_get_pod_logs', { namespace: ns, name: 'app', follow: true, followSeconds: 4, tailLines: 1 }, {
    onprogress: (p) => {
      progress.push(p);
      if (!appended) {
        // The backlog arrived, so the stream is open: what we append now must come live.
        appended = true;
        appendFileSync(logFile, `${stamp()} stdout F follow-marker one\n${stamp()} stdout F follow-marker two\n`);
      }
    },
  });
  assert.ok(!r.isError, r.content?.[0]?.text);
  const msgs = progress.map((p) => p.message ?? '').join('\n');
  assert.match(msgs, /follow-marker one/);
  assert.match(msgs, /follow-marker two/);
  assert.match(r.structuredContent.logs, /follow-marker one\nfollow-marker two\n$/);
  assert.equal(r.structuredContent.followEnded, 'followed for 4 s');
  assert.ok(progress.every((p, i) => i === 0 || p.progress > progress[i - 1].progress), 'progress increases');
});

test('follow ends promptly when the client cancels', async () => {
  const ac = new AbortController();
  const pending = call(srv.client, 'k8s_get_pod_logs', { namespace: ns, name: 'app', follow: true, followSeconds: 300 }, {
    signal: ac.signal,
    onprogress: () => ac.abort('enough'),
  });
  await assert.rejects(pending);
  // The server is still healthy and answers the next call.
  const { data } = await logs({ name: 'app', tailLines: 1 });
  assert.equal(data.lines, 1);
});
