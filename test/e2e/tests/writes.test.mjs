// Write tools (create, apply, patch, delete, scale) against the local control plane, under the
// safety flags that shape them: writes enabled, default non-destructive, --dry-run,
// --allowed-operations, --allowed-namespaces / --denied-namespaces. kubectl cross-checks.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  startServer, ok, fails, call, kubectl, kubectlJson, freshNamespace, dropNamespace,
} from '../lib/harness.mjs';

const WRITE_TOOLS = ['k8s_create_resource', 'k8s_apply_resource', 'k8s_patch_resource', 'k8s_delete_resource',
  'k8s_scale_resource'];
const SECRET_PLAIN = 'pl41n-s3cr3t-value-7781';
const SECRET_DATA = 'd4t4-s3cr3t-value-5512';
const SECRET_DATA_B64 = Buffer.from(SECRET_DATA).toString('base64');

const servers = [];
async function server(args) {
  const s = await startServer(args);
  servers.push(s);
  return s;
}

// Everything a call returned, for "this never appears anywhere" checks.
const everything = (r) => JSON.stringify(r.raw ?? r);

function exists(args) {
  return !kubectl(['get', ...args], { allowFail: true }).failed;
}

// Polls (bounded) until fn() is truthy; fails the test if it never is.
function eventually(fn, what, attempts = 240) {
  for (let i = 0; i < attempts; i++) {
    if (fn()) return;
    execFileSync('sleep', ['0.25']);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const cm = (ns, name, data) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}${ns ? `\n  namespace: ${ns}` : ''}
data:
${Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`).join('\n')}
`;

const deployment = (name, replicas = 1) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1
        ports:
        - containerPort: 8080
`;

const secret = (name) => `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
type: Opaque
stringData:
  password: ${SECRET_PLAIN}
data:
  token: ${SECRET_DATA_B64}
`;

let rw; let ns; let ns2;
const crdGroup = `w${process.pid}.e2e.example.com`;
const crdName = `widgets.${crdGroup}`;

before(async () => {
  ns = freshNamespace('writes');
  ns2 = freshNamespace('writes-other');
  rw = await server(['--non-destructive=false']);
});

after(async () => {
  for (const s of servers) await s.close();
  kubectl(['delete', 'crd', crdName, '--ignore-not-found', '--wait=false'], { allowFail: true });
  dropNamespace(ns);
  dropNamespace(ns2);
});

describe('tool offering follows the safety flags', () => {
  test('writes enabled: all five tools with their annotations and schemas', async () => {
    const { tools } = await rw.client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    const expected = {
      k8s_create_resource: [false, false, false],
      k8s_apply_resource: [false, false, true],
      k8s_patch_resource: [false, true, false],
      k8s_delete_resource: [false, true, true],
      k8s_scale_resource: [false, true, true],
    };
    for (const [name, [ro, destructive, idempotent]] of Object.entries(expected)) {
      const t = byName[name];
      assert.ok(t, `${name} listed`);
      assert.equal(t.annotations.readOnlyHint, ro, `${name} readOnlyHint`);
      assert.equal(t.annotations.destructiveHint, destructive, `${name} destructiveHint`);
      assert.equal(t.annotations.idempotentHint, idempotent, `${name} idempotentHint`);
      assert.equal(t.inputSchema.additionalProperties, false, `${name} closed schema`);
      assert.ok(t.inputSchema.properties.context, `${name} takes context`);
      assert.equal(t.outputSchema?.type, 'object', `${name} outputSchema`);
    }
  });

  test('default non-destructive: no write tool is listed and calling one is refused', async () => {
    const ro = await server([]);
    const names = (await ro.client.listTools()).tools.map((t) => t.name);
    for (const w of WRITE_TOOLS) assert.ok(!names.includes(w), `${w} must be hidden`);
    assert.ok(names.includes('k8s_get_resource'));
    await assert.rejects(
      call(ro.client, 'k8s_delete_resource', { resourceType: 'configmaps', namespace: ns, name: 'x' }),
      /Unknown tool/);
    await assert.rejects(
      call(ro.client, 'k8s_create_resource', { manifest: cm(ns, 'never', { a: 'b' }) }), /Unknown tool/);
    assert.ok(!exists(['-n', ns, 'configmap', 'never']));
  });

  test('--allowed-operations=scale offers only the scale tool among writes', async () => {
    const s = await server(['--allowed-operations=scale']);
    const names = (await s.client.listTools()).tools.map((t) => t.name);
    assert.deepEqual(WRITE_TOOLS.filter((w) => names.includes(w)), ['k8s_scale_resource']);
  });
});

describe('create', () => {
  test('multi-document ConfigMap + Deployment + Secret; secret values never echoed', async () => {
    const manifest = [cm(null, 'mc-config', { mode: '0644', flag: 'yes' }), deployment('mc-web'), secret('mc-secret')]
      .join('---\n');
    const r = await ok(rw.client, 'k8s_create_resource', { manifest, namespace: ns });
    assert.equal(r.data.dryRun, false);
    assert.deepEqual(r.data.results.map((x) => [x.kind, x.name, x.namespace, x.action]), [
      ['ConfigMap', 'mc-config', ns, 'created'],
      ['Deployment', 'mc-web', ns, 'created'],
      ['Secret', 'mc-secret', ns, 'created'],
    ]);
    assert.match(r.text, /deployment\.apps\/mc-web created/);
    for (const x of r.data.results) assert.ok(x.resourceVersion, 'resourceVersion reported');
    const out = everything(r);
    assert.ok(!out.includes(SECRET_PLAIN) && !out.includes(SECRET_DATA_B64), 'secret leaked in create output');
    // kubectl agrees, and quoted YAML values stayed strings.
    assert.deepEqual(kubectlJson(['-n', ns, 'get', 'configmap', 'mc-config']).data, { mode: '0644', flag: 'yes' });
    assert.equal(kubectlJson(['-n', ns, 'get', 'deployment', 'mc-web']).spec.replicas, 1);
    const s = kubectlJson(['-n', ns, 'get', 'secret', 'mc-secret']);
    assert.equal(Buffer.from(s.data.password, 'base64').toString(), SECRET_PLAIN);
  });

  test('creating existing objects fails per object with a clear error', async () => {
    const r = await call(rw.client, 'k8s_create_resource', { manifest: secret('mc-secret'), namespace: ns });
    const text = r.content.map((c) => c.text).join('');
    assert.ok(r.isError);
    assert.match(text, /object 1 \(v1 Secret mc-secret\): AlreadyExists: .*already exists/);
    assert.match(text, /1 of 1 objects failed/);
    assert.ok(!everything(r).includes(SECRET_PLAIN));
  });

  test('dryRun argument validates on the server, persists nothing and redacts the echo', async () => {
    const r = await ok(rw.client, 'k8s_create_resource', { manifest: secret('dry-secret'), namespace: ns, dryRun: true });
    assert.equal(r.data.dryRun, true);
    assert.match(r.text, /\(dry run\)/);
    assert.equal(r.data.results[0].object.kind, 'Secret');
    assert.equal(r.data.results[0].object.data.token, '***REDACTED***');
    const out = everything(r);
    assert.ok(!out.includes(SECRET_PLAIN) && !out.includes(SECRET_DATA_B64), 'secret leaked in dry-run echo');
    assert.ok(!exists(['-n', ns, 'secret', 'dry-secret']));
  });

  test('invalid manifests are rejected before anything is written', async () => {
    let t = await fails(rw.client, 'k8s_create_resource', { manifest: 'a: [unclosed', namespace: ns });
    assert.match(t, /not valid YAML: line \d+, column \d+/);
    t = await fails(rw.client, 'k8s_create_resource', {
      manifest: `${cm(null, 'first-ok', { a: 'b' })}---\napiVersion: v1\nkind: NoSuchKind\nmetadata: {name: x}\n`,
      namespace: ns,
    });
    assert.match(t, /object 2 \(v1 NoSuchKind x\)/);
    assert.ok(!exists(['-n', ns, 'configmap', 'first-ok']), 'nothing written when a later object is bad');
  });
});

describe('apply (server-side)', () => {
  test('idempotent: created, then unchanged, then configured', async () => {
    const m1 = cm(ns, 'ap-config', { a: '1' });
    const r1 = await ok(rw.client, 'k8s_apply_resource', { manifest: m1 });
    assert.equal(r1.data.results[0].action, 'created');
    const r2 = await ok(rw.client, 'k8s_apply_resource', { manifest: m1 });
    assert.equal(r2.data.results[0].action, 'unchanged');
    assert.equal(r2.data.results[0].resourceVersion, r1.data.results[0].resourceVersion);
    const r3 = await ok(rw.client, 'k8s_apply_resource', { manifest: cm(ns, 'ap-config', { a: '2' }) });
    assert.equal(r3.data.results[0].action, 'configured');
    const live = kubectlJson(['-n', ns, 'get', 'configmap', 'ap-config', '--show-managed-fields']);
    assert.equal(live.data.a, '2');
    assert.ok(live.metadata.managedFields.some((f) => f.manager === 'mcp-kubernetes' && f.operation === 'Apply'));
  });

  test('a JSON List manifest applies every item', async () => {
    const list = {
      apiVersion: 'v1', kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'list-a' }, data: { n: '1' } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'list-b' }, data: { n: '2' } },
      ],
    };
    const r = await ok(rw.client, 'k8s_apply_resource', { manifest: JSON.stringify(list), namespace: ns });
    assert.deepEqual(r.data.results.map((x) => x.name), ['list-a', 'list-b']);
    assert.equal(kubectlJson(['-n', ns, 'get', 'configmap', 'list-b']).data.n, '2');
  });

  test('a large manifest (parsed off the io thread) round-trips exactly', async () => {
    const big = 'x'.repeat(200 * 1024);
    const r = await ok(rw.client, 'k8s_apply_resource', { manifest: cm(ns, 'ap-big', { big }) });
    assert.equal(r.data.results[0].action, 'created');
    assert.equal(kubectlJson(['-n', ns, 'get', 'configmap', 'ap-big']).data.big, big);
    const t = await fails(rw.client, 'k8s_apply_resource', { manifest: cm(ns, 'ap-huge', { big: 'y'.repeat(5 << 20) }) });
    assert.match(t, /TooLarge: .*limit is 4194304 bytes/);
  });

  test('a conflict with another field manager fails clearly; force takes over', async () => {
    kubectl(['apply', '--server-side', '--field-manager=human', '-f', '-'], { input: cm(ns, 'ap-conflict', { k: 'human' }) });
    const t = await fails(rw.client, 'k8s_apply_resource', { manifest: cm(ns, 'ap-conflict', { k: 'mcp' }) });
    assert.match(t, /Conflict: .*conflict.*force=true/s);
    assert.equal(kubectlJson(['-n', ns, 'get', 'configmap', 'ap-conflict']).data.k, 'human');
    const r = await ok(rw.client, 'k8s_apply_resource', { manifest: cm(ns, 'ap-conflict', { k: 'mcp' }), force: true });
    assert.equal(r.data.results[0].action, 'configured');
    assert.equal(kubectlJson(['-n', ns, 'get', 'configmap', 'ap-conflict']).data.k, 'mcp');
  });
});

describe('patch', () => {
  before(async () => {
    await ok(rw.client, 'k8s_create_resource', { manifest: deployment('pt-web'), namespace: ns });
  });

  test('strategic merge patch merges containers by name', async () => {
    const r = await ok(rw.client, 'k8s_patch_resource', {
      resourceType: 'deployments', namespace: ns, name: 'pt-web',
      patch: { spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example/app:2' }] } } } },
    });
    assert.equal(r.data.patchType, 'strategic');
    const d = kubectlJson(['-n', ns, 'get', 'deployment', 'pt-web']);
    assert.equal(d.spec.template.spec.containers.length, 1);
    assert.equal(d.spec.template.spec.containers[0].image, 'registry.example/app:2');
    assert.equal(d.spec.template.spec.containers[0].ports[0].containerPort, 8080, 'strategic merge kept ports');
  });

  test('merge patch given as text', async () => {
    await ok(rw.client, 'k8s_patch_resource', {
      resourceType: 'deploy', namespace: ns, name: 'pt-web', patchType: 'merge',
      patch: '{"metadata":{"labels":{"tier":"backend"}}}',
    });
    assert.equal(kubectlJson(['-n', ns, 'get', 'deployment', 'pt-web']).metadata.labels.tier, 'backend');
  });

  test('json patch array; wrong shapes are refused', async () => {
    const r = await ok(rw.client, 'k8s_patch_resource', {
      resourceType: 'Deployment', apiGroup: 'apps', namespace: ns, name: 'pt-web', patchType: 'json',
      patch: [{ op: 'replace', path: '/spec/replicas', value: 2 }],
    });
    assert.match(r.text, /patched \(JSON patch\)/);
    assert.equal(kubectlJson(['-n', ns, 'get', 'deployment', 'pt-web']).spec.replicas, 2);
    const t = await fails(rw.client, 'k8s_patch_resource', {
      resourceType: 'deployments', namespace: ns, name: 'pt-web', patchType: 'json', patch: { spec: {} },
    });
    assert.match(t, /JSON Patch array/);
    const t2 = await fails(rw.client, 'k8s_patch_resource', {
      resourceType: 'deployments', namespace: ns, name: 'pt-web', patchType: 'json',
      patch: [{ op: 'test', path: '/spec/replicas', value: 7 }],
    });
    assert.match(t2, /Invalid|test|failed/i);
  });

  test('CRD + custom resource in one manifest; strategic patch on it gives a clear error, merge works', async () => {
    const manifest = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${crdName}
spec:
  group: ${crdGroup}
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
---
apiVersion: ${crdGroup}/v1
kind: Widget
metadata:
  name: w1
spec:
  size: 1
  color: red
`;
    const r = await ok(rw.client, 'k8s_apply_resource', { manifest, namespace: ns });
    assert.deepEqual(r.data.results.map((x) => x.action), ['created', 'created']);
    assert.equal(r.data.results[0].namespace, undefined, 'CRD is cluster-scoped');
    const t = await fails(rw.client, 'k8s_patch_resource', {
      resourceType: 'widgets', apiGroup: crdGroup, namespace: ns, name: 'w1', patch: { spec: { size: 2 } },
    });
    assert.match(t, /does not support strategic merge patch.*patchType "merge"/);
    await ok(rw.client, 'k8s_patch_resource', {
      resourceType: 'widgets', apiGroup: crdGroup, namespace: ns, name: 'w1', patchType: 'merge',
      patch: { spec: { size: 2 } },
    });
    const w = kubectlJson(['-n', ns, 'get', `widgets.${crdGroup}`, 'w1']);
    assert.deepEqual(w.spec, { size: 2, color: 'red' });
  });
});

describe('scale', () => {
  before(async () => {
    await ok(rw.client, 'k8s_create_resource', { manifest: deployment('sc-web', 1), namespace: ns });
  });

  test('scales a deployment and reports previous and new replicas', async () => {
    const r = await ok(rw.client, 'k8s_scale_resource', { namespace: ns, name: 'sc-web', replicas: 3 });
    assert.equal(r.data.previousReplicas, 1);
    assert.equal(r.data.replicas, 3);
    assert.match(r.text, /scaled from 1 to 3/);
    assert.equal(kubectlJson(['-n', ns, 'get', 'deployment', 'sc-web']).spec.replicas, 3);
  });

  test('a type without a scale subresource is refused', async () => {
    const t = await fails(rw.client, 'k8s_scale_resource', {
      resourceType: 'configmaps', namespace: ns, name: 'mc-config', replicas: 2,
    });
    assert.match(t, /no scale subresource/);
  });

  test('--allowed-operations=scale can scale but not create', async () => {
    const s = await server(['--allowed-operations=scale']);
    const r = await ok(s.client, 'k8s_scale_resource', { resourceType: 'deployments', namespace: ns, name: 'sc-web', replicas: 2 });
    assert.equal(r.data.previousReplicas, 3);
    assert.equal(kubectlJson(['-n', ns, 'get', 'deployment', 'sc-web']).spec.replicas, 2);
    await assert.rejects(call(s.client, 'k8s_create_resource', { manifest: cm(ns, 'nope', { a: 'b' }) }), /Unknown tool/);
  });
});

describe('delete', () => {
  test('foreground propagation removes the deployment and its replicasets', async () => {
    await ok(rw.client, 'k8s_create_resource', { manifest: deployment('del-fg'), namespace: ns });
    eventually(() => kubectlJson(['-n', ns, 'get', 'rs', '-l', 'app=del-fg']).items.length > 0, 'replicaset of del-fg');
    const r = await ok(rw.client, 'k8s_delete_resource', {
      resourceType: 'deployments', namespace: ns, name: 'del-fg', propagationPolicy: 'Foreground',
    });
    assert.equal(r.data.kind, 'Deployment');
    assert.equal(r.data.name, 'del-fg');
    assert.equal(r.data.propagationPolicy, 'Foreground');
    assert.ok(['deleting', 'deleted'].includes(r.data.status));
    if (r.data.status === 'deleting') assert.ok(r.data.finalizers.includes('foregroundDeletion'));
    eventually(() => !exists(['-n', ns, 'deployment', 'del-fg']), 'deployment del-fg gone');
    eventually(() => kubectlJson(['-n', ns, 'get', 'rs', '-l', 'app=del-fg']).items.length === 0, 'replicasets gone');
  });

  test('orphan propagation keeps the replicaset', async () => {
    await ok(rw.client, 'k8s_create_resource', { manifest: deployment('del-or'), namespace: ns });
    eventually(() => kubectlJson(['-n', ns, 'get', 'rs', '-l', 'app=del-or']).items.length > 0, 'replicaset of del-or');
    const r = await ok(rw.client, 'k8s_delete_resource', {
      resourceType: 'deployment', namespace: ns, name: 'del-or', propagationPolicy: 'Orphan',
    });
    assert.match(r.text, /deployment\.apps\/del-or/);
    eventually(() => !exists(['-n', ns, 'deployment', 'del-or']), 'deployment del-or gone');
    eventually(() => {
      const rs = kubectlJson(['-n', ns, 'get', 'rs', '-l', 'app=del-or']).items;
      return rs.length === 1 && !(rs[0].metadata.ownerReferences?.length);
    }, 'orphaned replicaset');
  });

  test('deleting a missing object says so', async () => {
    const t = await fails(rw.client, 'k8s_delete_resource', { resourceType: 'configmaps', namespace: ns, name: 'missing-xyz' });
    assert.match(t, /NotFound: .*missing-xyz.*not found/);
  });
});

describe('--dry-run server', () => {
  let dry;
  before(async () => {
    dry = await server(['--dry-run']);
    kubectl(['-n', ns, 'create', 'configmap', 'dry-keep', '--from-literal=a=b']);
  });

  test('offers the write tools, and create persists nothing', async () => {
    const names = (await dry.client.listTools()).tools.map((t) => t.name);
    for (const w of WRITE_TOOLS) assert.ok(names.includes(w), `${w} offered under --dry-run`);
    const r = await ok(dry.client, 'k8s_create_resource', { manifest: cm(ns, 'dry-cm', { a: 'b' }) });
    assert.equal(r.data.dryRun, true);
    assert.match(r.text, /\(dry run\)/);
    assert.equal(r.data.results[0].action, 'created');
    assert.ok(!exists(['-n', ns, 'configmap', 'dry-cm']));
  });

  test('apply, patch, scale and delete change nothing', async () => {
    // kubectl create owns data.a, so the apply needs force (a conflict otherwise, dry run or not).
    const a = await ok(dry.client, 'k8s_apply_resource', { manifest: cm(ns, 'dry-keep', { a: 'changed' }), force: true });
    assert.equal(a.data.results[0].action, 'configured');
    const p = await ok(dry.client, 'k8s_patch_resource', {
      resourceType: 'configmaps', namespace: ns, name: 'dry-keep', patchType: 'merge', patch: { data: { a: 'x' } },
    });
    assert.equal(p.data.dryRun, true);
    const s = await ok(dry.client, 'k8s_scale_resource', { namespace: ns, name: 'sc-web', replicas: 5 });
    assert.equal(s.data.dryRun, true);
    assert.match(s.text, /\(dry run\)/);
    const d = await ok(dry.client, 'k8s_delete_resource', { resourceType: 'configmaps', namespace: ns, name: 'dry-keep' });
    assert.match(d.text, /\(dry run\)/);
    assert.equal(kubectlJson(['-n', ns, 'get', 'configmap', 'dry-keep']).data.a, 'b');
    assert.equal(kubectlJson(['-n', ns, 'get', 'deployment', 'sc-web']).spec.replicas, 2);
  });
});

describe('namespace policy cannot be bypassed', () => {
  test('--allowed-namespaces: manifests naming another namespace are refused, nothing written', async () => {
    const s = await server(['--non-destructive=false', `--allowed-namespaces=${ns}`]);
    // metadata.namespace outside the allow-list, no namespace argument.
    let t = await fails(s.client, 'k8s_create_resource', { manifest: cm(ns2, 'escape-1', { a: 'b' }) });
    assert.match(t, /PolicyDenied|policy/i);
    assert.match(t, new RegExp(ns2));
    // Argument says the allowed namespace, the manifest says another one.
    t = await fails(s.client, 'k8s_apply_resource', { manifest: cm(ns2, 'escape-2', { a: 'b' }), namespace: ns });
    assert.match(t, /does not match the namespace argument/);
    // A later object in another namespace stops the whole manifest before the first write.
    t = await fails(s.client, 'k8s_apply_resource', {
      manifest: `${cm(ns, 'escape-3a', { a: 'b' })}---\n${cm(ns2, 'escape-3b', { a: 'b' })}`,
    });
    assert.match(t, /object 2/);
    assert.ok(!exists(['-n', ns, 'configmap', 'escape-3a']));
    for (const n of ['escape-1', 'escape-2', 'escape-3b']) assert.ok(!exists(['-n', ns2, 'configmap', n]));
    // Cluster-scoped writes reach beyond the allowed namespaces; a Namespace is checked by name.
    t = await fails(s.client, 'k8s_create_resource', {
      manifest: 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: escape-role}\nrules: []\n',
    });
    assert.match(t, /cluster-scoped/);
    t = await fails(s.client, 'k8s_delete_resource', { resourceType: 'namespaces', name: ns2 });
    assert.match(t, new RegExp(`namespace "${ns2}" is not allowed`));
    assert.ok(exists(['namespace', ns2]));
    t = await fails(s.client, 'k8s_patch_resource', {
      resourceType: 'configmaps', namespace: ns2, name: 'x', patchType: 'merge', patch: { data: {} },
    });
    assert.match(t, /not allowed/);
    // The allowed namespace still works.
    await ok(s.client, 'k8s_create_resource', { manifest: cm(null, 'inside', { a: 'b' }), namespace: ns });
    assert.ok(exists(['-n', ns, 'configmap', 'inside']));
  });

  test('--denied-namespaces: apply, scale and delete into it are refused', async () => {
    const s = await server(['--non-destructive=false', `--denied-namespaces=${ns2}`]);
    kubectl(['-n', ns2, 'create', 'configmap', 'guarded', '--from-literal=a=b']);
    let t = await fails(s.client, 'k8s_apply_resource', { manifest: cm(ns2, 'guarded', { a: 'changed' }) });
    assert.match(t, /not allowed/);
    t = await fails(s.client, 'k8s_delete_resource', { resourceType: 'configmaps', namespace: ns2, name: 'guarded' });
    assert.match(t, /not allowed/);
    t = await fails(s.client, 'k8s_scale_resource', { namespace: ns2, name: 'anything', replicas: 1 });
    assert.match(t, /not allowed/);
    assert.equal(kubectlJson(['-n', ns2, 'get', 'configmap', 'guarded']).data.a, 'b');
  });
});
