// What a traceparent costs the API server itself: 16 keep-alive loops of GET configmap straight
// to kube-apiserver (no MCP server in between), in windows that rotate through no header, a
// traceparent with flags 00 (not sampled) and one with flags 01 (sampled). Reported: requests/s
// and the API server's CPU per request (all its threads, /proc/<pid>/task/*/schedstat), median
// over the windows and paired against the no-header window of the same rotation.
// Why: with every call traced, every API request this server sends says "sampled", and the
// tracing benchmark's calls/s loss has to be split between this server and the API server.
// Usage: HARNESS_RUN=/dev/shm/h-shared node bench/apiserver-traceparent.mjs
// Env: APIS_BENCH_WINDOWS (30 rotations), APIS_BENCH_SECONDS (3 per window).
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cpuNs } from './lib/load.mjs';

const env = {};
for (const line of readFileSync(path.join(process.env.HARNESS_RUN || '/dev/shm/h-shared', 'env'), 'utf8').split('\n')) {
  const m = line.match(/^export ([A-Za-z0-9_]+)=(.*)$/);
  if (m) env[m[1]] = m[2].replace(/^["']|["']$/g, '');
}
const windows = Number(process.env.APIS_BENCH_WINDOWS || 30);
const windowMs = 1000 * Number(process.env.APIS_BENCH_SECONDS || 3);
const api = new URL(env.APISERVER_URL_C0);
const pid = execFileSync('pgrep', ['-f', `kube-apiserver .*--secure-port=${api.port}( |$)`], { encoding: 'utf8' }).trim().split('\n')[0];
const kubectl = (args) => execFileSync(env.KUBECTL, args, { env: { ...process.env, KUBECONFIG: env.KUBECONFIG }, encoding: 'utf8' });
const ns = `apis-bench-${process.pid}`;
kubectl(['create', 'namespace', ns]);
kubectl(['-n', ns, 'create', 'configmap', 'cm', '--from-literal=k=v']);

const agent = new https.Agent({
  keepAlive: true, maxSockets: 64,
  ca: readFileSync(env.CA_CERT), cert: readFileSync(env.ADMIN_CERT), key: readFileSync(env.ADMIN_KEY),
});
const get = (headers) => new Promise((resolve, reject) => {
  const r = https.request({ host: api.hostname, port: api.port, path: `/api/v1/namespaces/${ns}/configmaps/cm`, agent, headers, timeout: 30000 },
    (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
  r.on('timeout', () => r.destroy(new Error('timeout')));
  r.on('error', reject);
  r.end();
});
const kinds = ['none', '00', '01'];
const res = Object.fromEntries(kinds.map((k) => [k, []]));
let errors = 0;
try {
  for (let w = 0; w < windows; w++) {
    for (const k of (w % 2 ? [...kinds].reverse() : kinds)) {
      const stopAt = Date.now() + windowMs;
      let n = 0;
      const c0 = cpuNs(pid);
      const t0 = process.hrtime.bigint();
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (Date.now() < stopAt) {
          const h = k === 'none' ? {} : { traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-${k}` };
          const status = await get(h).catch(() => 0);
          if (status === 200) n++;
          else errors++;
        }
      }));
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (!n) throw new Error(`no request answered in a ${k} window (${errors} errors)`);
      res[k].push({ rps: n / s, cpuUsPerReq: (cpuNs(pid) - c0) / 1000 / n });
    }
  }
} finally {
  agent.destroy();
  kubectl(['delete', 'namespace', ns, '--wait=false']);
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const paired = (a, f) => Number(med(res[a].map((x, i) => x[f] / res.none[i][f])).toFixed(3));
console.log(JSON.stringify({
  windows, windowS: windowMs / 1000, errors,
  rps: Object.fromEntries(kinds.map((k) => [k, Math.round(med(res[k].map((x) => x.rps)))])),
  cpuUsPerRequest: Object.fromEntries(kinds.map((k) => [k, Number(med(res[k].map((x) => x.cpuUsPerReq)).toFixed(1))])),
  pairedVsNone: { rps: { '00': paired('00', 'rps'), '01': paired('01', 'rps') }, cpu: { '00': paired('00', 'cpuUsPerReq'), '01': paired('01', 'cpuUsPerReq') } },
}, null, 2));
