// The floor: the same API requests sent straight to kube-apiserver from Node over one
// keep-alive TLS connection with the kubeconfig's client certificate.
import https from 'node:https';
import { execFileSync } from 'node:child_process';

const MAX_BODY = 64 << 20;

export class ApiFloor {
  // cluster: { server, ca, cert, key } (PEM strings)
  constructor(cluster, { maxSockets = 1 } = {}) {
    this.server = new URL(cluster.server);
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets,
      ca: cluster.ca,
      cert: cluster.cert,
      key: cluster.key,
    });
  }

  // GET path; resolves { status, body (string), ns }; anything but 200 rejects.
  get(path, accept = 'application/json', timeoutMs = 30000) {
    return this.request('GET', path, { accept, timeoutMs }).then((r) => {
      if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
      return r;
    });
  }

  // Any method; resolves { status, body (string), ns } whatever the status.
  request(method, path, { accept = 'application/json', body, timeoutMs = 30000 } = {}) {
    const payload = body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body);
    const headers = { Accept: accept };
    if (payload !== null) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const t0 = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: this.server.hostname,
        port: this.server.port || 443,
        path,
        method,
        agent: this.agent,
        headers,
        timeout: timeoutMs,
      }, (res) => {
        const chunks = [];
        let size = 0;
        res.on('data', (c) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error(`response to ${path} larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), ns: process.hrtime.bigint() - t0 }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload ?? undefined);
    });
  }

  close() {
    this.agent.destroy();
  }
}

// Server, CA and client certificate of the kubeconfig's current context, as kubectl resolves
// them (`config view --raw --minify --flatten` inlines files; no YAML parser needed here).
export function clusterFromKubeconfig(kubectl, kubeconfig) {
  const out = execFileSync(kubectl, ['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json'], {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    encoding: 'utf8',
    timeout: 30000,
  });
  const cfg = JSON.parse(out);
  const cluster = cfg.clusters?.[0]?.cluster || {};
  const user = cfg.users?.[0]?.user || {};
  const pem = (b64, what) => {
    if (!b64) throw new Error(`${kubeconfig}: current context has no ${what} (the floor needs client-cert auth)`);
    return Buffer.from(b64, 'base64').toString('utf8');
  };
  return {
    server: cluster.server,
    ca: pem(cluster['certificate-authority-data'], 'certificate-authority-data'),
    cert: pem(user['client-certificate-data'], 'client-certificate-data'),
    key: pem(user['client-key-data'], 'client-key-data'),
  };
}
