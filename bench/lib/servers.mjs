// The servers under test: how to start each one and how to ask it for "one pod" and "the pods
// of a namespace" with its own tools, plus how to check that a list answer is complete.
import path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';

const here = path.dirname(new URL(import.meta.url).pathname);
export const benchDir = path.resolve(here, '..');
const nm = path.join(benchDir, 'node_modules');

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(nm, name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export const UNTHROTTLED = ['--qps-limit', '1000000', '--burst-limit', '100000'];

// A list answer is judged complete when every pod name appears in the text the model reads.
export function namesFound(text, names) {
  let n = 0;
  for (const name of names) if (text.includes(name)) n++;
  return n;
}

// Text content of a tools/call result (what a model reads; structuredContent aside).
export function resultText(result) {
  return (result?.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

export function serverSpecs({ oursBin, baseEnv }) {
  const kmsBin = path.join(nm, 'kubernetes-mcp-server-linux-amd64/bin/kubernetes-mcp-server-linux-amd64');
  const fluxJs = path.join(nm, 'mcp-server-kubernetes/dist/index.js');
  // Flux shells out to kubectl and caps each child's output at 1 MiB by default: a 500-pod
  // `kubectl get -o json` is bigger, so the measured sessions raise the cap (the default is
  // checked separately and reported).
  const fluxBig = { SPAWN_MAX_BUFFER: String(64 << 20) };
  return [
    {
      key: 'ours',
      name: 'mcp-kubernetes',
      version: null, // filled from serverInfo
      available: existsSync(oursBin) ? null : `binary not found: ${oursBin} (build it or set MCPK_BIN)`,
      cmd: oursBin,
      // Read-only configuration is our default (--non-destructive); "all tools" unlocks writes.
      args: ['serve'],
      allToolsArgs: ['serve', '--non-destructive=false'],
      env: baseEnv,
      get: (ns, name) => ['k8s_get_resource', { resourceType: 'pods', namespace: ns, name }],
      list: (ns, n) => ['k8s_list_resources', { resourceType: 'pods', namespace: ns, limit: n }],
      listWide: (ns, n) => ['k8s_list_resources', { resourceType: 'pods', namespace: ns, limit: n, output: 'wide' }],
      columns: 'NAME, READY, STATUS, RESTARTS, AGE (tab-separated; namespace given once in the request)',
      wideColumns: 'NAME, READY, STATUS, RESTARTS, AGE, IP, NODE, NOMINATED NODE, READINESS GATES',
    },
    {
      key: 'ours-unthrottled',
      name: 'mcp-kubernetes (no client rate limit)',
      latencyOnly: true,
      available: existsSync(oursBin) ? null : `binary not found: ${oursBin}`,
      cmd: oursBin,
      args: ['serve', ...UNTHROTTLED],
      env: baseEnv,
      get: (ns, name) => ['k8s_get_resource', { resourceType: 'pods', namespace: ns, name }],
      list: (ns, n) => ['k8s_list_resources', { resourceType: 'pods', namespace: ns, limit: n }],
      flags: UNTHROTTLED.join(' '),
    },
    {
      key: 'kms',
      name: 'kubernetes-mcp-server (containers, Go)',
      npm: 'kubernetes-mcp-server-linux-amd64',
      version: pkgVersion('kubernetes-mcp-server-linux-amd64'),
      available: existsSync(kmsBin) ? null : `not installed: ${kmsBin} (run npm ci in bench/)`,
      cmd: kmsBin,
      args: ['--read-only'],
      allToolsArgs: [],
      env: baseEnv,
      get: (ns, name) => ['pods_get', { namespace: ns, name }],
      list: (ns) => ['pods_list_in_namespace', { namespace: ns }],
      columns: 'NAMESPACE, APIVERSION, KIND, NAME, READY, STATUS, RESTARTS, AGE, IP, NODE, NOMINATED NODE, READINESS GATES, LABELS (space-aligned table)',
    },
    {
      key: 'flux',
      name: 'mcp-server-kubernetes (Flux159, Node)',
      npm: 'mcp-server-kubernetes',
      version: pkgVersion('mcp-server-kubernetes'),
      available: existsSync(fluxJs) ? null : `not installed: ${fluxJs} (run npm ci in bench/)`,
      cmd: process.execPath,
      args: [fluxJs],
      allToolsArgs: [fluxJs],
      env: { ...baseEnv, ...fluxBig, ALLOW_ONLY_READONLY_TOOLS: 'true' },
      allToolsEnv: baseEnv, // its defaults: every tool, 1 MiB kubectl output cap
      get: (ns, name) => ['kubectl_get', { resourceType: 'pods', namespace: ns, name, output: 'json' }],
      list: (ns) => ['kubectl_get', { resourceType: 'pods', namespace: ns }],
      columns: 'name, namespace, kind, status, createdAt (pretty-printed JSON objects)',
      note: `runs with SPAWN_MAX_BUFFER=${64 << 20} and ALLOW_ONLY_READONLY_TOOLS=true`,
    },
  ];
}

// The servers of the HTTP load phase: started listening on a port, one pod get per call.
// Ours gets a client rate limit far above what the load can reach, so the numbers measure the
// server, not its limiter; kubernetes-mcp-server gets the same through client-go's env knobs.
export function loadSpecs({ oursBin, baseEnv }) {
  const kmsBin = path.join(nm, 'kubernetes-mcp-server-linux-amd64/bin/kubernetes-mcp-server-linux-amd64');
  return [
    {
      key: 'ours',
      name: 'mcp-kubernetes',
      available: existsSync(oursBin) ? null : `binary not found: ${oursBin}`,
      cmd: oursBin,
      args: (port) => ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`, ...UNTHROTTLED],
      flagsText: `serve --transport streamable-http --http-addr 127.0.0.1:PORT ${UNTHROTTLED.join(' ')}`,
      endpoint: '/mcp',
      env: baseEnv,
      get: (ns, name) => ['k8s_get_resource', { resourceType: 'pods', namespace: ns, name }],
    },
    {
      key: 'kms',
      name: 'kubernetes-mcp-server',
      version: pkgVersion('kubernetes-mcp-server-linux-amd64'),
      available: existsSync(kmsBin) ? null : `not installed: ${kmsBin} (run npm ci in bench/)`,
      cmd: kmsBin,
      args: (port) => ['--port', String(port), '--bind-address', '127.0.0.1', '--read-only'],
      flagsText: 'kubernetes-mcp-server --port PORT --bind-address 127.0.0.1 --read-only',
      endpoint: '/mcp',
      env: baseEnv,
      get: (ns, name) => ['pods_get', { namespace: ns, name }],
    },
  ];
}
