// Checks of the benchmark's own arithmetic and report (no cluster, no timing):
//   cd bench && node --test test/
import test from 'node:test';
import assert from 'node:assert/strict';
import { percentile, median } from '../lib/stats.mjs';
import { namesFound, resultText } from '../lib/servers.mjs';
import { renderReport } from '../lib/report.mjs';
import { findResponse } from '../lib/http-client.mjs';
import { pingStats, distinctNames, objectName } from '../lib/responsiveness.mjs';

test('nearest-rank percentiles', () => {
  const v = Array.from({ length: 200 }, (_, i) => 200 - i); // 1..200 unsorted
  assert.equal(median(v), 100);
  assert.equal(percentile(v, 99), 198);
  assert.equal(percentile(v, 100), 200);
  assert.equal(percentile([5], 99), 5);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('list completeness counts each pod name once', () => {
  assert.equal(namesFound('a-1\ta-2\n', ['a-1', 'a-2', 'a-3']), 2);
  const text = resultText({ content: [{ type: 'text', text: 'x' }, { type: 'image', data: '' }, { type: 'text', text: 'y' }] });
  assert.equal(text, 'x\ny');
});

function fixture({ init = 3, rss = 8 * 1024, oursGet = 1.2, floorGet = 1.0, oursTok = 100, peerTok = 300 }) {
  const list = (tok) => ({ n: 5, requested: 5, p50: 10, p99: 12, min: 9, text: { bytes: tok * 3, o200k: tok, cl100k: tok, approx: tok }, wireBytes: tok * 8, structuredBytes: 0, podsInText: 500, sample: 'NAME' });
  const server = (extra) => ({ errors: [], spawn: { p50: init, n: 20, requested: 20 }, idle: { rssKiB: rss, treeRssKiB: rss }, toolsList: { bytes: 100, count: 5, tokens: { o200k: 25 } }, ...extra });
  return {
    date: '2026-01-01T00:00:00.000Z',
    machine: { cpus: 2, cpu: 'cpu', memGiB: 8, kernel: 'k', node: 'v20', loadStart: '0.1', loadEnd: '0.2' },
    kubernetes: 'v1.36.0',
    config: { pods: 500, ns: 'bench', nSpawn: 20, nGet: 200, nList: 50, phaseBudgetMs: 150000, idleMs: 3000 },
    spawnFloor: { p50: 1, p99: 2 },
    floor: { get: { p50: floorGet, p99: 2, bytes: 10 }, listTable: { p50: 8, p99: 9, bytes: 10 }, listJson: { p50: 9, p99: 9, bytes: 10 } },
    servers: {
      ours: server({ get: { p50: oursGet, p99: 2, min: 1 }, list: list(oursTok) }),
      'ours-unthrottled': { errors: [], get: { p50: oursGet, p99: 2 }, list: list(oursTok), flags: '--qps-limit 1000000' },
      kms: server({ name: 'kms', get: { p50: 5, p99: 6, min: 1 }, list: list(peerTok), spawn: { p50: init * 10, n: 20, requested: 20 } }),
    },
  };
}

test('report: ratios are peer / ours and targets pass', () => {
  const md = renderReport(fixture({}), { command: 'bench/run.sh', notes: '## Extra\nnotes here' });
  assert.match(md, /spawn → initialize response.*\| 3\.00 \| 30\.0 \| 10× \|/);
  assert.match(md, /spawn → initialize ≤ 5 ms \(net of the spawn floor\) \| 2\.00 ms net = 3\.00 ms median − 1\.00 ms .*\| \*\*PASS\*\* \|/);
  assert.match(md, /idle RSS ≤ 10 MB \| 8\.0 MB \| \*\*PASS\*\* \|/);
  assert.match(md, /pod get, defaults\) \| 0\.20 ms \| \*\*PASS\*\* \|/);
  assert.match(md, /best peer's tokens \| 100 vs kubernetes-mcp-server 300 tokens \(33%\) \| \*\*PASS\*\* \|/);
  assert.match(md, /## Extra\nnotes here/);
  assert.match(md, /```sh\nbench\/run\.sh\n```/);
});

test('report: targets fail honestly', () => {
  const md = renderReport(fixture({ init: 7, rss: 11 * 1024, oursGet: 1.5, oursTok: 200 }), { command: 'x', notes: '' });
  assert.match(md, /spawn → initialize ≤ 5 ms \(net of the spawn floor\) \| 6\.00 ms net.*\*\*FAIL\*\*/);
  assert.match(md, /idle RSS ≤ 10 MB \| 11\.0 MB \| \*\*FAIL\*\*/);
  assert.match(md, /pod get, defaults\) \| 0\.50 ms \| \*\*FAIL\*\*/);
  assert.match(md, /best peer's tokens \| 200 vs .* \(67%\) \| \*\*FAIL\*\*/);
});

test('report: a skipped peer is named, not fatal', () => {
  const r = fixture({});
  r.servers.flux = { key: 'flux', name: 'mcp-server-kubernetes', skipped: 'not installed', errors: [] };
  const md = renderReport(r, { command: 'x', notes: '' });
  assert.match(md, /mcp-server-kubernetes: \*\*skipped\*\*: not installed/);
});

test('HTTP answers: JSON or SSE, the message with our id', () => {
  assert.deepEqual(findResponse('application/json', '{"jsonrpc":"2.0","id":3,"result":{"a":1}}', 3).result, { a: 1 });
  const sse = 'id: p0\nretry: 1000\ndata: \n\nevent: message\nid: e1\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n' +
    'event: message\r\ndata: {"jsonrpc":"2.0","id":4,\r\ndata: "result":{"b":2}}\r\n\r\n';
  assert.deepEqual(findResponse('text/event-stream; charset=utf-8', sse, 4).result, { b: 2 });
  assert.equal(findResponse('text/event-stream', sse, 5), null);
  assert.throws(() => findResponse('text/html', '<html>', 1), /unexpected content-type/);
});

test('report: load and pod-ops sections only, with ratios and the zero-error check', () => {
  const base = fixture({});
  const srv = (calls, perS, p50, errors, rss) => ({
    calls, errors, errorSamples: [], wallMs: (calls / perS) * 1000, callsPerS: perS, p50, p90: p50, p99: p50 * 2, max: p50 * 3,
    serverCpuS: 1, serverCpuMsPerCall: 0.1, clientCpuS: 2, openAllMs: 10, deleteStatuses: ['200'],
    before: { rssKiB: rss, fds: 10, threads: 1 }, opened: { rssKiB: rss, fds: 74, threads: 2 }, half: { rssKiB: rss, fds: 74, threads: 2 },
    end: { rssKiB: rss, fds: 74, threads: 2 }, after: { rssKiB: rss, fds: 10, threads: 2 }, during: { n: 9, rssKiBMax: rss, fdsMax: 74, threadsMax: 2 },
  });
  const r = { ...base, floor: undefined, servers: {}, config: { ...base.config, loadDefaultsMs: 15000 } };
  r.load = { sessions: 64, calls: 1000, budgetMs: 600000, servers: { ours: srv(64000, 2000, 20, 0, 16 * 1024), kms: srv(64000, 500, 80, 0, 90 * 1024) }, defaults: {} };
  const summ = (p50) => ({ n: 10, p50, p99: p50 * 2, min: p50 / 2 });
  const fwd = (mbps, conn) => ({ upload: { mbps }, download: { mbps }, echo: { mbps }, connect: summ(conn) });
  r.podops = { pod: 'bench/p', nExec: 10, pfBytes: 64 << 20, pfReps: 3, nConnect: 10, oursArgs: '--non-destructive=false', errors: [],
    execOurs: summ(10), execKubectl: summ(80), kubectlStart: summ(50), pfDirect: fwd(1000, 0.5), pfOurs: fwd(200, 5), pfKubectl: fwd(100, 10) };
  const md = renderReport(r, { command: 'x', notes: '' });
  assert.doesNotMatch(md, /## Results/);
  assert.match(md, /\*\*throughput \(calls\/s\)\*\* \| 2,000 \| 500 \| 4\.0× \(ours ÷ peer\)/);
  assert.match(md, /latency p50 \(ms\) \| 20\.0 \| 80\.0 \| 4\.0× \(peer ÷ ours\)/);
  assert.match(md, /errors of ours = 0 \(required: 0\) — \*\*PASS\*\*/);
  assert.match(md, /\| p50 \(ms\) \| 10\.0 \| 80\.0 \| 8\.0× \|/);
  assert.match(md, /upload, client → pod \(MB\/s\) \| 1000 \| 200 \| 100 \| 2\.0× \|/);
  r.load.servers.ours.errors = 3;
  assert.match(renderReport(r, { command: 'x', notes: '' }), /errors of ours = 3 \(required: 0\) — \*\*FAIL\*\*/);
});

test("report: our default rate limit comes from the binary's --help when recorded", () => {
  const r = fixture({});
  assert.match(renderReport(r, { command: 'x', notes: '' }), /defaults: read-only tools, `--qps-limit 20 --burst-limit 30`/);
  r.oursDefaults = { qps: 50, burst: 300 };
  const md = renderReport(r, { command: 'x', notes: '' });
  assert.match(md, /defaults: read-only tools, `--qps-limit 50 --burst-limit 300`/);
  assert.match(md, /Our default client rate limit \(50 QPS, burst 300\) is hit by any tight loop of more than 300 calls/);
});

test('ping stats: a stall counts for the pings that would have waited behind it', () => {
  const s = pingStats([...Array(98).fill(1), 500, 2], 10);
  assert.equal(s.n, 100);
  assert.equal(s.p50, 1);
  assert.equal(s.max, 500);
  assert.equal(s.over100, 1);
  assert.equal(s.p99, 2); // raw: one slow sample in 100 hides below p99
  // corrected: 500 adds 490, 480, ..., 10 (49 samples): the tail is now seen
  assert.ok(s.p99Corrected >= 480, `corrected p99 ${s.p99Corrected}`);
});

test('distinct object names in a list answer', () => {
  assert.equal(distinctNames('name: bench-resp-00001\n  name: bench-resp-00001\nbench-resp-00002 bench-resp-3', 'bench-resp-'), 2);
  assert.equal(objectName('x-', 42), 'x-00042');
});

test('report: pod get interleaved with a raw GET gives the overhead', () => {
  const r = fixture({ oursGet: 1.2, floorGet: 9 }); // the separate floor run is ignored when pairs exist
  r.servers.ours.get = { p50: 1.2, p99: 2, min: 1, n: 200, raw: { p50: 1.0, p99: 1.5 }, diffP50: 0.2, diffP99: 0.5, pairDiffP50: 0.19 };
  const md = renderReport(r, { command: 'x', notes: '' });
  assert.match(md, /\| ours, defaults \| 1\.20 \/ 2\.00 \| 1\.00 \/ 1\.50 \| 0\.20 \| 0\.50 \| 0\.19 \| 200 \|/);
  assert.match(md, /pod get, defaults, interleaved\) \| 0\.20 ms \| \*\*PASS\*\* \|/);
});

test('report: responsiveness section with ratios and the goal', () => {
  const base = fixture({});
  const win = (name, p99, extra = {}) => ({ name, wallMs: 8000, cpuS: 4, rssKiBMax: 20480, ping: { n: 700, p50: 1, p99, p99Corrected: p99 * 2, max: p99 * 3, over100: 0 }, ...extra });
  const calls = { n: 50, p50: 150, p99: 300, bytesP50: 2_000_000 };
  const r = { ...base, floor: undefined, servers: {} };
  r.responsiveness = {
    ns: 'bench-resp', objects: 10000, listers: 2, idleMs: 3000, listMs: 8000, intervalMs: 10, pageLimit: 1000,
    setup: { reused: 10000, created: 0, ms: 100 },
    servers: {
      ours: { flags: 'serve --transport streamable-http', windows: [win('idle', 2), win('full', 40, { what: 'full pages', calls, sweeps: { n: 5, p50: 1500 }, errors: 0, incomplete: 0 }), win('summary', 250, { what: 'summary', calls, sweeps: { n: 5, p50: 900 }, errors: 0, incomplete: 1, errorSamples: ['a sweep saw 9000 of 10000 objects'] })] },
      kms: { flags: 'kubernetes-mcp-server --port PORT', windows: [win('idle', 4), win('yaml', 80, { what: 'resources_list', calls, sweeps: { n: 2, p50: 4000 }, errors: 0, incomplete: 0 })] },
    },
  };
  const md = renderReport(r, { command: 'x', notes: '' });
  assert.match(md, /## Responsiveness while other sessions list 10,000 objects/);
  assert.match(md, /\| ours \| idle \(no list running\) \| 700 \| 1\.00 \| 2\.00 \| 4\.00 \| 6\.00 \| 0 \| 2\.0× \|/);
  assert.match(md, /\| ours \| lists \(full\) \| 700 \| 1\.00 \| \*\*40\.0\*\* \| 80\.0 \| 120 \| 0 \| 2\.0× \|/);
  assert.match(md, /\| ours \| lists \(summary\) \| .* \| 0\.3× \|/);
  assert.match(md, /worst list mode \(summary\): 250 ms, \*\*not met\*\*; kubernetes-mcp-server: 80\.0 ms/);
  assert.match(md, /\| ours \| summary: summary \| 50 \| 150 \| 300 \| 2,000,000 \| 5 \| 900 \| 4\.0 \/ 8\.00 \| 20\.0 \| 1 \|/);
  assert.match(md, /- ours \(summary\): a sweep saw 9000 of 10000 objects/);
});
