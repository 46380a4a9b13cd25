// The pinger of the responsiveness phase, in its own thread so that the main thread parsing
// multi-megabyte list answers cannot delay it: one MCP session over Streamable HTTP that sends
// `ping`, waits for the answer, then sends the next one `intervalMs` after the previous was sent
// (at once when the answer took longer). Posts its samples back when told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import http from 'node:http';
import { HttpSession } from './http-client.mjs';

const { url, intervalMs, timeoutMs, label } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const session = new HttpSession(url, agent, label);
let stopping = false;
parentPort.on('message', (m) => {
  if (m === 'stop') stopping = true;
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
  await session.initialize(timeoutMs);
  // One ping before "ready": the connection is open and the session known when samples count.
  await session.request('ping', {}, timeoutMs);
  parentPort.postMessage({ type: 'ready' });
  const sent = []; // Date.now() at send
  const lat = []; // ms, send to last byte of the answer
  const errors = [];
  while (!stopping) {
    const at = Date.now();
    const t0 = performance.now();
    try {
      await session.request('ping', {}, timeoutMs);
    } catch (e) {
      if (errors.length < 5) errors.push(e.message.split('\n')[0].slice(0, 300));
      else errors.push(null);
    }
    const ms = performance.now() - t0;
    sent.push(at);
    lat.push(ms);
    if (ms < intervalMs) await sleep(intervalMs - ms);
  }
  await session.close().catch(() => {});
  agent.destroy();
  parentPort.postMessage({ type: 'done', sent, lat, errors: errors.length, errorSamples: errors.filter(Boolean) });
} catch (e) {
  agent.destroy();
  parentPort.postMessage({ type: 'failed', error: e.message.split('\n')[0].slice(0, 500) });
}
