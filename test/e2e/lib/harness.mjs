// Shared helpers for end-to-end tests: a real MCP client (the TypeScript SDK) driving the
// built server over stdio against the local control plane, and kubectl to cross-check.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const serverBin = process.env.MCPK_BIN || path.join(repoRoot, 'build/mcp-kubernetes');
export const runDir = process.env.HARNESS_RUN || '/dev/shm/mcp-k8s-cluster';

// Variables written by test/cluster/up.sh ($RUN/env: `export K=V` lines).
export function clusterEnv() {
  const env = {};
  for (const line of readFileSync(path.join(runDir, 'env'), 'utf8').split('\n')) {
    const m = line.match(/^export ([A-Za-z0-9_]+)=(.*)$/);
    if (m) env[m[1]] = m[2].replace(/^["']|["']$/g, '');
  }
  return env;
}

export function kubectl(args, { input, kubeconfig, allowFail = false } = {}) {
  const env = clusterEnv();
  try {
    return execFileSync(env.KUBECTL, args, {
      input,
      env: { ...process.env, KUBECONFIG: kubeconfig || env.KUBECONFIG },
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 60000,
    });
  } catch (e) {
    if (allowFail) return { failed: true, stderr: String(e.stderr), stdout: String(e.stdout) };
    throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr}`);
  }
}

export function kubectlJson(args, opts) {
  return JSON.parse(kubectl([...args, '-o', 'json'], opts));
}

// Starts the server with the given flags; returns { client, close, stderr() }.
export async function startServer(args = [], { env = {}, kubeconfig } = {}) {
  const cenv = clusterEnv();
  const transport = new StdioClientTransport({
    command: serverBin,
    args: ['serve', ...args],
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: kubeconfig || cenv.KUBECONFIG, ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d.toString(); });
  const client = new Client({ name: 'e2e', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return { client, stderr: () => stderr, close: () => client.close() };
}

export async function call(client, name, args = {}, opts = {}) {
  return client.callTool({ name, arguments: args }, undefined, { timeout: 120000, ...opts });
}

// Calls a tool and asserts success; returns { text, data } (data = structuredContent).
export async function ok(client, name, args = {}, opts = {}) {
  const r = await call(client, name, args, opts);
  const text = r.content?.map((c) => c.text ?? '').join('') ?? '';
  assert.ok(!r.isError, `${name} failed: ${text}`);
  return { text, data: r.structuredContent, raw: r };
}

// Calls a tool and asserts an isError result; returns its text.
export async function fails(client, name, args = {}, opts = {}) {
  const r = await call(client, name, args, opts);
  const text = r.content?.map((c) => c.text ?? '').join('') ?? '';
  assert.ok(r.isError, `${name} should have failed but returned: ${text.slice(0, 400)}`);
  return text;
}

let nsCounter = 0;
// Creates a fresh namespace; returns its name. Remove it with dropNamespace.
export function freshNamespace(prefix = 'e2e') {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${nsCounter++}`;
  kubectl(['create', 'namespace', name]);
  // Pods are rejected until the namespace's default ServiceAccount exists.
  for (let i = 0; i < 100; i++) {
    if (!kubectl(['-n', name, 'get', 'serviceaccount', 'default'], { allowFail: true }).failed) break;
    execFileSync('sleep', ['0.1']);
  }
  return name;
}

export function dropNamespace(name) {
  kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found'], { allowFail: true });
}

// Asserts that the names a server call returned are what kubectl sees. Other test files
// delete namespaces with --wait=false, so objects may vanish between two reads: kubectl is
// read before and after the server call; every name present in both reads must be in the
// server's answer, and every name in the server's answer must be in one of them.
export async function assertNamesMatchKubectl(serverNames, kubectlArgs, opts = {}) {
  const read = () => kubectlJson(kubectlArgs, opts).items.map((i) => i.metadata.name);
  const before = new Set(read());
  const got = await serverNames();
  const after = new Set(read());
  const server = new Set(got);
  assert.equal(server.size, got.length, `duplicate names in the server's answer: ${got}`);
  const stable = [...before].filter((n) => after.has(n)).sort();
  assert.deepEqual(stable.filter((n) => !server.has(n)), [], 'names kubectl saw before and after are missing');
  assert.deepEqual(got.filter((n) => !before.has(n) && !after.has(n)), [], 'names kubectl never saw');
  return got;
}

// A TCP port free on 127.0.0.1 right now (for servers the tests start).
export async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Polls `url` until it answers 2xx (10 s); the error carries what the server logged.
export async function waitHealthy(url, logs = () => '') {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(url)).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become healthy: ${logs()}`);
}
