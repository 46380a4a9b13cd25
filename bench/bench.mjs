#!/usr/bin/env node
// Side-by-side benchmark: this server vs kubernetes-mcp-server (Go) vs mcp-server-kubernetes
// (Node), same cluster, same raw stdio client, plus a direct keep-alive HTTPS floor (phase
// `stdio`); concurrent MCP sessions over Streamable HTTP (phase `load`); exec and port-forward
// beside kubectl (phase `podops`); `ping` latency of one session while others list 10,000 objects
// (phase `responsiveness`).
// Started by bench/run.sh, which prepares the cluster and the namespace of pods; all inputs
// come from the environment (see `config` below). Writes JSON results and the markdown report.
import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { StdioClient } from './lib/stdio-client.mjs';
import { ApiFloor, clusterFromKubeconfig } from './lib/floor.mjs';
import { percentile, median, procMem, treeRssKiB, sleep, nsToMs } from './lib/stats.mjs';
import { serverSpecs, loadSpecs, namesFound, resultText, UNTHROTTLED } from './lib/servers.mjs';
import { runLoad, tcpActiveOpens } from './lib/load.mjs';
import { runPodOps } from './lib/podops.mjs';
import { ensureConfigMaps, responsivenessSpecs, runResponsiveness } from './lib/responsiveness.mjs';
import { renderReport } from './lib/report.mjs';

const envInt = (k, d) => (process.env[k] ? Number.parseInt(process.env[k], 10) : d);
const config = {
  kubectl: process.env.KUBECTL || 'kubectl',
  kubeconfig: process.env.KUBECONFIG,
  ns: process.env.BENCH_NS || 'bench',
  pods: envInt('BENCH_PODS', 500),
  nSpawn: envInt('BENCH_N_SPAWN', 20),
  nGet: envInt('BENCH_N_GET', 200),
  nList: envInt('BENCH_N_LIST', 50),
  warmup: envInt('BENCH_WARMUP', 5),
  idleMs: envInt('BENCH_IDLE_MS', 3000),
  // A slow server (seconds per call) stops a loop at this budget, keeping at least minSamples.
  phaseBudgetMs: envInt('BENCH_PHASE_BUDGET_S', 90) * 1000,
  minSamples: envInt('BENCH_MIN_SAMPLES', 5),
  callTimeoutMs: envInt('BENCH_CALL_TIMEOUT_S', 60) * 1000,
  initTimeoutMs: envInt('BENCH_INIT_TIMEOUT_S', 60) * 1000,
  only: (process.env.BENCH_ONLY || '').split(',').filter(Boolean),
  // Load phase: sessions x calls per session (the published run is 64 x 1000).
  loadSessions: envInt('BENCH_LOAD_SESSIONS', 64),
  loadCalls: envInt('BENCH_LOAD_CALLS', 1000),
  loadBudgetMs: envInt('BENCH_LOAD_BUDGET_S', 1200) * 1000,
  // Also run each server briefly with its default client rate limit (0: skip).
  loadDefaultsMs: envInt('BENCH_LOAD_DEFAULTS_S', 15) * 1000,
  // Pod-ops phase.
  nExec: envInt('BENCH_EXEC_N', 100),
  pfBytes: envInt('BENCH_PF_MB', 64) * 2 ** 20,
  pfReps: envInt('BENCH_PF_REPS', 3),
  nConnect: envInt('BENCH_PF_CONNECT_N', 50),
  pfTargetPort: envInt('PF_TARGET_8080', 0),
  // Responsiveness phase: N ConfigMaps listed by L sessions while one session pings.
  respNs: process.env.BENCH_RESP_NS || 'bench-resp',
  respObjects: envInt('BENCH_RESP_OBJECTS', 10000),
  respListers: envInt('BENCH_RESP_LISTERS', 2),
  respIdleMs: envInt('BENCH_RESP_IDLE_S', 10) * 1000,
  respListMs: envInt('BENCH_RESP_LIST_S', 30) * 1000,
  respPingMs: envInt('BENCH_RESP_PING_MS', 10),
  respPageLimit: envInt('BENCH_RESP_PAGE', 1000),
  respModes: (process.env.BENCH_RESP_MODES || 'full,summary').split(',').filter(Boolean),
  oursBin: process.env.MCPK_BIN,
  jsonOut: process.env.BENCH_JSON_OUT,
  mdOut: process.env.BENCH_MD_OUT,
  command: process.env.BENCH_COMMAND || 'bench/run.sh',
  profileNotes: process.env.BENCH_PROFILE_NOTES,
};

function log(...a) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);
}

let tokenizers = null;
async function loadTokenizers() {
  try {
    const o200k = await import('gpt-tokenizer/encoding/o200k_base');
    const cl100k = await import('gpt-tokenizer/encoding/cl100k_base');
    tokenizers = { o200k: o200k.countTokens, cl100k: cl100k.countTokens };
  } catch (e) {
    log(`gpt-tokenizer not available (${e.message}); token counts are bytes/4 only`);
  }
}
function tokens(text) {
  const bytes = Buffer.byteLength(text, 'utf8');
  return {
    bytes,
    approx: Math.round(bytes / 4),
    o200k: tokenizers ? tokenizers.o200k(text) : null,
    cl100k: tokenizers ? tokenizers.cl100k(text) : null,
  };
}

function summarize(samplesMs, extra = {}) {
  return {
    n: samplesMs.length,
    p50: median(samplesMs),
    p99: percentile(samplesMs, 99),
    min: Math.min(...samplesMs),
    max: Math.max(...samplesMs),
    ...extra,
  };
}

// Runs fn n times sequentially; stops early (keeping >= minSamples) past the phase budget.
async function loop(n, fn) {
  const samples = [];
  const t0 = Date.now();
  let last;
  for (let i = 0; i < n; i++) {
    last = await fn(i);
    samples.push(last.ms);
    if (Date.now() - t0 > config.phaseBudgetMs && samples.length >= config.minSamples) break;
  }
  return { stats: summarize(samples, { requested: n }), last };
}

// Spawn floor: a process that echoes one line back (head -n1): fork/exec + pipes, no work.
async function spawnFloorOnce() {
  const t0 = process.hrtime.bigint();
  const child = spawn('head', ['-n1'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const got = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('head -n1 did not answer in 10 s')), 10000);
    child.stdout.once('data', () => {
      clearTimeout(timer);
      resolve(process.hrtime.bigint());
    });
    child.on('error', reject);
  });
  child.stdin.end('{"jsonrpc":"2.0","id":1,"method":"initialize"}\n');
  const t1 = await got;
  await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  return nsToMs(t1 - t0);
}

async function measureSpawns(spec) {
  const samples = [];
  const t0 = Date.now();
  for (let i = 0; i < config.nSpawn; i++) {
    const c = new StdioClient(spec.key, spec.cmd, spec.args, spec.env);
    const start = c.start();
    try {
      const r = await c.initialize(config.initTimeoutMs);
      samples.push(nsToMs(r.tEnd - start));
    } finally {
      await c.close();
    }
    if (Date.now() - t0 > config.phaseBudgetMs && samples.length >= config.minSamples) break;
  }
  return summarize(samples, { requested: config.nSpawn });
}

async function openSession(spec, args = spec.args, env = spec.env) {
  const c = new StdioClient(spec.key, spec.cmd, args, env);
  const start = c.start();
  const init = await c.initialize(config.initTimeoutMs);
  c.notify('notifications/initialized', {});
  return { c, initMs: nsToMs(init.tEnd - start), serverInfo: init.result?.serverInfo, protocolVersion: init.result?.protocolVersion };
}

async function toolsList(c) {
  const r = await c.request('tools/list', {}, config.callTimeoutMs);
  const tools = r.result?.tools || [];
  let bytes = r.bytes;
  let count = tools.length;
  // Follow pagination so every server is charged for its whole catalogue.
  let cursor = r.result?.nextCursor;
  for (let page = 0; cursor && page < 100; page++) {
    const more = await c.request('tools/list', { cursor }, config.callTimeoutMs);
    bytes += more.bytes;
    count += (more.result?.tools || []).length;
    cursor = more.result?.nextCursor;
  }
  return { bytes, count, tokens: tokens(JSON.stringify(r.result)) };
}

// Analyses one list answer: sizes, tokens, and whether all pods are in the text.
function analyseList(r, podNames) {
  const text = resultText(r.result);
  const structured = r.result?.structuredContent ? JSON.stringify(r.result.structuredContent) : '';
  return {
    wireBytes: r.bytes,
    text: tokens(text),
    structuredBytes: Buffer.byteLength(structured, 'utf8'),
    podsInText: namesFound(text, podNames),
    sample: text.split('\n').slice(0, text.trimStart().startsWith('{') ? 9 : 3).join('\n').slice(0, 500),
  };
}

async function measureServer(spec, ctx, floor) {
  const res = { key: spec.key, name: spec.name, errors: [], version: spec.version || null };
  const attempt = async (what, fn) => {
    try {
      return await fn();
    } catch (e) {
      log(`${spec.key}: ${what} failed: ${e.message.split('\n')[0]}`);
      res.errors.push(`${what}: ${e.message.split('\n').slice(0, 3).join(' | ')}`);
      return undefined;
    }
  };

  if (!spec.latencyOnly) {
    log(`${spec.key}: ${config.nSpawn} spawns -> initialize`);
    res.spawn = await attempt('spawn/initialize', () => measureSpawns(spec));
    if (!res.spawn) return res; // cannot even start: skip the rest of this server
    log(`${spec.key}: default configuration (all tools${spec.allToolsEnv ? ', default env' : ''})`);
    res.defaults = await attempt('default configuration', async () => {
      const s = await openSession(spec, spec.allToolsArgs, spec.allToolsEnv || spec.env);
      try {
        const tl = await toolsList(s.c);
        // Does the 500-pod list work out of the box? (Flux's default kubectl buffer is 1 MiB.)
        const [tool, args] = spec.list(ctx.ns, ctx.pods);
        let listOk = true;
        let listError = null;
        try {
          const r = await s.c.callTool(tool, args, config.callTimeoutMs);
          const a = analyseList(r, ctx.podNames);
          if (a.podsInText < ctx.podNames.length) {
            listOk = false;
            listError = `only ${a.podsInText}/${ctx.podNames.length} pods in the answer`;
          }
        } catch (e) {
          listOk = false;
          listError = e.message.split('\n')[0].slice(0, 300);
        }
        return { toolsList: tl, listOk, listError };
      } finally {
        await s.c.close();
      }
    });
  }

  log(`${spec.key}: measured session`);
  const s = await attempt('start session', () => openSession(spec));
  if (!s) return res;
  try {
    res.serverInfo = s.serverInfo;
    res.protocolVersion = s.protocolVersion;
    if (!res.version) res.version = s.serverInfo?.version || null;
    if (!spec.latencyOnly) {
      await sleep(config.idleMs);
      const m = procMem(s.c.pid);
      res.idle = m ? { rssKiB: m.rss, treeRssKiB: treeRssKiB(s.c.pid) } : null;
      res.toolsList = await attempt('tools/list', () => toolsList(s.c));
    }

    const call = async ([tool, args]) => {
      const r = await s.c.callTool(tool, args, config.callTimeoutMs);
      return { ms: nsToMs(r.ns), r };
    };
    // Pod get interleaved with a raw keep-alive GET of the same pod from this process (raw,
    // MCP, raw, MCP, ...; both answers JSON-parsed inside the timing): the difference is the
    // server's cost, with drift and machine load shared by both series.
    res.get = await attempt('pod get', async () => {
      const pod = (i) => ctx.podNames[i % ctx.podNames.length];
      const raw = async (i) => {
        const t0 = process.hrtime.bigint();
        const r = await floor.get(`/api/v1/namespaces/${ctx.ns}/pods/${pod(i)}`);
        JSON.parse(r.body);
        return nsToMs(process.hrtime.bigint() - t0);
      };
      const mcp = async (i) => {
        const t0 = process.hrtime.bigint();
        const r = await s.c.callTool(...spec.get(ctx.ns, pod(i)), config.callTimeoutMs); // parses the line
        return { ms: nsToMs(process.hrtime.bigint() - t0), r };
      };
      for (let i = 0; i < config.warmup; i++) {
        await raw(i);
        await mcp(i);
      }
      log(`${spec.key}: ${config.nGet} x pod get, each beside a raw GET`);
      const mcpMs = [];
      const rawMs = [];
      const t0 = Date.now();
      let last;
      for (let i = 0; i < config.nGet; i++) {
        rawMs.push(await raw(i));
        last = await mcp(i);
        mcpMs.push(last.ms);
        if (Date.now() - t0 > config.phaseBudgetMs && mcpMs.length >= config.minSamples) break;
      }
      const text = resultText(last.r.result);
      const stats = summarize(mcpMs, { requested: config.nGet });
      const rawStats = summarize(rawMs);
      return {
        ...stats,
        outBytes: last.r.bytes,
        text: tokens(text),
        raw: rawStats,
        diffP50: stats.p50 - rawStats.p50,
        diffP99: stats.p99 - rawStats.p99,
        pairDiffP50: median(mcpMs.map((x, i) => x - rawMs[i])),
      };
    });
    res.list = await attempt('pod list', async () => {
      for (let i = 0; i < Math.min(config.warmup, 3); i++) await call(spec.list(ctx.ns, ctx.pods));
      log(`${spec.key}: ${config.nList} x list of ${ctx.pods} pods`);
      const { stats, last } = await loop(config.nList, () => call(spec.list(ctx.ns, ctx.pods)));
      const a = analyseList(last.r, ctx.podNames);
      if (a.podsInText !== ctx.podNames.length)
        res.errors.push(`pod list: only ${a.podsInText}/${ctx.podNames.length} pod names in the text answer`);
      return { ...stats, ...a, columns: spec.columns };
    });
    if (spec.listWide) {
      res.listWide = await attempt('pod list (wide)', async () => {
        const { r } = await call(spec.listWide(ctx.ns, ctx.pods));
        return { ...analyseList(r, ctx.podNames), columns: spec.wideColumns };
      });
    }
    const m = procMem(s.c.pid);
    if (m) res.peakRssKiB = m.hwm;
    if (s.c.stdoutNoise) res.errors.push(`${s.c.stdoutNoise} non-JSON lines on stdout`);
  } finally {
    await s.c.close();
  }
  return res;
}

async function measureFloor(ctx, floor) {
  const getPath = (i) => `/api/v1/namespaces/${ctx.ns}/pods/${ctx.podNames[i % ctx.podNames.length]}`;
  const listPath = `/api/v1/namespaces/${ctx.ns}/pods?limit=${ctx.pods}`;
  const table = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
  const run = async (n, fn) => {
    for (let i = 0; i < config.warmup; i++) await fn(i);
    const samples = [];
    let last;
    for (let i = 0; i < n; i++) {
      last = await fn(i);
      samples.push(nsToMs(last.ns));
    }
    return { ...summarize(samples, { requested: n }), bytes: Buffer.byteLength(last.body) };
  };
  return {
    get: await run(config.nGet, (i) => floor.get(getPath(i))),
    listTable: await run(config.nList, () => floor.get(listPath, table)),
    // The same Table without the per-row object metadata: what a cells-only list needs.
    listTableNoObject: await run(config.nList, () => floor.get(`${listPath}&includeObject=None`, table)),
    listJson: await run(config.nList, () => floor.get(listPath)),
  };
}

function machineNote() {
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m) || [])[1] || 'unknown CPU';
  return {
    cpus: os.cpus().length,
    cpu,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    loadStart: os.loadavg().map((x) => x.toFixed(1)).join(' '),
  };
}

async function main() {
  if (!config.kubeconfig) throw new Error('KUBECONFIG is not set (run via bench/run.sh)');
  if (!config.oursBin) throw new Error('MCPK_BIN is not set (run via bench/run.sh)');
  await loadTokenizers();
  const machine = machineNote();
  const cluster = clusterFromKubeconfig(config.kubectl, config.kubeconfig);
  const floor = new ApiFloor(cluster);
  const version = JSON.parse((await floor.get('/version')).body);

  // --only takes phase names and server keys; none of a kind means all of that kind.
  const phaseNames = ['stdio', 'load', 'podops', 'responsiveness'];
  const onlyPhases = config.only.filter((x) => phaseNames.includes(x));
  const onlyServers = config.only.filter((x) => !phaseNames.includes(x));
  const phases = onlyPhases.length ? onlyPhases : phaseNames;
  const wanted = (key) => !onlyServers.length || onlyServers.includes(key);

  // The pods: names from the API itself, so every answer can be checked for completeness.
  let podNames = [];
  if (phases.some((p) => p !== 'responsiveness')) {
    const list = JSON.parse((await floor.get(`/api/v1/namespaces/${config.ns}/pods?limit=${config.pods + 1}`)).body);
    podNames = list.items.map((p) => p.metadata.name);
    const running = list.items.filter((p) => p.status?.phase === 'Running').length;
    if (podNames.length !== config.pods || running !== config.pods)
      throw new Error(`namespace ${config.ns} has ${podNames.length} pods (${running} Running), expected ${config.pods}`);
  }
  const ctx = { ns: config.ns, pods: config.pods, podNames };

  const baseEnv = {
    PATH: `${config.kubectl.includes('/') ? config.kubectl.replace(/\/[^/]+$/, '') + ':' : ''}${process.env.PATH}`,
    HOME: process.env.HOME || '/root',
    KUBECONFIG: config.kubeconfig,
  };
  const specs = serverSpecs({ oursBin: config.oursBin, baseEnv }).filter((s) => wanted(s.key));

  const results = { date: new Date().toISOString(), machine, oursDefaults: oursDefaultLimits(config.oursBin), kubernetes: version.gitVersion, oursRev: process.env.BENCH_OURS_REV || null, note: process.env.BENCH_NOTE || null, config: { ...config }, phases, servers: {} };
  if (phases.includes('stdio')) await stdioPhase(ctx, floor, specs, results);
  if (phases.includes('load')) results.load = await loadPhase(ctx, baseEnv, wanted);
  if (phases.includes('podops')) results.podops = await podOpsPhase(ctx, baseEnv, wanted);
  if (phases.includes('responsiveness')) results.responsiveness = await responsivenessPhase(baseEnv, wanted);
  floor.close();
  results.machine.loadEnd = os.loadavg().map((x) => x.toFixed(1)).join(' ');

  if (config.jsonOut) writeFileSync(config.jsonOut, JSON.stringify(results, null, 2));
  let notes = '';
  try {
    if (config.profileNotes) notes = readFileSync(config.profileNotes, 'utf8');
  } catch {
    // no notes: the report just has none
  }
  const md = renderReport(results, { command: config.command, notes });
  if (config.mdOut) writeFileSync(config.mdOut, md);
  process.stdout.write(md);
}

// Default --qps-limit / --burst-limit of our binary, from `serve --help` (null when unknown).
function oursDefaultLimits(bin) {
  try {
    const help = execFileSync(bin, ['serve', '--help'], { encoding: 'utf8', timeout: 10000 });
    const qps = Number((help.match(/--qps-limit \S*=([\d.]+)/) || [])[1]);
    const burst = Number((help.match(/--burst-limit .*=(\d+)/) || [])[1]);
    return Number.isFinite(qps) && Number.isFinite(burst) ? { qps, burst } : null;
  } catch {
    return null;
  }
}

// Phase `stdio`: spawn, memory, tools/list, sequential get/list per server, and the floor.
async function stdioPhase(ctx, floor, specs, results) {
  log('spawn floor (head -n1)');
  const sf = [];
  for (let i = 0; i < config.nSpawn; i++) sf.push(await spawnFloorOnce());
  results.spawnFloor = summarize(sf);
  log('raw HTTPS floor');
  results.floor = await measureFloor(ctx, floor);

  for (const spec of specs) {
    if (spec.available) {
      log(`SKIP ${spec.key}: ${spec.available}`);
      results.servers[spec.key] = { key: spec.key, name: spec.name, skipped: spec.available, errors: [] };
      continue;
    }
    const r = await measureServer(spec, ctx, floor);
    r.note = spec.note || null;
    r.flags = spec.flags || null;
    results.servers[spec.key] = r;
  }
  log('raw HTTPS floor again (drift check)');
  results.floorEnd = await measureFloor(ctx, floor);
}

// Phase `load`: S sessions x N pod gets over Streamable HTTP against ours and
// kubernetes-mcp-server, both with client rate limits out of the way; then, briefly, each with
// its default limits.
async function loadPhase(ctx, baseEnv, wanted) {
  const out = { sessions: config.loadSessions, calls: config.loadCalls, budgetMs: config.loadBudgetMs, servers: {}, defaults: {} };
  // kubernetes-mcp-server reads client-go's QPS/burst from the environment (default 5 / 10).
  const kmsUnthrottled = { KUBE_CLIENT_QPS: '1000000', KUBE_CLIENT_BURST: '100000' };
  const specs = loadSpecs({ oursBin: config.oursBin, baseEnv }).filter((s) => wanted(s.key));
  out.floor = await loadFloor(ctx);
  const opts = {
    sessions: config.loadSessions, calls: config.loadCalls, ns: ctx.ns, podNames: ctx.podNames,
    budgetMs: config.loadBudgetMs, callTimeoutMs: config.callTimeoutMs, log,
  };
  for (const spec of specs) {
    if (spec.available) {
      out.servers[spec.key] = { key: spec.key, name: spec.name, skipped: spec.available };
      continue;
    }
    const s = spec.key === 'kms'
      ? { ...spec, env: { ...spec.env, ...kmsUnthrottled }, flagsText: `${Object.entries(kmsUnthrottled).map(([k, v]) => `${k}=${v}`).join(' ')} ${spec.flagsText}` }
      : spec;
    log(`load: ${spec.key}: ${config.loadSessions} sessions x ${config.loadCalls} calls`);
    try {
      out.servers[spec.key] = { ...(await runLoad(s, opts)), version: spec.version || null };
    } catch (e) {
      log(`load: ${spec.key} failed: ${e.message}`);
      out.servers[spec.key] = { key: spec.key, name: spec.name, failed: e.message.slice(0, 500) };
    }
  }
  if (config.loadDefaultsMs > 0) {
    for (const spec of specs) {
      if (spec.available) continue;
      // Default limits: ours 20 QPS / burst 30, client-go's 5 / 10 for kubernetes-mcp-server.
      const s = spec.key === 'ours'
        ? { ...spec, args: (port) => spec.args(port).slice(0, -UNTHROTTLED.length), flagsText: spec.flagsText.replace(` ${UNTHROTTLED.join(' ')}`, '') }
        : spec;
      log(`load: ${spec.key} with default rate limits, ${config.loadDefaultsMs / 1000} s`);
      try {
        out.defaults[spec.key] = await runLoad(s, { ...opts, budgetMs: config.loadDefaultsMs, settleMs: 500 });
      } catch (e) {
        out.defaults[spec.key] = { key: spec.key, name: spec.name, failed: e.message.slice(0, 500) };
      }
    }
  }
  return out;
}

// The load's floor: the same pod GETs sent straight to kube-apiserver by S concurrent loops,
// one keep-alive TLS connection each (at most BENCH_LOAD_FLOOR_CALLS per loop, default 250).
async function loadFloor(ctx) {
  const sessions = config.loadSessions;
  const calls = Math.min(config.loadCalls, envInt('BENCH_LOAD_FLOOR_CALLS', 250));
  const floor = new ApiFloor(clusterFromKubeconfig(config.kubectl, config.kubeconfig), { maxSockets: sessions });
  try {
    const path = (i) => `/api/v1/namespaces/${ctx.ns}/pods/${ctx.podNames[i % ctx.podNames.length]}`;
    await Promise.all(Array.from({ length: sessions }, (_, s) => floor.get(path(s))));
    log(`load: floor, ${sessions} concurrent loops x ${calls} GETs straight to kube-apiserver`);
    const lat = [];
    let errors = 0;
    const cpu0 = process.cpuUsage();
    const opens0 = tcpActiveOpens();
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: sessions }, async (_, s) => {
      for (let i = 0; i < calls; i++) {
        try {
          lat.push(nsToMs((await floor.get(path(s * calls + i))).ns));
        } catch {
          errors++;
        }
      }
    }));
    const wallMs = nsToMs(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    const tcpOpens = tcpActiveOpens() - opens0;
    return { sessions, callsPerSession: calls, tcpOpens, calls: lat.length, errors, wallMs, clientCpuS: (cpu.user + cpu.system) / 1e6, callsPerS: lat.length / (wallMs / 1000), p50: median(lat), p99: percentile(lat, 99) };
  } finally {
    floor.close();
  }
}

// Phase `podops`: exec round trips and port-forward traffic, ours beside kubectl.
async function podOpsPhase(ctx, baseEnv, wanted) {
  if (!wanted('ours')) return { skipped: '--only excludes ours' };
  if (!config.pfTargetPort) return { skipped: 'PF_TARGET_8080 is not set (run via bench/run.sh)' };
  log(`podops: exec x ${config.nExec}, port-forward ${config.pfBytes >> 20} MiB x ${config.pfReps} per direction`);
  try {
    return await runPodOps({
      oursBin: config.oursBin,
      oursArgs: ['--non-destructive=false', ...UNTHROTTLED],
      env: baseEnv,
      kubectl: config.kubectl,
      ns: ctx.ns,
      pod: ctx.podNames[0],
      pfTargetPort: config.pfTargetPort,
      nExec: config.nExec,
      pfBytes: config.pfBytes,
      pfReps: config.pfReps,
      nConnect: config.nConnect,
      callTimeoutMs: config.callTimeoutMs,
      log,
    });
  } catch (e) {
    log(`podops failed: ${e.stack || e.message}`);
    return { failed: e.message.slice(0, 500) };
  }
}

// Phase `responsiveness`: N ConfigMaps (created once, reused afterwards); per server, pings on an
// idle server, then pings while L sessions list all N objects over and over, one window per mode.
async function responsivenessPhase(baseEnv, wanted) {
  const prefix = 'bench-resp-';
  const out = {
    ns: config.respNs, objects: config.respObjects, listers: config.respListers, idleMs: config.respIdleMs,
    listMs: config.respListMs, intervalMs: config.respPingMs, pageLimit: config.respPageLimit, modes: config.respModes, servers: {},
  };
  const creator = new ApiFloor(clusterFromKubeconfig(config.kubectl, config.kubeconfig), { maxSockets: 16 });
  try {
    out.setup = await ensureConfigMaps(creator, { ns: config.respNs, count: config.respObjects, prefix, concurrency: 16, log });
  } catch (e) {
    log(`responsiveness: cannot create the objects: ${e.message}`);
    return { ...out, failed: `creating ${config.respObjects} ConfigMaps: ${e.message.slice(0, 500)}` };
  } finally {
    creator.close();
  }
  const kms = serverSpecs({ oursBin: config.oursBin, baseEnv }).find((s) => s.key === 'kms');
  const specs = responsivenessSpecs({
    oursBin: config.oursBin, baseEnv, unthrottled: UNTHROTTLED, kmsBin: kms.cmd, kmsVersion: kms.version,
    ns: config.respNs, prefix, pageLimit: config.respPageLimit,
  });
  for (const spec of specs) {
    if (!wanted(spec.key)) continue;
    const avail = spec.key === 'ours' ? null : kms.available;
    if (avail) {
      out.servers[spec.key] = { key: spec.key, name: spec.name, skipped: avail };
      continue;
    }
    const modes = spec.key === 'ours' ? config.respModes : Object.keys(spec.modes);
    try {
      out.servers[spec.key] = await runResponsiveness(spec, {
        modes, listers: config.respListers, idleMs: config.respIdleMs, listMs: config.respListMs,
        intervalMs: config.respPingMs, callTimeoutMs: config.callTimeoutMs, expectItems: config.respObjects, log,
      });
    } catch (e) {
      log(`responsiveness: ${spec.key} failed: ${e.stack || e.message}`);
      out.servers[spec.key] = { key: spec.key, name: spec.name, failed: e.message.slice(0, 500) };
    }
  }
  return out;
}

main().catch((e) => {
  log(`FAILED: ${e.stack || e.message}`);
  process.exit(1);
});
