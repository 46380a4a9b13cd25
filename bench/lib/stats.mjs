// Small numeric and /proc helpers for the benchmark.
import { readFileSync, readdirSync } from 'node:fs';

// Nearest-rank percentile of an array of numbers (p in 0..100).
export function percentile(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(rank, s.length) - 1];
}

export const median = (v) => percentile(v, 50);

// VmRSS / VmHWM of one process in KiB, or null when it is gone.
export function procMem(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k) => Number((st.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [])[1] || NaN);
    return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
  } catch {
    return null;
  }
}

// Pids of pid and all its descendants (a server that forks helpers pays for them too).
export function processTree(pid) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch {
      // raced with an exiting process
    }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(children.get(p) || []));
  }
  return out;
}

export function treeRssKiB(pid) {
  let sum = 0;
  for (const p of processTree(pid)) sum += procMem(p)?.rss || 0;
  return sum;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const nsToMs = (ns) => Number(ns) / 1e6;
