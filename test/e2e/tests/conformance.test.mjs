// The official MCP conformance suite (npm @modelcontextprotocol/conformance, pinned in
// test/conformance/package.json) against the product binary over Streamable HTTP. Only
// scenarios that need the suite's own fixture tools/resources/prompts may fail (baseline).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot, serverBin, clusterEnv } from '../lib/harness.mjs';

test('conformance suite passes with only fixture scenarios in the baseline', () => {
  const r = spawnSync(path.join(repoRoot, 'test/conformance/run.sh'), [serverBin], {
    env: { ...process.env, KUBECONFIG: clusterEnv().KUBECONFIG },
    encoding: 'utf8',
    timeout: 600000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, out.slice(-4000));
  assert.match(out, /Baseline check passed/);
  for (const s of ['server-initialize', 'ping', 'logging-set-level', 'tools-list', 'dns-rebinding-protection',
    'server-sse-multiple-streams', 'resources-list', 'prompts-list']) {
    assert.match(out, new RegExp(`✓ ${s}`), `${s} must pass`);
  }
});
