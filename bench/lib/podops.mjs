// Pod operations beside kubectl on the same kwok pod: exec round trips (k8s_exec_pod vs
// `kubectl exec`) and port-forward throughput and connection set-up (k8s_port_forward_pod vs
// `kubectl port-forward`). kwok runs exec'd commands on this host and connects pod port 8080 to
// 127.0.0.1:$PF_TARGET_8080, where a small traffic server (below) answers.
import { spawn, execFile } from 'node:child_process';
import net from 'node:net';
import { StdioClient } from './stdio-client.mjs';
import { percentile, median, sleep, nsToMs } from './stats.mjs';
import { tcpActiveOpens } from './load.mjs';

// Traffic server protocol: the client sends a 9-byte header (mode, uint64 BE length), then:
//   'U' upload: the client sends `length` bytes; the server answers one byte 'K' when all arrived
//   'D' download: the server sends `length` bytes
//   'E' echo: the server sends back every byte it receives, `length` in total
//   'P' ping: the server answers one byte at once
// The server closes each connection when its part is done (kwok never closes its side).
const CHUNK = Buffer.alloc(1 << 20, 0x5a);

export function startTrafficServer(port) {
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let header = Buffer.alloc(0);
    let mode = null;
    let left = 0;
    const finish = (last) => s.end(last, () => setTimeout(() => s.destroy(), 1000));
    const onBody = (buf) => {
      if (!buf.length) return;
      left -= buf.length;
      if (mode === 'E') s.write(buf);
      if (left <= 0) {
        if (mode === 'U') finish(Buffer.from('K'));
        else finish();
      }
    };
    s.on('data', (d) => {
      if (mode === null) {
        header = Buffer.concat([header, d]);
        if (header.length < 9) return;
        mode = String.fromCharCode(header[0]);
        left = Number(header.readBigUInt64BE(1));
        const rest = header.subarray(9);
        if (mode === 'P') return finish(Buffer.from('p'));
        if (mode === 'D') {
          let toSend = left;
          const pump = () => {
            while (toSend > 0) {
              const n = Math.min(toSend, CHUNK.length);
              toSend -= n;
              if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return s.once('drain', pump);
            }
            finish();
          };
          return pump();
        }
        return onBody(rest);
      }
      if (mode === 'U' || mode === 'E') onBody(d);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({
      close: () => new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
    }));
  });
}

function header(mode, length) {
  const h = Buffer.alloc(9);
  h.write(mode, 0, 'latin1');
  h.writeBigUInt64BE(BigInt(length), 1);
  return h;
}

// One transfer through 127.0.0.1:port; resolves { ms, bytes (both directions, payload only) }.
export function transfer(port, mode, length, timeoutMs = 120000) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    const want = mode === 'U' || mode === 'P' ? 1 : length;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${mode} ${length} via ${port}: ${got}/${want} bytes back after ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('connect', () => {
      s.write(header(mode, mode === 'P' ? 0 : length));
      if (mode === 'U' || mode === 'E') {
        let sent = 0;
        const pump = () => {
          while (sent < length) {
            const n = Math.min(length - sent, CHUNK.length);
            sent += n;
            if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return s.once('drain', pump);
          }
        };
        pump();
      }
    });
    s.on('data', (d) => {
      got += d.length;
      if (got >= want) {
        clearTimeout(timer);
        const ms = nsToMs(process.hrtime.bigint() - t0);
        s.destroy();
        const bytes = mode === 'E' ? 2 * length : mode === 'P' ? 1 : length;
        resolve({ ms, bytes });
      }
    });
    s.on('close', () => {
      if (got < want) {
        clearTimeout(timer);
        reject(new Error(`${mode} ${length} via ${port}: connection closed after ${got}/${want} bytes`));
      }
    });
  });
}

const summarize = (v) => ({ n: v.length, p50: median(v), p99: percentile(v, 99), min: Math.min(...v), max: Math.max(...v) });

// Throughput (MB/s, 1 MB = 10^6 bytes) of `reps` transfers per mode, plus connection set-up
// (ping) latency over `nConnect` fresh connections.
async function measureForward(port, { bytes, reps, nConnect }) {
  const out = {};
  await transfer(port, 'E', 64 * 1024); // warm-up: first stream, lazy connections
  for (const [mode, key] of [['U', 'upload'], ['D', 'download'], ['E', 'echo']]) {
    const rates = [];
    for (let i = 0; i < reps; i++) {
      const r = await transfer(port, mode, bytes);
      rates.push(r.bytes / 1e6 / (r.ms / 1000));
    }
    out[key] = { mbps: median(rates), all: rates, bytes: mode === 'E' ? 2 * bytes : bytes };
  }
  const pings = [];
  const opens0 = tcpActiveOpens();
  for (let i = 0; i < nConnect; i++) pings.push((await transfer(port, 'P', 0)).ms);
  // Connections opened on the host per local connection, beyond the local connect itself:
  // a forward that dials kube-apiserver (TLS) per connection shows 1 (kwok's dial to the target
  // adds another on every path, the direct one included).
  out.upstreamOpensPerConn = (tcpActiveOpens() - opens0 - nConnect) / nConnect;
  out.connect = summarize(pings);
  return out;
}

function run(cmd, args, env, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const ms = nsToMs(process.hrtime.bigint() - t0);
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message} ${stderr}`.slice(0, 500)));
      else resolve({ ms, stdout, stderr });
    });
  });
}

// Starts `kubectl port-forward pod/NAME :PORT`; resolves { localPort, stop }.
function kubectlPortForward(kubectl, env, ns, pod, remotePort) {
  return new Promise((resolve, reject) => {
    const p = spawn(kubectl, ['-n', ns, 'port-forward', `pod/${pod}`, `:${remotePort}`, '--address', '127.0.0.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let started = false;
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`kubectl port-forward did not start: ${out} ${err}`)); }, 30000);
    p.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
    p.stdout.on('data', (d) => {
      if (started) return; // "Handling connection for 8080" lines, one per connection
      out += d;
      const m = out.match(/Forwarding from 127\.0\.0\.1:(\d+) ->/);
      if (m) {
        started = true;
        clearTimeout(timer);
        const exited = new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)));
        resolve({
          localPort: Number(m[1]),
          stderr: () => err,
          alive: () => p.exitCode === null && !p.signalCode,
          stop: async () => {
            p.kill('SIGTERM');
            await Promise.race([exited, sleep(5000).then(() => p.kill('SIGKILL'))]);
          },
        });
      }
    });
    p.once('exit', (code) => { clearTimeout(timer); if (!started) reject(new Error(`kubectl port-forward exited (${code}): ${err}`)); });
  });
}

export async function runPodOps({ oursBin, oursArgs, env, kubectl, ns, pod, pfTargetPort, nExec, pfBytes, pfReps, nConnect, callTimeoutMs, log }) {
  const res = { pod: `${ns}/${pod}`, nExec, pfBytes, pfReps, nConnect, oursArgs: oursArgs.join(' '), errors: [] };
  const traffic = await startTrafficServer(pfTargetPort);
  const c = new StdioClient('ours', oursBin, ['serve', ...oursArgs], env);
  try {
    c.start();
    await c.initialize(callTimeoutMs);
    c.notify('notifications/initialized', {});

    // ---- exec
    const execOurs = async () => {
      const r = await c.callTool('k8s_exec_pod', { namespace: ns, name: pod, command: ['echo', 'hi'] }, callTimeoutMs);
      const sc = r.result.structuredContent;
      if (sc?.stdout !== 'hi\n' || sc?.exitCode !== 0) throw new Error(`ours: unexpected exec result ${JSON.stringify(sc).slice(0, 200)}`);
      return nsToMs(r.ns);
    };
    const execKubectl = async () => {
      const r = await run(kubectl, ['-n', ns, 'exec', pod, '--', 'echo', 'hi'], env);
      if (r.stdout !== 'hi\n') throw new Error(`kubectl exec: unexpected output ${JSON.stringify(r.stdout)}`);
      return r.ms;
    };
    for (let i = 0; i < 3; i++) {
      await execOurs();
      await execKubectl();
    }
    log?.(`podops: ${nExec} x exec (ours, kubectl, interleaved)`);
    const eo = [];
    const ek = [];
    for (let i = 0; i < nExec; i++) {
      eo.push(await execOurs());
      ek.push(await execKubectl());
    }
    res.execOurs = summarize(eo);
    res.execKubectl = summarize(ek);
    // kubectl's own start-up (no API call), to see how much of its exec time is process start.
    const kv = [];
    for (let i = 0; i < Math.min(nExec, 20); i++) kv.push((await run(kubectl, ['version', '--client', '-o', 'json'], env)).ms);
    res.kubectlStart = summarize(kv);

    // ---- port-forward
    log?.(`podops: traffic straight to the target (floor)`);
    res.pfDirect = await measureForward(pfTargetPort, { bytes: pfBytes, reps: pfReps, nConnect });
    log?.(`podops: through k8s_port_forward_pod`);
    const pf = await c.callTool('k8s_port_forward_pod', { namespace: ns, name: pod, port: 8080 }, callTimeoutMs);
    const pfId = pf.result.structuredContent.id;
    try {
      res.pfOurs = await measureForward(pf.result.structuredContent.localPort, { bytes: pfBytes, reps: pfReps, nConnect });
      const list = await c.callTool('k8s_list_port_forward_sessions', {}, callTimeoutMs);
      res.pfOursSession = (list.result.structuredContent?.sessions || []).find((s) => s.id === pfId) || null;
    } finally {
      await c.callTool('k8s_stop_port_forward_session', { id: pfId }, callTimeoutMs).catch((e) => res.errors.push(`stop: ${e.message}`));
    }
    log?.(`podops: through kubectl port-forward`);
    const kpf = await kubectlPortForward(kubectl, env, ns, pod, 8080);
    try {
      res.pfKubectl = await measureForward(kpf.localPort, { bytes: pfBytes, reps: pfReps, nConnect });
      if (!kpf.alive()) res.errors.push(`kubectl port-forward exited during the run: ${kpf.stderr().slice(-300)}`);
    } finally {
      await kpf.stop();
    }
  } finally {
    await c.close();
    await traffic.close();
  }
  return res;
}
