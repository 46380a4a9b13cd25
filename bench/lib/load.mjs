// HTTP load: S concurrent MCP sessions over Streamable HTTP, each making N sequential tools/call
// requests against one server process, while the process's RSS, open fds, threads and CPU time
// are sampled from /proc before, during and after.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { HttpSession } from './http-client.mjs';
import { percentile, median, sleep, nsToMs } from './stats.mjs';

const CLK_TCK = 100; // Linux USER_HZ for /proc/<pid>/stat on every mainstream kernel

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

// RSS (KiB), open fds, threads and CPU seconds (user+system) of one process; null when gone.
export function procSample(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k) => Number((status.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1] || NaN);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
    return { t: Date.now(), rssKiB: field('VmRSS'), hwmKiB: field('VmHWM'), threads: field('Threads'), fds: readdirSync(`/proc/${pid}/fd`).length, cpuS };
  } catch {
    return null;
  }
}

// CPU seconds (user, system) of each of a process's threads, summed by thread name (/proc/<pid>/
// task/<tid>/stat); {} when gone. Says which thread a cost is in: the main (I/O) thread, or a
// background one (otel-export, metrics-export, the blocking pools).
export function threadCpu(pid) {
  const out = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // The main thread (tid = pid) runs the I/O loop; others share its name unless named.
        const comm = String(tid) === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const t = (out[comm] ??= { userS: 0, sysS: 0, threads: 0 });
        t.userS += Number(f[11]) / CLK_TCK;
        t.sysS += Number(f[12]) / CLK_TCK;
        t.threads++;
      } catch {}
    }
  } catch {}
  return out;
}

// Host-wide count of TCP connections opened so far (`Tcp: ActiveOpens` of /proc/net/snmp). The
// delta over the load window is, in practice, the server's new connections to kube-apiserver:
// the client's connections are all open before the window starts.
export function tcpActiveOpens() {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Tcp:'));
    const keys = lines[0].split(/\s+/);
    const vals = lines[1].split(/\s+/);
    return Number(vals[keys.indexOf('ActiveOpens')]);
  } catch {
    return NaN;
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

// Starts a server that listens on `port`; resolves { proc, stderr() } once the port accepts.
export async function startHttpServer(spec, port, timeoutMs = 30000) {
  const proc = spawn(spec.cmd, spec.args(port), { env: spec.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  const exited = new Promise((r) => proc.once('exit', (code, sig) => r({ code, sig })));
  const t0 = Date.now();
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode) throw new Error(`${spec.key}: exited before listening: ${stderr.slice(-1000)}`);
    if (await canConnect(port)) break;
    if (Date.now() - t0 > timeoutMs) {
      proc.kill('SIGKILL');
      throw new Error(`${spec.key}: not listening on ${port} after ${timeoutMs} ms: ${stderr.slice(-1000)}`);
    }
    await sleep(50);
  }
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode) return;
    proc.kill('SIGTERM');
    let timer;
    const gone = await Promise.race([exited.then(() => true), new Promise((r) => { timer = setTimeout(() => r(false), 15000); })]);
    clearTimeout(timer); // a pending timer would keep the benchmark process alive
    if (!gone) {
      proc.kill('SIGKILL');
      await exited;
    }
  };
  return { proc, stderr: () => stderr, stop };
}

// Runs the load against one server; returns the measurements (see the fields below).
// `gate`: awaited after the warm-up, just before the timed window (a barrier that lets two
// servers' windows start together; the window then ends at `budgetMs` or after `calls`).
export async function runLoad(spec, { sessions, calls, ns, podNames, budgetMs, callTimeoutMs, sampleMs = 250, settleMs = 2000, log, gate }) {
  const port = await freePort();
  const srv = await startHttpServer(spec, port);
  const pid = srv.proc.pid;
  const out = { key: spec.key, name: spec.name, flags: spec.flagsText, sessions, callsPerSession: calls, errors: 0, errorSamples: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: sessions * 2 });
  const url = `http://127.0.0.1:${port}${spec.endpoint}`;
  const samples = [];
  let sampler = null;
  try {
    await sleep(settleMs);
    out.before = procSample(pid);

    // Open every session at once, then one warm-up call each (discovery, API connections).
    const ss = Array.from({ length: sessions }, (_, i) => new HttpSession(url, agent, `${spec.key}#${i}`));
    const tOpen = process.hrtime.bigint();
    await Promise.all(ss.map((s) => s.initialize(callTimeoutMs)));
    out.openAllMs = nsToMs(process.hrtime.bigint() - tOpen);
    await Promise.all(ss.map((s, i) => s.callTool(...spec.get(ns, podNames[i % podNames.length]), callTimeoutMs)));
    out.opened = procSample(pid);
    if (gate) await gate();

    const latencies = new Float64Array(sessions * calls);
    let done = 0;
    let stopAt = Infinity;
    let cut = false;
    const progressMarks = []; // RSS when half of the calls are done, for the leak check
    sampler = setInterval(() => {
      const s = procSample(pid);
      if (s) samples.push({ ...s, done });
    }, sampleMs);
    const cpu0 = process.cpuUsage();
    const srvCpu0 = procSample(pid)?.cpuS;
    const threads0 = threadCpu(pid);
    const opens0 = tcpActiveOpens();
    const t0 = process.hrtime.bigint();
    stopAt = Date.now() + budgetMs;
    const total = sessions * calls;
    await Promise.all(ss.map(async (s, si) => {
      for (let i = 0; i < calls; i++) {
        if (Date.now() > stopAt) {
          cut = true;
          return;
        }
        const name = podNames[(si * calls + i) % podNames.length];
        const c0 = process.hrtime.bigint();
        try {
          await s.callTool(...spec.get(ns, name), callTimeoutMs);
        } catch (e) {
          out.errors++;
          if (out.errorSamples.length < 5) out.errorSamples.push(e.message.split('\n')[0].slice(0, 300));
        }
        latencies[done++] = nsToMs(process.hrtime.bigint() - c0);
        if (done === Math.floor(total / 2)) progressMarks.push(procSample(pid));
      }
    }));
    const wallMs = nsToMs(process.hrtime.bigint() - t0);
    out.tcpOpens = tcpActiveOpens() - opens0;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    sampler = null;
    out.end = procSample(pid);
    const threads1 = threadCpu(pid);
    out.half = progressMarks[0] || null;

    const lat = Array.from(latencies.subarray(0, done));
    out.calls = done;
    out.cut = cut;
    out.wallMs = wallMs;
    out.callsPerS = done / (wallMs / 1000);
    out.p50 = median(lat);
    out.p90 = percentile(lat, 90);
    out.p99 = percentile(lat, 99);
    out.max = lat.length ? lat.reduce((a, b) => Math.max(a, b), 0) : NaN;
    out.clientCpuS = (cpu.user + cpu.system) / 1e6;
    out.serverCpuS = num(out.end?.cpuS) && num(srvCpu0) ? out.end.cpuS - srvCpu0 : NaN;
    out.serverCpuMsPerCall = done ? (out.serverCpuS * 1000) / done : NaN;
    // Per thread name: user and system CPU per call over the load window (threads that ended
    // inside the window are missing; the server's pools live as long as the process).
    out.threadCpuMsPerCall = Object.fromEntries(Object.entries(threads1).map(([comm, t]) => {
      const b = threads0[comm] ?? { userS: 0, sysS: 0 };
      const per = (x) => (done ? Number(((x * 1000) / done).toFixed(4)) : NaN);
      return [comm, { user: per(t.userS - b.userS), sys: per(t.sysS - b.sysS), threads: t.threads }];
    }));
    const during = samples.filter(Boolean);
    out.during = {
      n: during.length,
      rssKiBMax: Math.max(...during.map((s) => s.rssKiB)),
      rssKiBMedian: median(during.map((s) => s.rssKiB)),
      fdsMax: Math.max(...during.map((s) => s.fds)),
      fdsMedian: median(during.map((s) => s.fds)),
      threadsMax: Math.max(...during.map((s) => s.threads)),
    };
    // A compact trace (every ~10th sample) for the JSON results.
    out.trace = during.filter((_, i) => i % 10 === 0).map(({ t, rssKiB, fds, threads, done: d }) => ({ t, rssKiB, fds, threads, done: d }));

    const statuses = await Promise.all(ss.map((s) => s.close().catch((e) => `error: ${e.message}`)));
    out.deleteStatuses = [...new Set(statuses.map(String))];
    agent.destroy();
    await sleep(settleMs);
    out.after = procSample(pid);
    log?.(`${spec.key}: ${done} calls in ${(wallMs / 1000).toFixed(1)} s = ${out.callsPerS.toFixed(0)}/s, p50 ${out.p50.toFixed(2)} ms, p99 ${out.p99.toFixed(2)} ms, errors ${out.errors}${cut ? ' (cut by the time budget)' : ''}`);
  } finally {
    if (sampler) clearInterval(sampler);
    agent.destroy();
    out.stderrTail = srv.stderr().slice(-1500);
    // The server's own counters after the load (e.g. spans exported and dropped), when asked.
    if (spec.scrapeMetrics) out.metricsText = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => null);
    await srv.stop();
  }
  return out;
}

function num(x) {
  return typeof x === 'number' && Number.isFinite(x);
}

// CPU nanoseconds of all a process's threads (/proc/<pid>/task/*/schedstat: time on a CPU, in
// ns rather than /proc/<pid>/stat's 10 ms ticks, which a window of a second or two needs); NaN
// when gone.
export function cpuNs(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try { ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]); } catch {}
    }
    return ns;
  } catch {
    return NaN;
  }
}

// Interleaved load: one server, its sessions opened and warmed once, then `windows` timed windows
// of `windowMs`, each started when `turn(w)` resolves (with a function to call when the window is
// over). Two servers sharing one `turn` take strict turns, so neighbouring windows of the two see
// the same machine, and no window pays for a server's start-up. Returns per-window calls/s and
// server CPU per call. `ready`: awaited after the warm-up, before the first window (so no window
// overlaps the other server's start-up).
export async function runWindows(spec, { sessions, ns, podNames, windows, windowMs, callTimeoutMs, turn, ready, settleMs = 500 }) {
  const port = await freePort();
  const srv = await startHttpServer(spec, port);
  const pid = srv.proc.pid;
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: sessions * 2 });
  const url = `http://127.0.0.1:${port}${spec.endpoint}`;
  const out = { key: spec.key, windows: [], errors: 0, errorSamples: [] };
  try {
    await sleep(settleMs);
    const ss = Array.from({ length: sessions }, (_, i) => new HttpSession(url, agent, `${spec.key}#${i}`));
    await Promise.all(ss.map((s) => s.initialize(callTimeoutMs)));
    await Promise.all(ss.map((s, i) => s.callTool(...spec.get(ns, podNames[i % podNames.length]), callTimeoutMs)));
    if (ready) await ready();
    for (let w = 0; w < windows; w++) {
      const done = await turn(w);
      try {
        let calls = 0;
        const cpu0 = cpuNs(pid);
        const t0 = process.hrtime.bigint();
        const stopAt = Date.now() + windowMs;
        await Promise.all(ss.map(async (s, si) => {
          for (let i = 0; Date.now() < stopAt; i++) {
            try {
              await s.callTool(...spec.get(ns, podNames[(si + i) % podNames.length]), callTimeoutMs);
              calls++;
            } catch (e) {
              out.errors++;
              if (out.errorSamples.length < 5) out.errorSamples.push(e.message.split('\n')[0].slice(0, 300));
            }
          }
        }));
        const wallMs = nsToMs(process.hrtime.bigint() - t0);
        const cpuMs = (cpuNs(pid) - cpu0) / 1e6;
        out.windows.push({ calls, wallMs, callsPerS: calls / (wallMs / 1000), serverCpuMsPerCall: calls ? cpuMs / calls : NaN });
      } finally {
        done();
      }
    }
    await Promise.all(ss.map((s) => s.close().catch(() => {})));
  } finally {
    agent.destroy();
    out.stderrTail = srv.stderr().slice(-1500);
    if (spec.scrapeMetrics) out.metricsText = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => null);
    await srv.stop();
  }
  return out;
}
