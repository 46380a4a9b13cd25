// Federation (issue 14) e2e helpers: brings up the federation test ground
// (test/federation/up.sh) on the running harness, reads its env file, runs kubectl against a
// workload cluster, reads the workload API servers' audit logs, stops/starts/freezes them.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, existsSync, openSync, readSync, closeSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { repoRoot, runDir, clusterEnv } from './harness.mjs';

const UP = path.join(repoRoot, 'test/federation/up.sh');

function up(args = []) {
  // Cold: ~10 s (three apiservers); warm: < 1 s. The CRD comes from the cache that
  // scripts/test.sh fills in its cluster-bins phase (or is downloaded here once).
  execFileSync(UP, ['--run-dir', runDir, ...args], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600000 });
}

// Idempotent: every test file calls it in its before hook; returns fedEnv().
export function federationUp() {
  up();
  return fedEnv();
}

export function fedEnv() {
  const env = {};
  for (const line of readFileSync(path.join(runDir, 'federation/env'), 'utf8').split('\n')) {
    const m = line.match(/^export ([A-Za-z0-9_]+)=(.*)$/);
    if (m) env[m[1]] = m[2].replace(/^["']|["']$/g, '').replace(/\\ /g, ' ');
  }
  return env;
}

// --stop (connection refused), --start, --freeze (SIGSTOP: a hang), --thaw.
export const stopWc = (wc) => up(['--stop', wc]);
export const startWc = (wc) => up(['--start', wc]);
export const freezeWc = (wc) => up(['--freeze', wc]);
export const thawWc = (wc) => up(['--thaw', wc]);

// kubectl against a workload cluster with its admin kubeconfig (the Secret's credentials).
export function wcKubectl(wc, args, { allowFail = false, input } = {}) {
  const env = clusterEnv();
  const kubeconfig = fedEnv()[`${wc.toUpperCase()}_KUBECONFIG`];
  try {
    return execFileSync(env.KUBECTL, args, {
      input, env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'], timeout: 60000,
    });
  } catch (e) {
    if (allowFail) return { failed: true, stderr: String(e.stderr), stdout: String(e.stdout) };
    throw new Error(`kubectl (${wc}) ${args.join(' ')} failed: ${e.stderr}`);
  }
}

export function wcExists(wc, args) {
  return !wcKubectl(wc, ['get', ...args], { allowFail: true }).failed;
}

// The audit log's current size: events after this mark are the ones a test caused.
export function auditMark(wc) {
  const f = fedEnv()[`${wc.toUpperCase()}_AUDIT_LOG`];
  return existsSync(f) ? statSync(f).size : 0;
}

function auditEventsSince(wc, mark) {
  const f = fedEnv()[`${wc.toUpperCase()}_AUDIT_LOG`];
  if (!existsSync(f)) return [];
  const size = statSync(f).size;
  const from = size >= mark ? mark : 0;  // a rotation (--audit-log-maxsize) restarts the file
  const buf = Buffer.alloc(size - from);
  const fd = openSync(f, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  const events = [];
  for (const l of buf.toString('utf8').split('\n')) {
    try {
      if (l.startsWith('{')) events.push(JSON.parse(l));
    } catch { /* the last line, still being written */ }
  }
  return events;
}

// Waits (bounded: the API server writes an event right after it answered) for audit events
// since `mark` that satisfy `pred`; returns them (possibly empty after the wait).
export async function auditEvents(wc, mark, pred, { timeoutMs = 10000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = auditEventsSince(wc, mark).filter(pred);
    if (found.length || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Events that did not happen: read once after a short settle (the positive check above bounds
// how late an event is written; a call's own event is in the log before the next call returns).
export function auditEventsNow(wc, mark, pred) {
  return auditEventsSince(wc, mark).filter(pred);
}

// What test/federation/up.sh creates on the management cluster, field by field.
export const EXPECTED = {
  wc1: { name: 'wc1', namespace: 'org-acme', organization: 'acme', provider: 'aws', release: '31.1.0',
    kubernetesVersion: 'v1.36.3', phase: 'Provisioned', ready: true, controlPlaneReady: true,
    infrastructureReady: true, nodeCount: 5, description: 'acme production (admins: all, viewers: view)', tier: 'prod' },
  wc2: { name: 'wc2', namespace: 'org-acme', organization: 'acme', provider: 'azure', release: '30.0.0',
    kubernetesVersion: 'v1.35.2', phase: 'Provisioned', ready: true, controlPlaneReady: true,
    infrastructureReady: true, nodeCount: 4, description: '', tier: 'staging' },
  wc3: { name: 'wc3', namespace: 'org-beta', organization: 'beta', provider: 'proxmox', release: '29.4.0',
    kubernetesVersion: 'v1.34.4', phase: 'Provisioned', ready: true, controlPlaneReady: true,
    infrastructureReady: true, nodeCount: 2, description: 'beta on Proxmox (viewers: view, admins: nothing)', tier: 'prod' },
};
export const LIST_FIELDS = ['name', 'namespace', 'organization', 'provider', 'release', 'kubernetesVersion', 'phase',
  'ready', 'controlPlaneReady', 'infrastructureReady', 'nodeCount'];

// Asserts a capi list item against EXPECTED (and its age is a short duration string).
export function assertClusterItem(item, wc) {
  const want = EXPECTED[wc];
  for (const f of LIST_FIELDS) assert.deepEqual(item[f], want[f], `${wc}.${f}: ${JSON.stringify(item)}`);
  assert.equal(typeof item.age, 'string', `${wc}.age: ${JSON.stringify(item)}`);
  assert.match(item.age, /^(<1m|\d+[smhd].*)$/, `${wc}.age: ${item.age}`);
}

// The per-cluster sections of a fleet-wide answer, by cluster name.
export function fleetByCluster(data) {
  assert.ok(data && Array.isArray(data.clusters), `not a fleet answer: ${JSON.stringify(data)?.slice(0, 400)}`);
  return Object.fromEntries(data.clusters.map((c) => [c.cluster, c]));
}

// Names in a k8s_list_resources structuredContent (rows: first column is the name).
export function rowNames(result) {
  if (Array.isArray(result?.rows)) return result.rows.map((r) => (Array.isArray(r) ? r[0] : r.name));
  if (Array.isArray(result?.items)) return result.items.map((i) => i.metadata?.name ?? i.name);
  return [];
}

// Polls `fn` (an async predicate) until true, at most timeoutMs (the server caches the cluster
// list for a few seconds, so a Cluster object created by a test shows up within that).
export async function eventually(fn, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last === true) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${last?.message ?? last})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
