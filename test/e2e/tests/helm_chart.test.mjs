// The Helm chart (helm/mcp-kubernetes) with real tools: helm v4 (test/helm/build.sh) lints and
// renders it over the values matrix in test/helm/values; the API server checks every rendered
// object with a server-side dry-run (HTTPRoute, ServiceMonitor and PrometheusRule against their
// real CRDs, test/helm/crds.sh); helm installs each RBAC profile for real; then the server binary
// runs as each release's service account (a TokenRequest token, --in-cluster, the Deployment's own
// args) and calls every tool the profile offers: all succeed, and calls beyond the profile are
// refused by the API server's RBAC.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  repoRoot, serverBin, clusterEnv, kubectl, kubectlJson, ok, fails, freshNamespace, dropNamespace, freePort,
  waitHealthy,
} from '../lib/harness.mjs';
import { createWorkload, roundTrip } from './pods_fixture.mjs';

const env = clusterEnv();
const chart = path.join(repoRoot, 'helm/mcp-kubernetes');
const valuesDir = path.join(repoRoot, 'test/helm/values');
const inCluster = path.join(repoRoot, 'test/helm/in-cluster.sh');
const valuesFiles = readdirSync(valuesDir).filter((f) => f.endsWith('.yaml')).sort();
const PROFILES = ['readonly', 'standard', 'admin'];
// Every flag the chart renders must exist in the binary (the original chart passed a flag that
// does not exist and crashed its pod).

let helm;
let tmp;
const helmEnv = () => ({
  ...process.env, KUBECONFIG: env.KUBECONFIG, HELM_CONFIG_HOME: `${tmp}/config`, HELM_CACHE_HOME: `${tmp}/cache`,
  HELM_DATA_HOME: `${tmp}/data`,
});
function run(cmd, args, { input, allowFail = false, timeout = 180000 } = {}) {
  try {
    return execFileSync(cmd, args, { input, env: helmEnv(), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout });
  } catch (e) {
    if (allowFail) return { failed: true, stderr: String(e.stderr), stdout: String(e.stdout) };
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed: ${e.stderr}${e.stdout}`);
  }
}
const render = (values, ns, extra = []) =>
  run(helm, ['template', 'mcpk', chart, '-n', ns, '-f', path.join(valuesDir, values), ...extra]);
// The API server's view of a rendered manifest: validated (schemas, CRDs), defaulted, nothing stored.
// The chart names every object's namespace, so the manifest applies as it is.
function dryRun(manifest) {
  const out = kubectlJson(['apply', '--dry-run=server', '-f', '-'], { input: manifest });
  return out.kind === 'List' ? out.items : [out];
}
const byKind = (objs, kind) => objs.filter((o) => o.kind === kind);
const one = (objs, kind) => {
  const l = byKind(objs, kind);
  assert.equal(l.length, 1, `one ${kind} expected, got ${l.length}`);
  return l[0];
};
// Whether a ClusterRole's rules allow verb on group/resource.
const allows = (role, group, resource, verb) =>
  (role.rules || []).some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) &&
    (r.verbs.includes(verb) || r.verbs.includes('*')) && !r.resourceNames);

let serveHelp;
let dryNs;
before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'mcpk-helm-'));
  // Both are cached: scripts/test.sh builds them in its cluster-bins phase.
  helm = execFileSync(path.join(repoRoot, 'test/helm/build.sh'), { encoding: 'utf8', timeout: 1800000 }).trim();
  const crds = execFileSync(path.join(repoRoot, 'test/helm/crds.sh'), { encoding: 'utf8', timeout: 1800000 }).trim();
  for (const f of readdirSync(crds).filter((f) => f.endsWith('.yaml'))) {
    kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(crds, f)]);
  }
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/httproutes.gateway.networking.k8s.io',
    'crd/servicemonitors.monitoring.coreos.com', 'crd/prometheusrules.monitoring.coreos.com']);
  serveHelp = execFileSync(serverBin, ['serve', '--help'], { encoding: 'utf8' });
  dryNs = freshNamespace('helm-dry');
  // capi.yaml grants Secrets in these namespaces (organization namespaces on a management cluster).
  for (const n of ['helm-org-acme', 'helm-org-beta']) kubectl(['create', 'namespace', n], { allowFail: true });
});
after(() => {
  dropNamespace(dryNs);
  for (const n of ['helm-org-acme', 'helm-org-beta']) dropNamespace(n);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('helm lint --strict passes for every values file', () => {
  assert.ok(valuesFiles.length >= 10, valuesFiles.join(' '));
  for (const f of valuesFiles) {
    const out = run(helm, ['lint', '--strict', chart, '-f', path.join(valuesDir, f)]);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/, `${f}: ${out}`);
  }
});

// What every rendered Deployment must be, whatever the values.
function checkDeployment(d, f) {
  const pod = d.spec.template.spec;
  const c = pod.containers[0];
  assert.equal(pod.automountServiceAccountToken, false, f);
  assert.equal(pod.securityContext.runAsNonRoot, true, f);
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', f);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true, f);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false, f);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], f);
  assert.ok(c.resources.limits.memory && c.resources.requests.cpu, f);
  assert.equal(c.livenessProbe.httpGet.path, '/healthz', f);
  assert.equal(c.readinessProbe.httpGet.path, '/readyz', f);
  assert.equal(c.livenessProbe.httpGet.port, 'http', f);
  const sa = pod.volumes.find((v) => v.name === 'sa-token').projected.sources;
  assert.ok(sa.find((s) => s.serviceAccountToken?.path === 'token'), f);
  assert.equal(sa.find((s) => s.configMap)?.configMap.name, 'kube-root-ca.crt', f);
  assert.equal(sa.find((s) => s.downwardAPI)?.downwardAPI.items[0].fieldRef.fieldPath, 'metadata.namespace', f);
  assert.ok(c.volumeMounts.find((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount'), f);
  // No secret ever in the pod spec: secret flags only in their -file form, no secret env values.
  for (const a of c.args) {
    assert.doesNotMatch(a, /^--(dex-client-secret|google-client-secret|registration-token|oauth-encryption-key|valkey-password)=/, `${f}: ${a}`);
  }
  assert.ok(!(c.env || []).some((e) => /SECRET|TOKEN|PASSWORD/.test(e.name) && e.value), f);
  assert.equal(c.args[0], 'serve', f);
  const unknown = c.args.slice(1).map((a) => a.replace(/=.*/, '')).filter((fl) => !serveHelp.includes(fl));
  assert.deepEqual(unknown, [], `${f}: flags the server does not know`);
}

const EXPECTED_KINDS = {
  'default.yaml': 'ClusterRole ClusterRoleBinding Deployment Service ServiceAccount',
  'readonly.yaml': 'ClusterRole ClusterRoleBinding Deployment NetworkPolicy Service ServiceAccount',
  'standard.yaml': 'ClusterRole ClusterRoleBinding Deployment Service ServiceAccount',
  'admin.yaml': 'ClusterRole ClusterRoleBinding Deployment Service ServiceAccount',
  'oauth-ingress.yaml': 'ClusterRole ClusterRoleBinding Deployment Ingress Service ServiceAccount',
  'downstream-valkey.yaml': 'Deployment PodDisruptionBudget Service ServiceAccount',
  'gateway.yaml': 'ClusterRole ClusterRoleBinding Deployment HTTPRoute Service ServiceAccount',
  'capi.yaml': 'ClusterRole ClusterRole ClusterRoleBinding ClusterRoleBinding Deployment Role Role RoleBinding RoleBinding Service ServiceAccount',
  'tls.yaml': 'ClusterRole ClusterRoleBinding Deployment Service ServiceAccount',
  'monitoring.yaml': 'ClusterRole ClusterRoleBinding Deployment NetworkPolicy PrometheusRule Service ServiceAccount ServiceMonitor',
};

test('every values file renders objects the API server accepts (server-side dry-run)', () => {
  assert.deepEqual(valuesFiles, Object.keys(EXPECTED_KINDS).sort(), 'a values file without expectations');
  const rendered = {};
  for (const f of valuesFiles) {
    const objs = dryRun(render(f, dryNs));
    rendered[f] = objs;
    assert.equal(objs.map((o) => o.kind).sort().join(' '), EXPECTED_KINDS[f], f);
    checkDeployment(one(objs, 'Deployment'), f);
  }
  // The profiles: the ClusterRole matches the tools the server flags offer.
  const role = (f) => byKind(rendered[f], 'ClusterRole').find((r) => !r.metadata.name.endsWith('-capi'));
  const args = (f) => one(rendered[f], 'Deployment').spec.template.spec.containers[0].args;
  const ro = role('readonly.yaml');
  assert.ok(allows(ro, '', 'pods/log', 'get'), 'readonly must read pod logs (the original forgot)');
  assert.ok(allows(ro, 'apps', 'deployments', 'list') && allows(ro, '', 'events', 'list'));
  assert.ok(!allows(ro, '', 'secrets', 'get'), 'readonly reads no Secrets');
  assert.ok(!ro.rules.some((r) => r.verbs.some((v) => ['create', 'update', 'patch', 'delete', '*'].includes(v))), 'readonly writes nothing');
  assert.ok(args('readonly.yaml').includes('--non-destructive=true'));
  assert.ok(!args('readonly.yaml').some((a) => a.startsWith('--allowed-operations')));
  assert.equal(role('default.yaml').metadata.labels['mcp-kubernetes/rbac-profile'], 'readonly', 'the default profile');
  const st = role('standard.yaml');
  assert.ok(allows(st, '', 'secrets', 'get') && allows(st, 'apps', 'deployments', 'patch') && allows(st, 'apps', 'deployments/scale', 'patch'));
  assert.ok(!allows(st, '', 'pods/exec', 'create') && !allows(st, '', 'pods/portforward', 'create'));
  assert.ok(args('standard.yaml').includes('--allowed-operations=create,apply,patch,delete,scale'));
  const ad = role('admin.yaml');
  assert.ok(allows(ad, '', 'pods/exec', 'create') && allows(ad, '', 'pods/portforward', 'create'));
  assert.ok(allows(ad, 'example.com', 'widgets', 'list'), 'rbac.extraRules are added');
  assert.ok(args('admin.yaml').includes('--non-destructive=false'));
  // OAuth: the Secret's keys mounted as files and named by -file flags; HTTPS probes; Ingress TLS.
  const od = one(rendered['oauth-ingress.yaml'], 'Deployment').spec.template.spec;
  const oc = od.containers[0];
  assert.deepEqual(od.volumes.find((v) => v.name === 'oauth').secret.items.map((i) => i.key), ['dex-client-secret', 'registration-token']);
  assert.ok(oc.args.includes('--dex-client-secret-file=/etc/mcp-kubernetes/oauth/dex-client-secret'));
  assert.ok(oc.args.includes('--dex-ca-file=/etc/mcp-kubernetes/dex-ca/ca.crt'));
  assert.ok(oc.volumeMounts.find((m) => m.mountPath === '/etc/mcp-kubernetes/oauth' && m.readOnly));
  assert.equal(oc.readinessProbe.httpGet.scheme, 'HTTPS');
  const ing = one(rendered['oauth-ingress.yaml'], 'Ingress');
  assert.deepEqual(ing.spec.tls, [{ hosts: ['mcp.example.com'], secretName: 'mcp-kubernetes-tls' }]);
  assert.equal(ing.spec.rules[0].http.paths[0].backend.service.port.name, 'http');
  // HTTPS in the pod: the Secret's files, HTTPS probes, and flags the binary has today.
  const td = one(rendered['tls.yaml'], 'Deployment').spec.template.spec;
  assert.ok(td.containers[0].args.includes('--tls-cert-file=/etc/mcp-kubernetes/tls/tls.crt'));
  assert.equal(td.containers[0].livenessProbe.httpGet.scheme, 'HTTPS');
  assert.equal(td.volumes.find((v) => v.name === 'tls').secret.secretName, 'mcp-kubernetes-serving');
  assert.equal(one(rendered['tls.yaml'], 'Service').spec.ports[0].appProtocol, 'https');
  // Downstream OAuth: calls run as the user, the service account gets no rules.
  const dd = one(rendered['downstream-valkey.yaml'], 'Deployment');
  assert.equal(dd.spec.replicas, 2);
  assert.equal(one(rendered['downstream-valkey.yaml'], 'PodDisruptionBudget').spec.minAvailable, 1);
  assert.ok(dd.spec.template.spec.containers[0].args.includes('--downstream-oauth'));
  assert.deepEqual(dd.spec.template.spec.volumes.find((v) => v.name === 'oauth').secret.items.map((i) => i.key),
    ['dex-client-secret', 'registration-token', 'oauth-encryption-key', 'valkey-password']);
  // Gateway API.
  const hr = one(rendered['gateway.yaml'], 'HTTPRoute');
  assert.equal(hr.spec.rules[0].backendRefs[0].port, 8080);
  assert.equal(hr.spec.rules[0].timeouts.request, '0s');
  assert.equal(hr.spec.parentRefs[0].sectionName, 'https');
  // CAPI: Cluster objects readable; kubeconfig Secrets by name, or a whole namespace.
  const capi = byKind(rendered['capi.yaml'], 'ClusterRole').find((r) => r.metadata.name.endsWith('-capi'));
  assert.ok(allows(capi, 'cluster.x-k8s.io', 'clusters', 'list'));
  assert.ok(allows(capi, 'authorization.k8s.io', 'subjectaccessreviews', 'create'), 'access checks (--capi-access-check rbac)');
  assert.ok(one(rendered['capi.yaml'], 'Deployment').spec.template.spec.containers[0].args.includes('--capi-access-check=rbac'));
  const roles = byKind(rendered['capi.yaml'], 'Role');
  const acme = roles.find((r) => r.metadata.namespace === 'helm-org-acme');
  assert.deepEqual(acme.rules, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['prod-kubeconfig', 'staging-kubeconfig'] }]);
  const beta = roles.find((r) => r.metadata.namespace === 'helm-org-beta');
  assert.deepEqual(beta.rules, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
  // Monitoring and OTel settings.
  const sm = one(rendered['monitoring.yaml'], 'ServiceMonitor');
  assert.equal(sm.spec.endpoints[0].port, 'metrics');
  assert.equal(sm.metadata.labels.release, 'prometheus');
  const pr = one(rendered['monitoring.yaml'], 'PrometheusRule');
  assert.ok(pr.spec.groups[0].rules.map((r) => r.alert).includes('McpKubernetesDown'));
  const menv = Object.fromEntries(one(rendered['monitoring.yaml'], 'Deployment').spec.template.spec.containers[0].env.map((e) => [e.name, e.value]));
  assert.equal(menv.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector.observability:4318');
  assert.equal(menv.TRACING_EXPORTER, 'otlp');
  assert.equal(menv.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/json');
  assert.equal(menv.PROPAGATE_TRACE_TO_APISERVER, 'true');
  assert.equal(menv.OTEL_TRACES_SAMPLER_ARG, '0.25');
  const np = one(rendered['monitoring.yaml'], 'NetworkPolicy');
  assert.ok(np.spec.egress.some((e) => e.ports?.some((p) => p.port === 4318)));
  assert.ok(np.spec.egress.some((e) => e.ports?.some((p) => p.port === 53)));
});

test('values the chart must refuse fail with a message saying why', () => {
  const cases = [
    [['--set', 'rbac.profile=admin'], /adminConfirmation=true/],
    [['--set', 'rbac.profile=superuser'], /rbac.profile/],
    [['--set', 'mcpKubernetes.oauth.enabled=true', '--set', 'mcpKubernetes.oauth.baseURL=https://x'], /existingSecret is required/],
    [['--set', 'mcpKubernetes.oauth.enabled=true', '--set', 'mcpKubernetes.oauth.existingSecret=s'], /baseURL is required/],
    [['--set', 'gatewayAPI.httpRoute.enabled=true'], /parentRefs/],
    [['--set', 'mcpKubernetes.tls.enabled=true'], /tls\.secretName is required/],
    [['--set', 'mcpKubernetes.nonDestructiv=false'], /additional propert/i],  // a typo is an error, not ignored
    [['--set', 'mcpKubernetes.allowedOperations={drop}'], /allowedOperations/],
    [['--set', 'instrumentation.otlpProtocol=grpc'], /otlpProtocol/],  // the server would refuse to start
  ];
  for (const [extra, want] of cases) {
    const r = run(helm, ['template', 'mcpk', chart, ...extra], { allowFail: true });
    assert.ok(r.failed, `${extra.join(' ')} rendered`);
    assert.match(r.stderr, want, extra.join(' '));
  }
});

// --- helm install, then the server as each profile's service account ----------------------

// In-cluster there is no kubeconfig, so the context tools are not offered.
const READ_TOOLS = ['k8s_describe_resource', 'k8s_get_api_resources', 'k8s_get_cluster_health', 'k8s_get_pod_logs',
  'k8s_get_resource', 'k8s_list_resources'];
const WRITE_TOOLS = ['k8s_apply_resource', 'k8s_create_resource', 'k8s_delete_resource', 'k8s_patch_resource',
  'k8s_scale_resource'];
const ADMIN_TOOLS = ['k8s_exec_pod', 'k8s_list_port_forward_sessions', 'k8s_port_forward_pod', 'k8s_port_forward_service',
  'k8s_stop_all_port_forward_sessions', 'k8s_stop_port_forward_session'];
// Exactly these: a tool added to a profile must get its RBAC rules and its calls here too.
const TOOLS = {
  readonly: READ_TOOLS,
  standard: [...READ_TOOLS, ...WRITE_TOOLS].sort(),
  admin: [...READ_TOOLS, ...WRITE_TOOLS, ...ADMIN_TOOLS].sort(),
};

const apiUrl = new URL(env.APISERVER_URL_C0);
const releases = {};  // profile -> { ns, sa, args, saDir }
let work;              // the namespace the tools work on
const servers = [];

// The server as the release's service account, as its pod would run it: --in-cluster with the
// token, CA and namespace files at the service-account path, and the Deployment's own args
// (stdio instead of HTTP, so the MCP client drives it directly).
async function startAsServiceAccount(rel, override = []) {
  const args = rel.args.map((a) => (a === '--transport=streamable-http' ? '--transport=stdio' : a));
  for (const o of override) {
    const k = o.replace(/=.*/, '');
    const i = args.findIndex((a) => a.replace(/=.*/, '') === k);
    if (i >= 0) args.splice(i, 1);
    args.push(o);
  }
  const transport = new StdioClientTransport({
    command: inCluster,
    args: [rel.saDir, apiUrl.hostname, apiUrl.port, serverBin, ...args],
    env: { PATH: process.env.PATH, HOME: '/nonexistent' },  // no kubeconfig to fall back on
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d.toString(); });
  const client = new Client({ name: 'e2e-helm', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  const s = { client, stderr: () => stderr, close: () => client.close() };
  servers.push(s);
  return s;
}

function saDirFor(ns, sa) {
  const dir = mkdtempSync(path.join(tmp, `sa-${ns}-`));
  // TokenRequest API, as the kubelet does for the projected volume.
  writeFileSync(`${dir}/token`, kubectl(['-n', ns, 'create', 'token', sa, '--duration=1h']).trim());
  // Published into every namespace by the controller manager, shortly after the namespace appears.
  kubectl(['-n', ns, 'wait', '--for=create', 'configmap/kube-root-ca.crt', '--timeout=30s']);
  writeFileSync(`${dir}/ca.crt`, kubectlJson(['-n', ns, 'get', 'configmap', 'kube-root-ca.crt']).data['ca.crt']);
  writeFileSync(`${dir}/namespace`, ns);
  return dir;
}

describe('installed releases', () => {
  let echo;
  const echoSockets = new Set();
  before(async () => {
    work = freshNamespace('helm-work');
    createWorkload(work);  // pods app, multi, annotated; service web
    kubectl(['-n', work, 'create', 'deployment', 'web', '--image=registry.invalid/web:1', '--replicas=1']);
    kubectl(['-n', work, 'create', 'secret', 'generic', 'db', '--from-literal=password=hunter2']);
    for (const p of [...PROFILES, 'capi']) {
      const ns = freshNamespace(`helm-${p}`);
      run(helm, ['install', `mcpk-${p}`, chart, '-n', ns, '-f', path.join(valuesDir, `${p}.yaml`), '--wait', '--timeout', '120s']);
      const d = kubectlJson(['-n', ns, 'get', 'deployment', `mcpk-${p}-mcp-kubernetes`]);
      const sa = d.spec.template.spec.serviceAccountName;
      releases[p] = { ns, sa, args: d.spec.template.spec.containers[0].args, saDir: saDirFor(ns, sa), deployment: d };
    }
    echo = net.createServer((s) => { echoSockets.add(s); s.on('close', () => echoSockets.delete(s)); s.pipe(s); });
    await new Promise((res, rej) => echo.once('error', rej).listen(Number(env.PF_TARGET_8080), '127.0.0.1', res));
  });
  after(async () => {
    for (const s of servers) await s.close().catch(() => {});
    for (const s of echoSockets) s.destroy();
    await new Promise((res) => (echo ? echo.close(res) : res()));
    for (const [p, r] of Object.entries(releases)) {
      run(helm, ['uninstall', `mcpk-${p}`, '-n', r.ns, '--wait', '--timeout', '60s'], { allowFail: true });
      dropNamespace(r.ns);
    }
    if (work) dropNamespace(work);
  });

  test('helm install: each release is deployed and its Deployment available (kwok runs the pod)', () => {
    for (const p of [...PROFILES, 'capi']) {
      const r = releases[p];
      const st = JSON.parse(run(helm, ['status', `mcpk-${p}`, '-n', r.ns, '-o', 'json']));
      assert.equal(st.info.status, 'deployed', p);
      assert.equal(r.deployment.status.availableReplicas, 1, p);
      assert.match(st.info.notes, new RegExp(`RBAC profile: ${p === 'capi' ? 'readonly' : p}`));
      const crb = kubectlJson(['get', 'clusterrolebinding', `${r.ns}-mcpk-${p}-mcp-kubernetes`]);
      assert.deepEqual(crb.subjects, [{ kind: 'ServiceAccount', name: r.sa, namespace: r.ns }]);
    }
  });

  test('the Deployment\'s args start the server in-cluster: /healthz, /readyz and /metrics answer', async () => {
    const r = releases.readonly;
    const [port, mport] = [await freePort(), await freePort()];
    const args = r.args.map((a) => a.replace(/^--http-addr=.*/, `--http-addr=127.0.0.1:${port}`)
      .replace(/^--metrics-addr=.*/, `--metrics-addr=127.0.0.1:${mport}`));
    assert.ok(args.includes(`--http-addr=127.0.0.1:${port}`) && args.includes(`--metrics-addr=127.0.0.1:${mport}`));
    let logs = '';
    const p = spawn(inCluster, [r.saDir, apiUrl.hostname, apiUrl.port, serverBin, ...args], {
      env: { PATH: process.env.PATH, HOME: '/nonexistent' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    p.stderr.on('data', (d) => { logs += d; });
    try {
      await waitHealthy(`http://127.0.0.1:${port}/healthz`, () => logs);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200, `${await ready.text()} ${logs}`);
      const m = await fetch(`http://127.0.0.1:${mport}/metrics`);
      assert.equal(m.status, 200);
      assert.match(await m.text(), /http_requests_total/);
    } finally {
      p.kill('SIGTERM');
      await new Promise((res) => p.exitCode !== null ? res() : p.once('exit', res));
    }
  });

  test('capi: the service account reads Cluster objects and exactly the named kubeconfig Secrets (SubjectAccessReview)', () => {
    const rel = releases.capi;
    const user = `system:serviceaccount:${rel.ns}:${rel.sa}`;
    const groups = ['system:serviceaccounts', `system:serviceaccounts:${rel.ns}`, 'system:authenticated'];
    const can = (resourceAttributes) => kubectlJson(['create', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user, groups, resourceAttributes } }),
    }).status.allowed === true;
    assert.ok(can({ group: 'cluster.x-k8s.io', resource: 'clusters', verb: 'list' }));
    assert.ok(can({ group: 'cluster.x-k8s.io', resource: 'machinedeployments', verb: 'get', namespace: 'helm-org-acme', name: 'x' }));
    assert.ok(!can({ group: 'cluster.x-k8s.io', resource: 'clusters', verb: 'delete', namespace: 'helm-org-acme', name: 'prod' }));
    assert.ok(can({ group: 'authorization.k8s.io', resource: 'subjectaccessreviews', verb: 'create' }), 'asks who may see a Cluster');
    assert.ok(can({ resource: 'secrets', verb: 'get', namespace: 'helm-org-acme', name: 'prod-kubeconfig' }));
    assert.ok(can({ resource: 'secrets', verb: 'get', namespace: 'helm-org-acme', name: 'staging-kubeconfig' }));
    assert.ok(!can({ resource: 'secrets', verb: 'get', namespace: 'helm-org-acme', name: 'db-password' }), 'only the named Secrets');
    assert.ok(!can({ resource: 'secrets', verb: 'list', namespace: 'helm-org-acme' }));
    assert.ok(can({ resource: 'secrets', verb: 'get', namespace: 'helm-org-beta', name: 'anything-kubeconfig' }), 'a whole namespace');
    assert.ok(!can({ resource: 'secrets', verb: 'get', namespace: 'default', name: 'prod-kubeconfig' }), 'no other namespace');
  });

  // Calls every read tool offers; each must succeed as the service account.
  async function readCalls(c) {
    const pods = await ok(c, 'k8s_list_resources', { resourceType: 'pods', namespace: work });
    assert.match(pods.text, /\bapp\b/);
    await ok(c, 'k8s_list_resources', { resourceType: 'deployments', allNamespaces: true });
    await ok(c, 'k8s_get_resource', { resourceType: 'pods', namespace: work, name: 'app' });
    await ok(c, 'k8s_describe_resource', { resourceType: 'deployments', namespace: work, name: 'web' });
    await ok(c, 'k8s_describe_resource', { resourceType: 'pods', namespace: work, name: 'app' });
    const logs = await ok(c, 'k8s_get_pod_logs', { namespace: work, name: 'app' });
    assert.ok(logs.text.length > 0);
    await ok(c, 'k8s_get_pod_logs', { namespace: work, name: 'app', filter: 'e' });
    await ok(c, 'k8s_get_api_resources', {});
    const health = await ok(c, 'k8s_get_cluster_health', {});
    assert.ok(!/Forbidden/.test(health.text), health.text);
  }
  async function writeCalls(c, tag) {
    const cm = (name, a) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: ${work}}\ndata: {a: "${a}"}\n`;
    await ok(c, 'k8s_create_resource', { manifest: cm(`${tag}-created`, 1) });
    await ok(c, 'k8s_apply_resource', { manifest: cm(tag, 1) });  // server-side apply creates ...
    await ok(c, 'k8s_apply_resource', { manifest: cm(tag, 2) });  // ... and updates
    assert.equal(kubectlJson(['-n', work, 'get', 'configmap', tag]).data.a, '2');
    await ok(c, 'k8s_delete_resource', { resourceType: 'configmaps', namespace: work, name: `${tag}-created` });
    await ok(c, 'k8s_patch_resource', { resourceType: 'deployments', namespace: work, name: 'web', patchType: 'merge',
      patch: { metadata: { labels: { [`patched-by-${tag}`]: 'yes' } } } });
    await ok(c, 'k8s_scale_resource', { resourceType: 'deployments', namespace: work, name: 'web', replicas: 2 });
    assert.equal(kubectlJson(['-n', work, 'get', 'deployment', 'web']).spec.replicas, 2);
    await ok(c, 'k8s_scale_resource', { resourceType: 'deployments', namespace: work, name: 'web', replicas: 1 });
    await ok(c, 'k8s_delete_resource', { resourceType: 'configmaps', namespace: work, name: tag });
    const sec = await ok(c, 'k8s_get_resource', { resourceType: 'secrets', namespace: work, name: 'db' });
    assert.ok(!sec.text.includes('hunter2'), 'Secret values stay redacted');
  }
  const toolNames = async (c) => (await c.listTools()).tools.map((t) => t.name).sort();
  // A call the profile's RBAC must refuse: an isError result carrying the API server's Forbidden.
  async function forbidden(c, name, args, what) {
    const text = await fails(c, name, args);
    assert.match(text, /Forbidden/, `${name}: ${text}`);
    assert.match(text, what, `${name}: ${text}`);
  }

  test('readonly: every offered tool works as the service account; Secrets and writes are refused by RBAC', async () => {
    const rel = releases.readonly;
    const s = await startAsServiceAccount(rel);
    assert.deepEqual(await toolNames(s.client), TOOLS.readonly);
    await readCalls(s.client);
    await forbidden(s.client, 'k8s_get_resource', { resourceType: 'secrets', namespace: work, name: 'db' },
      new RegExp(`system:serviceaccount:${rel.ns}:${rel.sa}" cannot get resource "secrets"`));
    await forbidden(s.client, 'k8s_list_resources', { resourceType: 'secrets', namespace: work }, /cannot list resource "secrets"/);
    // The same account with the server's own guard lifted: the API server still refuses writes.
    const lifted = await startAsServiceAccount(rel, ['--non-destructive=false']);
    await forbidden(lifted.client, 'k8s_create_resource',
      { manifest: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ro-x, namespace: ${work}}\n` }, /cannot create resource "configmaps"/);
    await forbidden(lifted.client, 'k8s_scale_resource', { resourceType: 'deployments', namespace: work, name: 'web', replicas: 3 },
      /deployments\/scale|cannot (get|patch) resource "deployments"/);
    await forbidden(lifted.client, 'k8s_exec_pod', { namespace: work, name: 'app', command: ['true'] }, /pods\/exec|cannot create resource "pods\/exec"/);
  });

  test('standard: reads, Secrets (redacted) and every write tool work; exec, port-forward and cluster-scoped writes are refused by RBAC', async () => {
    const rel = releases.standard;
    const s = await startAsServiceAccount(rel);
    assert.deepEqual(await toolNames(s.client), TOOLS.standard);
    await readCalls(s.client);
    await writeCalls(s.client, 'std');
    const lifted = await startAsServiceAccount(rel, ['--non-destructive=false']);
    await forbidden(lifted.client, 'k8s_exec_pod', { namespace: work, name: 'app', command: ['true'] }, /pods\/exec/);
    await forbidden(lifted.client, 'k8s_port_forward_pod', { namespace: work, name: 'app', port: 8080 }, /pods\/portforward/);
    await forbidden(lifted.client, 'k8s_create_resource',
      { manifest: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: helm-std-nope}\n' }, /cannot create resource "namespaces"/);
  });

  test('admin: every tool works, exec and port-forward included; granting more than it holds is refused by RBAC', async () => {
    const rel = releases.admin;
    const s = await startAsServiceAccount(rel);
    assert.deepEqual(await toolNames(s.client), TOOLS.admin);
    await readCalls(s.client);
    await writeCalls(s.client, 'adm');
    const ex = await ok(s.client, 'k8s_exec_pod', { namespace: work, name: 'app', command: ['sh', '-c', 'echo from-admin'] });
    assert.match(ex.text, /from-admin/);
    for (const [tool, port] of [['k8s_port_forward_pod', 8080], ['k8s_port_forward_service', 'http']]) {
      const pf = await ok(s.client, tool, { namespace: work, name: tool.endsWith('pod') ? 'app' : 'web', port });
      const payload = Buffer.from(`through ${tool}\n`);
      assert.ok((await roundTrip(pf.data.localPort, payload)).equals(payload), tool);
      const listed = await ok(s.client, 'k8s_list_port_forward_sessions', {});
      assert.ok(listed.text.includes(pf.data.id), listed.text);
      await ok(s.client, 'k8s_stop_port_forward_session', { id: pf.data.id });
    }
    await ok(s.client, 'k8s_stop_all_port_forward_sessions', {});
    const nsName = `helm-adm-${process.pid}`;
    await ok(s.client, 'k8s_create_resource', { manifest: `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${nsName}}\n` });
    await ok(s.client, 'k8s_delete_resource', { resourceType: 'namespaces', name: nsName });
    // RBAC's escalation check: a role may grant only what its creator holds.
    await forbidden(s.client, 'k8s_create_resource', {
      manifest: `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: helm-adm-escalate-${process.pid}}\nrules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]\n`,
    }, /escalat|forbidden/i);
  });
});
