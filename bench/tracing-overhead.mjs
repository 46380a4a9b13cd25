// What tracing costs in the HTTP load phase: S concurrent sessions x N k8s_get_resource calls
// (runLoad, as in bench/run.sh's `load` phase, unthrottled), with tracing off and with every
// call traced (TRACING_EXPORTER=otlp, ratio 1.0) into a real Jaeger v2 (test/tracing/build.sh),
// alternated over ROUNDS so drift and other load on the machine hit both series alike.
// Objects are ConfigMaps in a namespace of its own, so any cluster will do.
// The collector runs at `nice` TRACE_BENCH_COLLECTOR_NICE (19): in production it runs elsewhere,
// while here it would take its ingest CPU from the same two cores as the server under test, the
// API server and the load generator, in the traced rounds only. The traced servers' own counters
// show whether every span was still exported (none dropped), so the nice level hides no cost.
// Reported: the median of the per-round traced/untraced calls/s ratios (rounds alternate
// order), the ratio of the medians, and the server's CPU per call.
// Usage: HARNESS_RUN=/dev/shm/h-shared MCPK_BIN=build/mcp-kubernetes [JAEGER_BIN=...] \
//          node bench/tracing-overhead.mjs
// Env: TRACE_BENCH_SESSIONS (16), TRACE_BENCH_CALLS (200 per session), TRACE_BENCH_ROUNDS (3),
//      TRACE_BENCH_COLLECTOR (jaeger; discard: see below), TRACE_BENCH_COLLECTOR_NICE (19; 0 runs
//      the collector at the server's priority), TRACE_BENCH_SAMPLER (the traced series'
//      OTEL_TRACES_SAMPLER; always_off = propagation only),
//      TRACE_BENCH_SERVER_CPU (unset; e.g. 1: the server under test runs on that CPU, and this
//      process (the load) and the collector on the others, so their work stays off its core),
//      TRACE_BENCH_MODE (alternate; concurrent: both servers at once; interleaved: both up, loaded
//      in turns; see the loops below) and TRACE_BENCH_SECONDS (a concurrent round's window, 10;
//      an interleaved turn, 2), OTEL_BSP_*, OTEL_EXPORTER_OTLP_PROTOCOL and
//      PROPAGATE_TRACE_TO_APISERVER (passed to the traced server).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLoad, runWindows, freePort, procSample } from './lib/load.mjs';
import { UNTHROTTLED } from './lib/servers.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const env = {};
for (const line of readFileSync(path.join(process.env.HARNESS_RUN || '/dev/shm/h-shared', 'env'), 'utf8').split('\n')) {
  const m = line.match(/^export ([A-Za-z0-9_]+)=(.*)$/);
  if (m) env[m[1]] = m[2].replace(/^["']|["']$/g, '');
}
const bin = process.env.MCPK_BIN || path.join(root, 'build/mcp-kubernetes');
const sessions = Number(process.env.TRACE_BENCH_SESSIONS || 16);
const calls = Number(process.env.TRACE_BENCH_CALLS || 200);
const rounds = Number(process.env.TRACE_BENCH_ROUNDS || 3);
// alternate: the two servers one after the other in each round (order alternating);
// concurrent: both at once for TRACE_BENCH_SECONDS each round (see the loop below).
// interleaved: both servers started and warmed once, then strict turns of TRACE_BENCH_SECONDS
// (2) each, ROUNDS pairs, order alternating (see below).
const mode = process.env.TRACE_BENCH_MODE || 'alternate';
if (!['alternate', 'concurrent', 'interleaved'].includes(mode)) throw new Error('TRACE_BENCH_MODE: alternate, concurrent or interleaved');
const windowMs = 1000 * Number(process.env.TRACE_BENCH_SECONDS || (mode === 'interleaved' ? 2 : 10));
const maxCalls = 100000;  // per session in a concurrent window: the window, not this, ends it
const kubectl = (args) => execFileSync(env.KUBECTL, args, { env: { ...process.env, KUBECONFIG: env.KUBECONFIG }, encoding: 'utf8' });
const log = (m) => process.stderr.write(`[tracing-overhead] ${m}\n`);

const ns = `otel-bench-${process.pid}`;
const names = Array.from({ length: 16 }, (_, i) => `cm-${i}`);
kubectl(['create', 'namespace', ns]);
for (const n of names) kubectl(['-n', ns, 'create', 'configmap', n, '--from-literal=k=v']);

// TRACE_BENCH_COLLECTOR=discard: an OTLP/HTTP endpoint (lib/discard-sink.mjs, a process of its
// own, on the server's CPU when pinned) that reads each batch whole and answers 200 without
// parsing it, so the run measures this server's tracing cost without a collector's ingest taking
// CPU from the API server. jaeger (the default) is the real thing, beside the API server.
const collector = process.env.TRACE_BENCH_COLLECTOR || 'jaeger';
if (!['jaeger', 'discard'].includes(collector)) throw new Error('TRACE_BENCH_COLLECTOR: jaeger or discard');
const sink = { requests: 0, bytes: 0 };
const jaegerBin = collector !== 'jaeger' ? null : process.env.JAEGER_BIN ||
  execFileSync(path.join(root, 'test/tracing/build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
let [q, g, otlp] = [await freePort(), await freePort(), await freePort()];
const niceLevel = String(Number(process.env.TRACE_BENCH_COLLECTOR_NICE ?? 19));
const serverCpu = process.env.TRACE_BENCH_SERVER_CPU;
// TRACE_BENCH_SAMPLER=always_off: tracing on but nothing sampled, i.e. the cost of context
// propagation alone (the traced series' OTEL_TRACES_SAMPLER; default: the server's default).
const sampler = process.env.TRACE_BENCH_SAMPLER || '';
const otherCpus = serverCpu === undefined ? null
  : os.cpus().map((_, i) => i).filter((i) => String(i) !== serverCpu).join(',');
if (otherCpus) execFileSync('taskset', ['-a', '-p', '-c', otherCpus, String(process.pid)], { stdio: 'ignore' });
const pinned = (cpus, cmd, args) => (cpus ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args]);
let jaeger = null, discard = null;
if (collector === 'jaeger') {
  const [jcmd, jargs] = pinned(otherCpus, 'nice', ['-n', niceLevel, jaegerBin, '--config', path.join(root, 'test/tracing/jaeger.yaml')]);
  jaeger = spawn(jcmd, jargs, {
    env: { PATH: process.env.PATH, JAEGER_QUERY_HTTP: String(q), JAEGER_QUERY_GRPC: String(g), JAEGER_OTLP_HTTP: String(otlp) },
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`http://127.0.0.1:${q}/api/services`)).ok) break; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
} else {
  // On the server's CPU when it is pinned: the sink stands for the network and a collector
  // elsewhere, so its ingest is charged to the traced server's side, not to the API server's.
  const [dcmd, dargs] = pinned(serverCpu, process.execPath, [path.join(root, 'bench/lib/discard-sink.mjs')]);
  discard = spawn(dcmd, dargs, { stdio: ['ignore', 'pipe', 'inherit'] });
  otlp = await new Promise((resolve, reject) => {
    let buf = '';
    discard.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(JSON.parse(buf).port);
    });
    discard.once('exit', () => reject(new Error('the discard sink exited')));
  });
}

const spec = (traced) => ({
  key: traced ? 'traced' : 'untraced',
  name: 'mcp-kubernetes',
  // taskset execs the server: the pid sampled for CPU is the server's.
  cmd: serverCpu === undefined ? bin : 'taskset',
  args: (port) => [...(serverCpu === undefined ? [] : ['-c', serverCpu, bin]),
    'serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`, ...UNTHROTTLED],
  endpoint: '/mcp',
  env: {
    PATH: process.env.PATH, HOME: process.env.HOME || '/root', KUBECONFIG: env.KUBECONFIG,
    ...(traced ? { TRACING_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp}`,
      OTEL_TRACES_SAMPLER_ARG: '1.0', OTEL_SERVICE_NAME: 'mcpk-bench',
      ...(sampler ? { OTEL_TRACES_SAMPLER: sampler } : {}),
      // The batch processor's settings and the encoding, when given to the bench
      // (OTEL_BSP_MAX_EXPORT_BATCH_SIZE..., OTEL_EXPORTER_OTLP_PROTOCOL=http/json).
      // PROPAGATE_TRACE_TO_APISERVER=false: what this server's tracing costs without the API
      // server's extra work for a sampled parent (bench/apiserver-traceparent.mjs).
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('OTEL_BSP_') ||
        k === 'OTEL_EXPORTER_OTLP_PROTOCOL' || k === 'PROPAGATE_TRACE_TO_APISERVER')) } : {}),
  },
  get: (n, name) => ['k8s_get_resource', { resourceType: 'configmaps', namespace: n, name }],
  scrapeMetrics: traced,
});
const counter = (text, name) => (text ?? '').split('\n').filter((l) => l.startsWith(name))
  .reduce((a, l) => a + Number(l.split(' ').pop()), 0);

const results = { untraced: [], traced: [] };
try {
  if (mode === 'interleaved') {
    // Both servers up at once but loaded one at a time: windows go untraced, traced, traced,
    // untraced, ... so each pair's two windows are neighbours in time (drift and the machine's
    // other load hit both), and no window includes a start-up. Only one server is busy at a time,
    // so neither pays for the other's work (which concurrent mode cannot avoid).
    const seq = [];
    for (let r = 0; r < rounds; r++) for (const traced of (r % 2 ? [true, false] : [false, true])) seq.push(`${traced}:${r}`);
    let pos = 0;
    const waiting = new Map();
    const kick = () => {
      const go = waiting.get(seq[pos]);
      if (!go) return;
      waiting.delete(seq[pos]);
      go(() => { pos++; kick(); });
    };
    const turn = (traced) => (w) => new Promise((go) => { waiting.set(`${traced}:${w}`, go); kick(); });
    let warm = 0, allWarm;
    const bothWarm = new Promise((res) => { allWarm = res; });
    const ready = () => { if (++warm === 2) allWarm(); return bothWarm; };
    const outs = await Promise.all([false, true].map((traced) => runWindows(spec(traced), {
      sessions, ns, podNames: names, windows: rounds, windowMs, callTimeoutMs: 60000, turn: turn(traced), ready })));
    for (const [i, traced] of [false, true].entries()) {
      const s = spec(traced);
      for (const w of outs[i].windows) results[s.key].push({ ...w, errors: 0 });
      results[s.key][0].errors = outs[i].errors;
      results[s.key][0].metricsText = outs[i].metricsText;
      if (outs[i].errors) log(`${s.key}: ${outs[i].errors} errors, e.g. ${outs[i].errorSamples[0]}`);
    }
    for (let r = 0; r < rounds; r++) log(`pair ${r + 1}: untraced ${results.untraced[r].callsPerS.toFixed(0)}, traced ${results.traced[r].callsPerS.toFixed(0)} calls/s`);
  }
  for (let r = 0; mode !== 'interleaved' && r < rounds; r++) {
    const order = r % 2 ? [true, false] : [false, true];
    const report = (s, out) => log(`round ${r + 1} ${s.key}: ${out.callsPerS.toFixed(0)} calls/s, p50 ${out.p50.toFixed(2)} ms, ` +
      `server CPU ${out.serverCpuMsPerCall.toFixed(3)} ms/call, errors ${out.errors}`);
    if (mode === 'concurrent') {
      // Both servers at once, each with its own sessions, their timed windows started together:
      // whatever the machine does during the window (frequency, steal, the API server's state)
      // hits both alike, so the per-round ratio measures tracing and not drift.
      let ready = 0, release;
      const all = new Promise((res) => { release = res; });
      const gate = () => { if (++ready === 2) release(); return all; };
      const outs = await Promise.all(order.map((traced) => runLoad(spec(traced), {
        sessions, calls: maxCalls, ns, podNames: names, budgetMs: windowMs, callTimeoutMs: 60000, settleMs: 500, log, gate })));
      order.forEach((traced, i) => { const s = spec(traced); report(s, outs[i]); results[s.key].push(outs[i]); });
    } else {
      for (const traced of order) {
        const s = spec(traced);
        const out = await runLoad(s, { sessions, calls, ns, podNames: names, budgetMs: 300000, callTimeoutMs: 60000, settleMs: 500, log });
        report(s, out);
        results[s.key].push(out);
      }
    }
  }
} finally {
  // The collector's own CPU (it ingests only in the traced rounds): what its share of the two
  // cores takes from the API server and the load generator, which a remote collector would not.
  const collectorProc = jaeger ?? discard;
  var collectorCpuS = collectorProc ? procSample(collectorProc.pid)?.cpuS ?? null : null;
  if (discard) Object.assign(sink, await (await fetch(`http://127.0.0.1:${otlp}/stats`).catch(() => null))?.json().catch(() => null) ?? {});
  var spans = jaeger ? await (await fetch(`http://127.0.0.1:${q}/api/services`).catch(() => null))?.json().catch(() => null) : null;
  jaeger?.kill('SIGTERM');
  discard?.kill('SIGTERM');
  kubectl(['delete', 'namespace', ns, '--wait=false']);
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// A 95 % interval for the median of `xs` (percentile bootstrap, 2000 resamples, a fixed seed so
// the same data gives the same interval): how far the figure can be trusted, given the noise.
const medianCi = (xs) => {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);  // 32-bit LCG
  const ms = Array.from({ length: 2000 }, () => med(xs.map(() => xs[Math.floor(rand() * xs.length)]))).sort((a, b) => a - b);
  return [Number(ms[50].toFixed(3)), Number(ms[1949].toFixed(3))];
};
// The geometric mean of the paired ratios with a 95 % bootstrap interval (same generator): with
// many pairs it is steadier than the median (it uses every pair's size, not only its rank).
const geo = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const geoCi = (xs) => {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
  const ms = Array.from({ length: 2000 }, () => geo(xs.map(() => xs[Math.floor(rand() * xs.length)]))).sort((a, b) => a - b);
  return [Number(ms[50].toFixed(3)), Number(ms[1949].toFixed(3))];
};
const cps = (k) => med(results[k].map((o) => o.callsPerS));
const cpu = (k) => med(results[k].map((o) => o.serverCpuMsPerCall));
// Rounds alternate which series goes first; pair each round's two runs.
const paired = results.traced.map((t, i) => t.callsPerS / results.untraced[i].callsPerS);
const pairedCpu = results.traced.map((t, i) => t.serverCpuMsPerCall / results.untraced[i].serverCpuMsPerCall);
console.log(JSON.stringify({
  sessions, calls: mode === 'alternate' ? calls : null, mode, windowS: mode === 'alternate' ? null : windowMs / 1000, rounds,
  untracedCallsPerS: cps('untraced'), tracedCallsPerS: cps('traced'),
  ratio: cps('traced') / cps('untraced'),
  pairedRatioMedian: med(paired), pairedRatioCi95: medianCi(paired),
  pairedRatioGeomean: geo(paired), pairedRatioGeomeanCi95: geoCi(paired), pairedRatios: paired.map((x) => Number(x.toFixed(3))),
  pairedCpuRatioMedian: med(pairedCpu), pairedCpuRatioCi95: medianCi(pairedCpu),
  pairedCpuRatios: pairedCpu.map((x) => Number(x.toFixed(3))),
  collector, sampler: sampler || null, collectorNice: collector === 'jaeger' ? Number(niceLevel) : null, serverCpu: serverCpu ?? null,
  ...(discard ? { discardedBatches: sink.requests, discardedBytes: sink.bytes } : {}),
  ...(collectorCpuS !== null ? { collectorCpuMsPerTracedCall: (1000 * collectorCpuS) / results.traced.reduce((a, o) => a + o.calls, 0) } : {}),
  spansExported: results.traced.reduce((a, o) => a + counter(o.metricsText, 'otel_spans_exported_total'), 0),
  spansDropped: results.traced.reduce((a, o) => a + counter(o.metricsText, 'otel_spans_dropped_total'), 0),
  untracedCpuMsPerCall: cpu('untraced'), tracedCpuMsPerCall: cpu('traced'),
  // Where the server's CPU goes, per thread name and user/system, median over the rounds.
  threadCpuMsPerCall: Object.fromEntries(['untraced', 'traced'].map((k) => {
    const names = [...new Set(results[k].flatMap((o) => Object.keys(o.threadCpuMsPerCall ?? {})))];
    return [k, Object.fromEntries(names.map((n) => [n, {
      user: med(results[k].map((o) => o.threadCpuMsPerCall?.[n]?.user ?? 0)),
      sys: med(results[k].map((o) => o.threadCpuMsPerCall?.[n]?.sys ?? 0)),
    }]))];
  })),
  errors: [...results.untraced, ...results.traced].reduce((a, o) => a + o.errors, 0),
  jaegerServices: spans?.data ?? null,
}, null, 2));
