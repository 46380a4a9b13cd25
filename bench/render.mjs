#!/usr/bin/env node
// Re-renders the markdown report from the raw results of a run, without measuring anything:
//   node bench/render.mjs [RESULTS.json] [OUT.md]
// (defaults: build-bench/bench-results.json, docs/performance.md). BENCH_COMMAND overrides the
// reproduce command recorded in the results; the profile notes are read again.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderReport } from './lib/report.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const input = process.argv[2] || path.join(root, 'build-bench/bench-results.json');
const out = process.argv[3] || path.join(root, 'docs/performance.md');
const res = JSON.parse(readFileSync(input, 'utf8'));
let notes = '';
try {
  notes = readFileSync(path.join(root, 'bench/profile-notes.md'), 'utf8');
} catch {
  // no notes
}
const md = renderReport(res, { command: process.env.BENCH_COMMAND || res.config.command, notes });
writeFileSync(out, md);
process.stderr.write(`wrote ${out} from ${input}\n`);
