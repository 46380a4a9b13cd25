// Workload shared by the pod-operation tests: pod `app` (one container, port http/8080), pod
// `multi` (two containers), pod `annotated` (two containers, default-container annotation) and
// service `web` (http: 80 -> targetPort http). kwok makes them Ready; logs/exec/port-forward
// are served by kwok from the run dir's files and PF_TARGET ports.
import net from 'node:net';
import { kubectl } from '../lib/harness.mjs';

export function createWorkload(ns) {
  kubectl(['-n', ns, 'apply', '-f', '-'], {
    input: `
apiVersion: v1
kind: Pod
metadata: {name: app, labels: {app: web}}
spec:
  containers:
  - name: app
    image: registry.invalid/app:1
    ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: multi}
spec:
  containers:
  - {name: first, image: registry.invalid/a:1}
  - {name: second, image: registry.invalid/b:1}
---
apiVersion: v1
kind: Pod
metadata:
  name: annotated
  annotations: {kubectl.kubernetes.io/default-container: second}
spec:
  containers:
  - {name: first, image: registry.invalid/a:1}
  - {name: second, image: registry.invalid/b:1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
`,
  });
  kubectl(['-n', ns, 'wait', 'pod', '--all', '--for=condition=Ready', '--timeout=60s']);
}

// Sends `payload` to 127.0.0.1:port and resolves with everything echoed back once it is complete.
// `track` collects the client socket (to destroy at teardown); `destroy` drops the connection
// instead of ending it once the echo is complete.
export function roundTrip(port, payload, { timeoutMs = 30000, track, destroy = false } = {}) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let got = 0;
    const s = net.connect(port, '127.0.0.1', () => s.write(payload));
    track?.add(s);
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`echo via ${port}: ${got}/${payload.length} bytes`)); }, timeoutMs);
    s.on('data', (d) => {
      chunks.push(d);
      got += d.length;
      if (got >= payload.length) {
        clearTimeout(timer);
        if (destroy) s.destroy();
        else s.end();
        resolve(Buffer.concat(chunks));
      }
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

// Resolves true when nothing listens on 127.0.0.1:port any more.
export function refused(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
  });
}
