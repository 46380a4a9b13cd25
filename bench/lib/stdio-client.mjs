// Minimal MCP client over stdio: raw newline-delimited JSON-RPC on the child's stdin/stdout.
// Deliberately no SDK, so the client adds the same (small) overhead to every server measured.
import { spawn } from 'node:child_process';

const MAX_STDERR = 64 * 1024; // keep the tail of stderr for error messages only
const MAX_LINE = 64 << 20; // a server that never ends a line must not grow us without bound

export const PROTOCOL_VERSION = '2025-06-18'; // the newest version all three servers speak

export class StdioClient {
  constructor(label, command, args, env) {
    this.label = label;
    this.command = command;
    this.args = args;
    this.env = env;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, timer, t0}
    this.buf = '';
    this.stderr = '';
    this.exited = null;
  }

  // Spawns the child; returns hrtime (ns, bigint) taken just before spawn.
  start() {
    const t0 = process.hrtime.bigint();
    this.child = spawn(this.command, this.args, { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d) => this.#onData(d));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-MAX_STDERR);
    });
    this.child.stdin.on('error', () => {}); // EPIPE when the child died: reported via 'exit'
    this.child.on('error', (e) => this.#failAll(new Error(`${this.label}: cannot start ${this.command}: ${e.message}`)));
    this.child.on('exit', (code, sig) => {
      this.exited = { code, sig };
      this.#failAll(new Error(`${this.label}: server exited (code ${code}, signal ${sig}); stderr tail:\n${this.stderr.slice(-2000)}`));
    });
    return t0;
  }

  get pid() {
    return this.child?.pid;
  }

  #onData(d) {
    this.buf += d;
    if (this.buf.length > MAX_LINE) {
      this.#failAll(new Error(`${this.label}: stdout line longer than ${MAX_LINE} bytes`));
      this.buf = '';
      return;
    }
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (line.trim()) this.#onLine(line);
    }
  }

  #onLine(line) {
    const tEnd = process.hrtime.bigint();
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      // Not protocol: a server that logs to stdout. Remember it, it is a finding.
      this.stdoutNoise = (this.stdoutNoise || 0) + 1;
      return;
    }
    if (msg.id !== undefined && msg.method) {
      // Server -> client request (roots/list, elicitation, ping...): we declare no capabilities.
      const reply = msg.method === 'ping'
        ? { jsonrpc: '2.0', id: msg.id, result: {} }
        : { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } };
      this.child.stdin.write(JSON.stringify(reply) + '\n');
      return;
    }
    if (msg.id === undefined) return; // notification (logging, progress): ignored
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    const bytes = Buffer.byteLength(line, 'utf8');
    if (msg.error) {
      const e = new Error(`${this.label}: JSON-RPC error ${msg.error.code}: ${msg.error.message}`);
      e.rpc = msg.error;
      p.reject(e);
    } else {
      p.resolve({ result: msg.result, bytes, ns: tEnd - p.t0, t0: p.t0, tEnd });
    }
  }

  #failAll(err) {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  // Sends a request; resolves {result, bytes (response line), ns (round trip), tEnd}.
  request(method, params, timeoutMs = 60000) {
    if (this.exited) return Promise.reject(new Error(`${this.label}: server already exited`));
    const id = this.nextId++;
    const line = JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: ${method} timed out after ${timeoutMs} ms; stderr tail:\n${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, t0: process.hrtime.bigint() });
      this.child.stdin.write(line);
    });
  }

  notify(method, params) {
    if (!this.exited) this.child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method, params }) + '\n');
  }

  initialize(timeoutMs) {
    return this.request('initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'mcpk-bench', version: '1' },
    }, timeoutMs);
  }

  async callTool(name, args, timeoutMs) {
    const r = await this.request('tools/call', { name, arguments: args }, timeoutMs);
    if (r.result?.isError) {
      const text = (r.result.content || []).map((c) => c.text || '').join('\n');
      throw new Error(`${this.label}: tool ${name} returned isError: ${text.slice(0, 500)}`);
    }
    return r;
  }

  // Closes stdin (the polite stdio shutdown), then TERM, then KILL; resolves when gone.
  async close(graceMs = 2000) {
    if (!this.child || this.exited) return;
    const gone = new Promise((res) => this.child.once('exit', res));
    const wait = (ms) => new Promise((res) => setTimeout(res, ms));
    this.child.stdin.end();
    if (await Promise.race([gone.then(() => true), wait(graceMs).then(() => false)])) return;
    this.child.kill('SIGTERM');
    if (await Promise.race([gone.then(() => true), wait(graceMs).then(() => false)])) return;
    this.child.kill('SIGKILL');
    await Promise.race([gone, wait(graceMs)]);
  }
}
