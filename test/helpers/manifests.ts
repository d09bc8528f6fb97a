// The manifests the end-to-end tests share in shape: a Deployment `web` of agnhost netexec pods
// (the image the lab's workloads imitate), its NodePort Service, and a Service no pod matches.
// Each test still says which ports and probe it needs, so its manifest reads on its own.
export const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.53';

export interface WebOptions {
  replicas?: number;
  /** Container ports as YAML flow maps, e.g. `{name: http, containerPort: 8080}`. */
  ports?: string[];
  /** A readiness probe on `http`, every second, failing at the first miss (for tests that flip it). */
  readiness?: boolean;
}

/** Deployment `web`: `replicas` (3) pods labelled app=web. */
export function webDeployment({ replicas = 3, ports = ['{name: http, containerPort: 8080}'], readiness = false }: WebOptions = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: netexec
        image: ${AGNHOST}
        ports:
${ports.map((p) => `        - ${p}`).join('\n')}
${readiness ? '        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1, failureThreshold: 1}\n' : ''}`;
}

/** Service `web` of type NodePort over app=web; `ports` as YAML flow maps (http -> 30080 first, by convention). */
export function webNodePortService(ports: string[] = ['{name: http, port: 80, targetPort: http, nodePort: 30080}']): string {
  return `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports:
${ports.map((p) => `  - ${p}`).join('\n')}
`;
}

/** Service `empty`: a selector no pod matches, so kube-proxy rejects its traffic. */
export const EMPTY_SERVICE = `apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nothing-has-this-label}
  ports: [{port: 80, targetPort: 8080}]
`;
