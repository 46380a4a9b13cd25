// Checks of the benchmark's own arithmetic and report (no cluster, no timing):
//   cd bench && node --test test/
import test from 'node:test';
import assert from 'node:assert/strict';
import { percentile, median } from '../lib/stats.mjs';
import { namesFound, resultText } from '../lib/servers.mjs';
import { renderReport } from '../lib/report.mjs';

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
