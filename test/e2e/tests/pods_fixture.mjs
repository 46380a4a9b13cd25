// Workload shared by the pod-operation tests: pod `app` (one container, port http/8080), pod
// `multi` (two containers), pod `annotated` (two containers, default-container annotation) and
// service `web` (http: 80 -> targetPort http). kwok makes them Ready; logs/exec/port-forward
// are served by kwok from the run dir's files and PF_TARGET ports.
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
