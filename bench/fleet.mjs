// Fleet-wide call vs the slowest single cluster (issue 14): one `k8s_list_resources` over
// N = 2, 4, 8 workload clusters at once (`clusters: [...]`) against the same list on each of
// those clusters alone. A fleet call should take about as long as its slowest cluster, not the
// sum. The N Cluster objects (namespace org-bench on c0) point at the federation ground's three
// workload API servers (test/federation/up.sh) round-robin, each through its own TCP proxy that
// delays every chunk by BENCH_FLEET_DELAY_MS per direction (default 20 ms, a 40 ms round trip:
// workload clusters are remote; on loopback a list costs ~1 ms and measures only CPU). A second
// pass without the proxies (delay 0) shows the CPU-bound case on this machine's 2 cores.
// Local mode (stdio, no OAuth): the kubeconfig Secrets' credentials as they are.
// Usage (from test/e2e, a test ground with Dex; brings the federation ground up itself):
//   HARNESS_RUN=/dev/shm/h-x MCPK_BIN=.../mcp-kubernetes node ../../bench/fleet.mjs [reps]
// Env: BENCH_FLEET_DELAY_MS (20), BENCH_FLEET_SIZES (2,4,8), BENCH_FLEET_RESOURCE (namespaces).
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { startServer, call, kubectl } from '../test/e2e/lib/harness.mjs';
import { federationUp } from '../test/e2e/lib/federation.mjs';

const REPS = Number(process.argv[2] || 30);
const DELAY = Number(process.env.BENCH_FLEET_DELAY_MS ?? 20);
const SIZES = (process.env.BENCH_FLEET_SIZES || '2,4,8').split(',').map(Number);
const RESOURCE = process.env.BENCH_FLEET_RESOURCE || 'namespaces';
const NMAX = Math.max(...SIZES);
const NS = 'org-bench';

// A TCP proxy that holds every chunk `delay` ms in each direction (order kept: Node runs
// timers of equal duration in the order they were set). TLS passes through untouched.
function delayProxy(targetPort, delay) {
  const socks = new Set();
  const server = net.createServer((c) => {
    const u = net.connect(targetPort, '127.0.0.1');
    socks.add(c); socks.add(u);
    const pipe = (from, to) => from.on('data', (d) => (delay ? setTimeout(() => to.write(d), delay) : to.write(d)));
    pipe(c, u); pipe(u, c);
    const end = () => { c.destroy(); u.destroy(); socks.delete(c); socks.delete(u); };
    c.on('close', end); u.on('close', end); c.on('error', end); u.on('error', end);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port,
    close: () => { for (const s of socks) s.destroy(); server.close(); },
  })));
}

function objects(proxies, fed) {
  const docs = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }];
  proxies.forEach((p, i) => {
    const name = `bench-${i + 1}`;
    const wc = `wc${(i % 3) + 1}`;
    const kc = readFileSync(fed[`${wc.toUpperCase()}_KUBECONFIG`], 'utf8')
      .replace(/server: "https:\/\/127\.0\.0\.1:\d+"/, `server: "https://127.0.0.1:${p.port}"`);
    docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-kubeconfig`, namespace: NS },
      data: { value: Buffer.from(kc).toString('base64') } });
    docs.push({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster',
      metadata: { name, namespace: NS, labels: { 'giantswarm.io/organization': 'bench', 'mcp-bench/fleet': 'yes' } },
      spec: { controlPlaneEndpoint: { host: '127.0.0.1', port: p.port },
        infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'BenchCluster', name } } });
  });
  return docs;
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
async function timed(client, args) {
  const t0 = process.hrtime.bigint();
  const r = await call(client, 'k8s_list_resources', { resourceType: RESOURCE, ...args });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const sc = r.structuredContent;
  if (r.isError || (sc?.summary && sc.summary.failed)) {
    throw new Error(`call failed: ${JSON.stringify(sc?.clusters?.filter((c) => !c.ok) ?? r.content).slice(0, 400)}`);
  }
  return ms;
}

async function pass(delay, fed) {
  const proxies = [];
  for (let i = 0; i < NMAX; i++) proxies.push(await delayProxy(Number(fed[`WC${(i % 3) + 1}_PORT`]), delay));
  kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects(proxies, fed) }) });
  const srv = await startServer(['--enable-capi', '--fleet-max-concurrency', String(NMAX)]);
  const rows = [];
  try {
    const names = proxies.map((_, i) => `bench-${i + 1}`);
    // The server caches the cluster list for a few seconds: wait until it sees all N.
    for (let t = 0; ; t++) {
      const r = await call(srv.client, 'capi_list_clusters', { organization: 'bench' });
      if (r.structuredContent?.clusters?.length === NMAX) break;
      if (t > 120) throw new Error(`the server does not list the ${NMAX} bench clusters: ${JSON.stringify(r.content)}`);
      await new Promise((res) => setTimeout(res, 250));
    }
    for (const n of names) for (let w = 0; w < 3; w++) await timed(srv.client, { cluster: n });  // clients cached
    const single = {};
    for (const n of names) {
      const t = [];
      for (let k = 0; k < REPS; k++) t.push(await timed(srv.client, { cluster: n }));
      single[n] = median(t);
    }
    for (const N of SIZES) {
      const sel = names.slice(0, N);
      for (let w = 0; w < 3; w++) await timed(srv.client, { clusters: sel });
      const t = [];
      for (let k = 0; k < REPS; k++) t.push(await timed(srv.client, { clusters: sel }));
      const fleet = median(t);
      const slowest = Math.max(...sel.map((n) => single[n]));
      const sum = sel.reduce((a, n) => a + single[n], 0);
      rows.push({ delay, N, fleet, slowest, sum, ratio: fleet / slowest, ofSum: fleet / sum });
    }
  } finally {
    await srv.close();
    kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=60s'], { allowFail: true });
    for (const p of proxies) p.close();
  }
  return rows;
}

const fed = federationUp();
const all = [...(await pass(DELAY, fed)), ...(DELAY ? await pass(0, fed) : [])];
console.log(`fleet-wide k8s_list_resources (${RESOURCE}) vs one cluster; median of ${REPS} calls each, local mode (stdio)`);
console.log('| added latency per direction | N | fleet call (ms) | slowest single (ms) | sum of singles (ms) | fleet / slowest | fleet / sum |');
console.log('|---|---|---|---|---|---|---|');
for (const r of all) {
  console.log(`| ${r.delay} ms | ${r.N} | ${r.fleet.toFixed(1)} | ${r.slowest.toFixed(1)} | ${r.sum.toFixed(1)} | ` +
    `${r.ratio.toFixed(2)} | ${r.ofSum.toFixed(2)} |`);
}
