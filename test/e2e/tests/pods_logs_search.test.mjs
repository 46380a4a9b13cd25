// Filtered k8s_get_pod_logs searches the whole log within a byte budget and returns the last
// tailLines matches (issue 12, findings 3, 12 and the log part of 6). kwok serves every pod's
// log from shared files; this file writes a ~2 MB log into the *previous* log file
// ($KWOK_PREV_LOG_FILE, read with previous:true), which fewer tests read than the current one,
// and puts the original back afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  serverBin, startServer, ok, fails, kubectl, clusterEnv, freshNamespace, dropNamespace, freePort, waitHealthy,
} from '../lib/harness.mjs';
import { createWorkload } from './pods_fixture.mjs';

let srv;
let ns;
let prevFile;
let original;
const messages = [];
const FILLER = 20000;
const WARN_EVERY = 400;
const EVIL = '(a|aa)+(a|aa)+(a|aa)+$';

// The log: a needle near the start, 20000 filler lines with a WARN every 400, then 200 short
// lines on which EVIL backtracks exponentially in a backtracking engine (every other one
// ends in 'b' and does not match; std::regex needed seconds per such line).
function buildLog() {
  messages.push('needle-ERROR the one we want');
  for (let i = 1; i <= FILLER; i++) {
    messages.push(i % WARN_EVERY === 0 ? `periodic WARN ${i}` : `filler line ${String(i).padStart(5, '0')} lorem ipsum dolor sit`);
  }
  for (let i = 0; i < 200; i++) messages.push('a'.repeat(26) + (i % 2 ? '' : 'b'));
  const t0 = Date.parse('2025-12-01T00:00:00Z');
  return messages.map((m, i) => `${new Date(t0 + i).toISOString().replace('Z', '000001Z')} stdout F ${m}\n`).join('');
}
// Complete lines in the first n bytes of the served log.
const linesWithin = (n) => {
  let bytes = 0;
  let lines = 0;
  for (const m of messages) {
    bytes += Buffer.byteLength(m) + 1;
    if (bytes > n) break;
    lines++;
  }
  return lines;
};
const logBytes = () => messages.reduce((n, m) => n + Buffer.byteLength(m) + 1, 0);

before(async () => {
  ns = freshNamespace('logs-search');
  createWorkload(ns);
  prevFile = clusterEnv().KWOK_PREV_LOG_FILE;
  original = readFileSync(prevFile, 'utf8');
  writeFileSync(prevFile, buildLog());
  srv = await startServer();
});
after(async () => {
  await srv?.close();
  if (original !== undefined) writeFileSync(prevFile, original);
  dropNamespace(ns);
});

const logs = (args, client = srv.client) => ok(client, 'k8s_get_pod_logs', { namespace: ns, name: 'app', previous: true, ...args });

test('the served log is the big one', () => {
  const served = kubectl(['-n', ns, 'logs', 'app', '--previous']);
  assert.equal(Buffer.byteLength(served), logBytes());
});

test('a filter searches the whole log, not only the last 100 lines', async () => {
  const { data, text } = await logs({ filter: 'needle-ERROR' });
  assert.equal(data.logs, 'needle-ERROR the one we want\n');
  assert.equal(data.matchedLines, 1);
  assert.equal(data.lines, 1);
  assert.equal(data.truncated, false);
  assert.equal(data.truncatedBy, undefined);
  assert.equal(data.scannedLines, messages.length);
  assert.equal(data.scannedBytes, logBytes());
  assert.match(text, new RegExp(`searched .* \\(${messages.length} lines\\), 1 matched`));
  // The regex path too (RE2 syntax).
  const re = await logs({ regex: '^needle-(ERROR|FATAL)\\b' });
  assert.equal(re.data.logs, 'needle-ERROR the one we want\n');
});

test('tailLines keeps the last N matches; -1 keeps them all', async () => {
  const warns = messages.filter((m) => m.startsWith('periodic WARN'));
  assert.equal(warns.length, FILLER / WARN_EVERY);
  const last3 = await logs({ filter: 'periodic WARN', tailLines: 3 });
  assert.equal(last3.data.logs, warns.slice(-3).join('\n') + '\n');
  assert.equal(last3.data.matchedLines, warns.length);
  assert.equal(last3.data.lines, 3);
  assert.equal(last3.data.truncated, false);
  const all = await logs({ filter: 'periodic WARN', tailLines: -1 });
  assert.equal(all.data.logs, warns.join('\n') + '\n');
  // limitBytes keeps the newest matches that fit and says older ones were dropped.
  const capped = await logs({ filter: 'periodic WARN', tailLines: -1, limitBytes: 100 });
  assert.equal(capped.data.truncated, true);
  assert.equal(capped.data.truncatedBy, 'limitBytes');
  assert.ok(capped.data.logs.length <= 100);
  assert.ok(capped.data.logs.endsWith(`${warns.at(-1)}\n`));
  assert.equal(capped.data.matchedLines, warns.length);
});

test('an invalid or non-RE2 regex is a clear error', async () => {
  const bad = await fails(srv.client, 'k8s_get_pod_logs', { namespace: ns, name: 'app', regex: '(a)\\1' });
  assert.match(bad, /InvalidArgument: regex "\(a\)\\1" is invalid: .*RE2 syntax/);
});

test('the byte budget ends the scan, and the answer says so (also with tailLines -1)', async () => {
  const small = await startServer(['--log-scan-bytes', '4096']);
  try {
    for (const tailLines of [undefined, -1]) {
      const { data, text } = await logs({ filter: 'needle-ERROR', ...(tailLines ? { tailLines } : {}) }, small.client);
      assert.equal(data.truncated, true);
      assert.equal(data.truncatedBy, 'byteBudget');
      assert.equal(data.scannedBytes, 4096);
      assert.equal(data.scannedLines, linesWithin(4096));
      assert.equal(data.logs, 'needle-ERROR the one we want\n');
      assert.match(text, /search stopped at the byte budget \(4\.0 KiB, --log-scan-bytes\)/);
    }
    // Nothing found within the budget is not "no match": truncated still says the rest was not searched.
    const { data } = await logs({ filter: 'periodic WARN' }, small.client);
    assert.equal(data.matchedLines, 0);
    assert.equal(data.truncated, true);
  } finally {
    await small.close();
  }
});

test('a catastrophic regex does not block other sessions (matching is linear and off the io thread)', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let stderr = '';
  const proc = spawn(serverBin, ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: clusterEnv().KUBECONFIG },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  const clients = [];
  const session = async (name) => {
    const c = new Client({ name, version: '1' }, { capabilities: {} });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    clients.push(c);
    return c;
  };
  try {
    await waitHealthy(`${base}/healthz`, () => stderr);
    const A = await session('evil');
    const B = await session('bystander');
    const evil = logs({ regex: EVIL }, A);
    // A backtracking engine on the io thread leaves these unanswered (the call ran for minutes).
    await B.ping({ timeout: 10000 });
    const tools = await B.listTools(undefined, { timeout: 10000 });
    assert.ok(tools.tools.some((t) => t.name === 'k8s_get_pod_logs'));
    const { data } = await evil;
    assert.equal(data.matchedLines, 100);
    assert.equal(data.logs, `${'a'.repeat(26)}\n`.repeat(100));
    assert.equal(data.truncated, false);
    assert.equal(data.scannedLines, messages.length);
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
  }
});
