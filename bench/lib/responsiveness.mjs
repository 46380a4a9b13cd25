// Responsiveness under big lists (issue 12): while L sessions keep listing N ConfigMaps (the
// largest JSON answers each server can produce), another session sends `ping` every ~10 ms;
// the ping latencies during the lists are set beside those of an idle server.
import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { HttpSession } from './http-client.mjs';
import { freePort, startHttpServer, procSample } from './load.mjs';
import { percentile, median, sleep, nsToMs } from './stats.mjs';

export const OBJECT_LABEL = 'bench-responsiveness';

// Name of object i (fixed width, so names sort and a regex can count them).
export const objectName = (prefix, i) => `${prefix}${String(i).padStart(5, '0')}`;

function configMap(prefix, i) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: objectName(prefix, i), labels: { app: OBJECT_LABEL, shard: `s${i % 16}` } },
    data: {
      'app.properties': `server.port=${8000 + (i % 1000)}\nlog.level=info\nfeature.flags=a,b,c\n` +
        `cache.ttl.seconds=300\nowner=team-${i % 7}\ndescription=benchmark object ${i}\n`,
      index: String(i),
    },
  };
}

// Makes sure namespace `ns` holds ConfigMaps prefix00000..prefix(N-1) (reusing those present):
// parallel POSTs over `floor` (an ApiFloor with several sockets). Resolves a summary.
export async function ensureConfigMaps(floor, { ns, count, prefix, concurrency = 16, log }) {
  const t0 = Date.now();
  const nsRes = await floor.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
  if (nsRes.status !== 201 && nsRes.status !== 409) throw new Error(`create namespace ${ns}: HTTP ${nsRes.status}: ${nsRes.body.slice(0, 300)}`);

  const present = new Set();
  const accept = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json';
  let cont = '';
  do {
    const q = `labelSelector=${encodeURIComponent(`app=${OBJECT_LABEL}`)}&limit=5000${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
    const page = JSON.parse((await floor.get(`/api/v1/namespaces/${ns}/configmaps?${q}`, accept, 120000)).body);
    for (const it of page.items || []) present.add(it.metadata.name);
    cont = page.metadata?.continue || '';
  } while (cont);

  const missing = [];
  for (let i = 0; i < count; i++) if (!present.has(objectName(prefix, i))) missing.push(i);
  log?.(`responsiveness: ${count - missing.length}/${count} ConfigMaps present in ${ns}; creating ${missing.length}`);
  let next = 0;
  let created = 0;
  const path = `/api/v1/namespaces/${ns}/configmaps`;
  await Promise.all(Array.from({ length: Math.min(concurrency, missing.length) }, async () => {
    while (next < missing.length) {
      const i = missing[next++];
      for (let attempt = 0; ; attempt++) {
        const r = await floor.request('POST', path, { body: configMap(prefix, i), timeoutMs: 60000 });
        if (r.status === 201 || r.status === 409) {
          if (r.status === 201) created++;
          break;
        }
        // 429 (priority and fairness) and 5xx under load: back off and retry a few times.
        if ((r.status === 429 || r.status >= 500) && attempt < 5) {
          await sleep(200 * 2 ** attempt);
          continue;
        }
        throw new Error(`create ConfigMap ${objectName(prefix, i)}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
      }
    }
  }));
  const ms = Date.now() - t0;
  if (missing.length) log?.(`responsiveness: created ${created} ConfigMaps in ${(ms / 1000).toFixed(1)} s`);
  return { ns, count, reused: count - missing.length, created, ms };
}

// Ping statistics over latencies `lat` (ms). `corrected` adds, for a ping that took L > interval,
// the pings a client pinging every `interval` ms would have had waiting behind it (L − interval,
// L − 2·interval, …): without it a stall of seconds counts as one slow sample.
export function pingStats(lat, intervalMs) {
  const corrected = [];
  for (const l of lat) {
    corrected.push(l);
    for (let m = l - intervalMs; m >= intervalMs; m -= intervalMs) corrected.push(m);
  }
  return {
    n: lat.length,
    p50: median(lat),
    p90: percentile(lat, 90),
    p99: percentile(lat, 99),
    max: lat.length ? Math.max(...lat) : NaN,
    over100: lat.filter((x) => x > 100).length,
    p99Corrected: percentile(corrected, 99),
  };
}

function callStats(calls) {
  const ms = calls.map((c) => c.ms);
  return {
    n: ms.length,
    p50: median(ms),
    p99: percentile(ms, 99),
    max: ms.length ? Math.max(...ms) : NaN,
    bytesP50: median(calls.map((c) => c.bytes)),
    bytesMax: calls.length ? Math.max(...calls.map((c) => c.bytes)) : NaN,
  };
}

// Number of distinct objects of ours (prefix + 5 digits) named in `text`.
export function distinctNames(text, prefix) {
  const re = new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d{5}`, 'g');
  return new Set(text.match(re) || []).size;
}

// The list workloads, per server: each `sweep` lists every object once (as many calls as it
// takes) and returns { calls: [{ ms, bytes }], items }.
export function responsivenessSpecs({ oursBin, baseEnv, unthrottled, kmsBin, kmsVersion, ns, prefix, pageLimit }) {
  const timed = async (s, name, args, timeoutMs) => {
    const t0 = process.hrtime.bigint();
    const r = await s.callTool(name, args, timeoutMs);
    return { r, call: { ms: nsToMs(process.hrtime.bigint() - t0), bytes: r.bytes } };
  };
  const pagedSweep = (output) => async (s, timeoutMs, more) => {
    const calls = [];
    let items = 0;
    let cont = '';
    do {
      const args = { resourceType: 'configmaps', namespace: ns, output, limit: pageLimit, labelSelector: `app=${OBJECT_LABEL}` };
      if (cont) args.continue = cont;
      const { r, call } = await timed(s, 'k8s_list_resources', args, timeoutMs);
      calls.push(call);
      const sc = r.result?.structuredContent || {};
      items += Number(sc.count ?? (sc.items || sc.rows || []).length);
      cont = sc.continue || '';
    } while (cont && more());
    return { calls, items, complete: !cont };
  };
  const ours = {
    key: 'ours',
    name: 'mcp-kubernetes',
    cmd: oursBin,
    // Results of any size are sent whole (the default cap would replace a big page by an error
    // after parsing and rendering it anyway), so each call does the most work it can.
    args: (port) => ['serve', '--transport', 'streamable-http', '--http-addr', `127.0.0.1:${port}`, ...unthrottled, '--max-response-bytes', String(64 << 20)],
    flagsText: `serve --transport streamable-http --http-addr 127.0.0.1:PORT ${unthrottled.join(' ')} --max-response-bytes ${64 << 20}`,
    endpoint: '/mcp',
    env: baseEnv,
    warmup: ['k8s_list_resources', { resourceType: 'configmaps', namespace: ns, limit: 1 }],
    modes: {
      full: {
        what: `\`k8s_list_resources\` \`output: "full"\`, \`limit: ${pageLimit}\`, following \`continue\` through every page`,
        sweep: pagedSweep('full'),
      },
      slim: {
        what: `\`k8s_list_resources\` \`output: "slim"\`, \`limit: ${pageLimit}\`, following \`continue\` through every page`,
        sweep: pagedSweep('slim'),
      },
      table: {
        what: `\`k8s_list_resources\` default table, \`limit: ${pageLimit}\`, following \`continue\` through every page`,
        sweep: pagedSweep(undefined),
      },
      summary: {
        what: '`k8s_list_resources` `summary: true` (one call; the server pages through every object itself)',
        sweep: async (s, timeoutMs) => {
          const { r, call } = await timed(s, 'k8s_list_resources', { resourceType: 'configmaps', namespace: ns, summary: true, labelSelector: `app=${OBJECT_LABEL}` }, timeoutMs);
          const total = Number(r.result?.structuredContent?.total);
          return { calls: [call], items: total, complete: !r.result?.structuredContent?.truncatedAt };
        },
      },
    },
  };
  const kmsUnthrottled = { KUBE_CLIENT_QPS: '1000000', KUBE_CLIENT_BURST: '100000' };
  const kms = {
    key: 'kms',
    name: 'kubernetes-mcp-server',
    version: kmsVersion,
    cmd: kmsBin,
    // It has no pagination: one call lists everything. YAML is its answer with whole objects
    // (its default, `table`, asks kube-apiserver for the Table rendering).
    args: (port) => ['--port', String(port), '--bind-address', '127.0.0.1', '--read-only', '--list-output', 'yaml'],
    flagsText: `${Object.entries(kmsUnthrottled).map(([k, v]) => `${k}=${v}`).join(' ')} kubernetes-mcp-server --port PORT --bind-address 127.0.0.1 --read-only --list-output yaml`,
    endpoint: '/mcp',
    env: { ...baseEnv, ...kmsUnthrottled },
    warmup: ['resources_list', { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, labelSelector: 'app=none-such' }],
    modes: {
      yaml: {
        what: '`resources_list` (`--list-output yaml`), every object in one call',
        sweep: async (s, timeoutMs) => {
          const { r, call } = await timed(s, 'resources_list', { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, labelSelector: `app=${OBJECT_LABEL}` }, timeoutMs);
          const text = (r.result?.content || []).map((c) => c.text || '').join('\n');
          return { calls: [call], items: distinctNames(text, prefix), complete: true };
        },
      },
    },
  };
  return [ours, kms];
}

function startPinger(url, label, intervalMs, timeoutMs) {
  const worker = new Worker(new URL('./ping-worker.mjs', import.meta.url), { workerData: { url, intervalMs, timeoutMs, label } });
  let resolveDone;
  let rejectDone;
  const done = new Promise((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  const ready = new Promise((res, rej) => {
    worker.on('message', (m) => {
      if (m.type === 'ready') res();
      else if (m.type === 'done') resolveDone(m);
      else if (m.type === 'failed') {
        const e = new Error(`pinger: ${m.error}`);
        rej(e);
        rejectDone(e);
      }
    });
    worker.on('error', (e) => {
      rej(e);
      rejectDone(e);
    });
  });
  done.catch(() => {}); // observed by the caller through `stop`
  return {
    ready,
    stop: async () => {
      worker.postMessage('stop');
      let timer;
      try {
        return await Promise.race([done, new Promise((_, rej) => {
          timer = setTimeout(() => rej(new Error('pinger did not stop')), timeoutMs + 5000);
        })]);
      } finally {
        clearTimeout(timer); // else the process lingers until it fires
        await worker.terminate();
      }
    },
  };
}

// Runs idle and list windows against one server; returns the measurements.
export async function runResponsiveness(spec, { modes, listers, idleMs, listMs, intervalMs, callTimeoutMs, expectItems, log }) {
  const port = await freePort();
  const srv = await startHttpServer(spec, port);
  const pid = srv.proc.pid;
  const url = `http://127.0.0.1:${port}${spec.endpoint}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const out = { key: spec.key, name: spec.name, flags: spec.flagsText, version: spec.version || null, listers, windows: [] };
  let pinger = null;
  let sampler = null;
  try {
    const sessions = Array.from({ length: listers }, (_, i) => new HttpSession(url, agent, `${spec.key}#list${i}`));
    await Promise.all(sessions.map((s) => s.initialize(callTimeoutMs)));
    await Promise.all(sessions.map((s) => s.callTool(...spec.warmup, callTimeoutMs))); // discovery, connections
    pinger = startPinger(url, `${spec.key}#ping`, intervalMs, callTimeoutMs);
    await pinger.ready;
    out.before = procSample(pid);
    const samples = [];
    sampler = setInterval(() => {
      const p = procSample(pid);
      if (p) samples.push(p);
    }, 250);

    const windows = []; // { name, from, to, cpu0, cpu1, sampleFrom, sampleTo, ... }
    const idleFrom = Date.now();
    const idleCpu = procSample(pid)?.cpuS;
    await sleep(idleMs);
    windows.push({ name: 'idle', from: idleFrom, to: Date.now(), cpuS: (procSample(pid)?.cpuS ?? NaN) - idleCpu });

    for (const mode of modes) {
      const m = spec.modes[mode];
      if (!m) continue;
      log?.(`responsiveness: ${spec.key}: ${listers} session(s) listing (${mode}) for ${listMs / 1000} s while pinging`);
      const from = Date.now();
      const cpu0 = procSample(pid)?.cpuS;
      const endAt = from + listMs;
      const calls = [];
      const sweeps = [];
      const errorSamples = [];
      let errors = 0;
      let incomplete = 0;
      await Promise.all(sessions.map(async (s) => {
        while (Date.now() < endAt) {
          const t0 = process.hrtime.bigint();
          try {
            const sw = await m.sweep(s, callTimeoutMs, () => Date.now() < endAt);
            calls.push(...sw.calls);
            if (sw.complete) {
              sweeps.push(nsToMs(process.hrtime.bigint() - t0));
              if (sw.items !== expectItems) {
                incomplete++;
                if (errorSamples.length < 5) errorSamples.push(`a sweep saw ${sw.items} of ${expectItems} objects`);
              }
            }
          } catch (e) {
            errors++;
            if (errorSamples.length < 5) errorSamples.push(e.message.split('\n')[0].slice(0, 300));
            await sleep(100); // a failing server must not turn this into a busy loop
          }
        }
      }));
      const to = Date.now();
      windows.push({
        name: mode,
        what: m.what,
        from,
        to,
        cpuS: (procSample(pid)?.cpuS ?? NaN) - cpu0,
        calls: callStats(calls),
        sweeps: { n: sweeps.length, p50: median(sweeps), max: sweeps.length ? Math.max(...sweeps) : NaN },
        errors,
        incomplete,
        errorSamples,
      });
      await sleep(500); // let the last answers drain before the next window
    }

    const pings = await pinger.stop();
    pinger = null;
    clearInterval(sampler);
    sampler = null;
    out.pingErrors = pings.errors;
    out.pingErrorSamples = pings.errorSamples;
    for (const w of windows) {
      const lat = [];
      for (let i = 0; i < pings.sent.length; i++) if (pings.sent[i] >= w.from && pings.sent[i] < w.to) lat.push(pings.lat[i]);
      const inWin = samples.filter((p) => p.t >= w.from && p.t <= w.to);
      out.windows.push({
        ...w,
        wallMs: w.to - w.from,
        ping: pingStats(lat, intervalMs),
        rssKiBMax: inWin.length ? Math.max(...inWin.map((p) => p.rssKiB)) : NaN,
        threadsMax: inWin.length ? Math.max(...inWin.map((p) => p.threads)) : NaN,
      });
      const p = out.windows.at(-1).ping;
      log?.(`responsiveness: ${spec.key} ${w.name}: ping n=${p.n} p50 ${p.p50?.toFixed(2)} p99 ${p.p99?.toFixed(2)} max ${p.max?.toFixed(1)} ms` +
        (w.calls ? `; list calls n=${w.calls.n} p50 ${w.calls.p50?.toFixed(0)} ms, errors ${w.errors}` : ''));
    }
    await Promise.all(sessions.map((s) => s.close().catch(() => null)));
  } finally {
    if (sampler) clearInterval(sampler);
    if (pinger) await pinger.stop().catch(() => null);
    agent.destroy();
    out.stderrTail = srv.stderr().slice(-1500);
    await srv.stop();
  }
  return out;
}
