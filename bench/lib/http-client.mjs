// Minimal MCP client over Streamable HTTP: raw JSON-RPC POSTs with node:http and a keep-alive
// agent (one socket per session while its calls are sequential). No SDK, so the client costs
// the same for every server; answers may be JSON or an SSE stream, both are handled.
import http from 'node:http';
import { PROTOCOL_VERSION } from './stdio-client.mjs';

const MAX_BODY = 64 << 20;

// Extracts the JSON-RPC message with `id` from a response body (JSON or SSE).
export function findResponse(contentType, body, id) {
  if (/^application\/json/i.test(contentType || '')) {
    const msg = JSON.parse(body);
    const list = Array.isArray(msg) ? msg : [msg];
    return list.find((m) => m && m.id === id) || null;
  }
  if (/^text\/event-stream/i.test(contentType || '')) {
    // Events are separated by a blank line; each event's data is its `data:` lines joined by \n.
    for (const event of body.split(/\r?\n\r?\n/)) {
      const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
      if (!data.length) continue;
      let msg;
      try {
        msg = JSON.parse(data.join('\n'));
      } catch {
        continue; // priming events carry no JSON
      }
      if (msg && msg.id === id && (msg.result !== undefined || msg.error !== undefined)) return msg;
    }
    return null;
  }
  throw new Error(`unexpected content-type ${contentType}: ${body.slice(0, 200)}`);
}

export class HttpSession {
  // url: the MCP endpoint (http://127.0.0.1:P/mcp); agent: a shared keep-alive http.Agent.
  constructor(url, agent, label = 'http') {
    this.url = new URL(url);
    this.agent = agent;
    this.label = label;
    this.sessionId = null;
    this.protocolVersion = null;
    this.nextId = 1;
  }

  // One POST/DELETE; resolves { status, headers, body, ns } (ns: request start to last byte).
  send(method, payload, timeoutMs = 60000) {
    const body = payload === undefined ? null : JSON.stringify(payload);
    const headers = { accept: 'application/json, text/event-stream' };
    if (body !== null) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    if (this.sessionId) headers['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion) headers['mcp-protocol-version'] = this.protocolVersion;
    const t0 = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: this.url.hostname,
        port: this.url.port,
        path: this.url.pathname,
        method,
        agent: this.agent,
        headers,
        timeout: timeoutMs,
      }, (res) => {
        const chunks = [];
        let size = 0;
        res.on('data', (c) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error(`${this.label}: response larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({
          status: res.statusCode,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          ns: process.hrtime.bigint() - t0,
        }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${this.label}: ${method} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }

  // JSON-RPC request; resolves { result, ns, bytes } or rejects with the HTTP/JSON-RPC error.
  async request(method, params, timeoutMs) {
    const id = this.nextId++;
    const r = await this.send('POST', { jsonrpc: '2.0', id, method, params }, timeoutMs);
    if (r.status !== 200) throw new Error(`${this.label}: ${method}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    const msg = findResponse(r.headers['content-type'], r.body, id);
    if (!msg) throw new Error(`${this.label}: ${method}: no response with id ${id} in: ${r.body.slice(0, 300)}`);
    if (msg.error) throw new Error(`${this.label}: ${method}: JSON-RPC error ${msg.error.code}: ${msg.error.message}`);
    return { result: msg.result, ns: r.ns, bytes: Buffer.byteLength(r.body), headers: r.headers };
  }

  async initialize(timeoutMs) {
    const r = await this.request('initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'mcpk-bench-load', version: '1' },
    }, timeoutMs);
    this.sessionId = r.headers['mcp-session-id'] || null;
    this.protocolVersion = r.result?.protocolVersion || PROTOCOL_VERSION;
    const n = await this.send('POST', { jsonrpc: '2.0', method: 'notifications/initialized' }, timeoutMs);
    if (n.status !== 202 && n.status !== 200) throw new Error(`${this.label}: notifications/initialized: HTTP ${n.status}`);
    return r;
  }

  async callTool(name, args, timeoutMs) {
    const r = await this.request('tools/call', { name, arguments: args }, timeoutMs);
    if (r.result?.isError) {
      const text = (r.result.content || []).map((c) => c.text || '').join('\n');
      throw new Error(`${this.label}: tool ${name} returned isError: ${text.slice(0, 300)}`);
    }
    return r;
  }

  // Ends the session (HTTP DELETE); resolves the status (405 when a server does not allow it).
  async close(timeoutMs = 10000) {
    if (!this.sessionId) return null;
    const r = await this.send('DELETE', undefined, timeoutMs);
    this.sessionId = null;
    return r.status;
  }
}
