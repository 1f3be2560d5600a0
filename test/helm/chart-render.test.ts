/**
 * Properties of the rendered chart that must hold for the default values and for every profile:
 * GPU requests only on the worker, probes on the health endpoints, hardened security contexts, PDBs,
 * secrets only through Secrets, every required setting present, graceful termination.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  FULLNAME,
  ROOT,
  SECRET_SETTINGS,
  helmBin,
  notes,
  render,
  type Container,
  type EnvSource,
  type PodSpec,
  type Rendered,
  type ValuesInput,
} from './helm-harness';
import { API_NODE_FLAGS } from '../../src/bootstrap/node-flags';

const API = `${FULLNAME}-api`;
const WORKER = `${FULLNAME}-worker`;
const GPU = 'nvidia.com/gpu';

/** Secret-looking values given to the chart; none may appear in clear text in any manifest. */
const CLEAR_SECRETS = {
  jwtSecret: 'hs256-test-secret-0123456789-abcdefghijklmnop',
  redisUrl: 'rediss://:queue-pass-7f3a@queue.example.internal:6379',
  cacheRedisUrl: 'rediss://:cache-pass-91bc@cache.example.internal:6379',
  redisPassword: 'queue-pass-7f3a',
};

const PROFILES: Record<string, ValuesInput> = {
  default: {},
  'default + secrets': { values: [{ secrets: CLEAR_SECRETS }] },
  'gpu-keda': { files: ['gpu-keda-values.yaml'] },
  'cpu-only': { files: ['cpu-only-values.yaml'] },
  'existing-secret': { files: ['existing-secret-values.yaml'] },
  'in-chart-redis': { files: ['in-chart-redis-values.yaml'] },
};

const rendered = new Map<string, Rendered>();
before(() => {
  helmBin();
  for (const [name, input] of Object.entries(PROFILES)) rendered.set(name, render(input));
});

function out(profile: string): Rendered {
  const r = rendered.get(profile);
  assert.ok(r, `profile ${profile} was not rendered`);
  return r;
}

function allContainers(r: Rendered): { owner: string; c: Container; init: boolean }[] {
  return r
    .podTemplates()
    .flatMap((p) => [
      ...p.spec.containers.map((c) => ({ owner: p.owner, c, init: false })),
      ...(p.spec.initContainers ?? []).map((c) => ({ owner: p.owner, c, init: true })),
    ]);
}

function secretRef(env: Map<string, EnvSource>, name: string): Extract<EnvSource, { from: 'secret' }> {
  const s = env.get(name);
  assert.ok(s, `${name} is not set`);
  assert.equal(s.from, 'secret', `${name} must come from a Secret, not ${s.from}`);
  return s as Extract<EnvSource, { from: 'secret' }>;
}

for (const profile of Object.keys(PROFILES)) {
  describe(`rendered chart (${profile})`, () => {
    test('the api and worker Deployments run the image commands with their pods selected by their labels', () => {
      const r = out(profile);
      for (const [name, component] of [
        [API, 'api'],
        [WORKER, 'worker'],
      ]) {
        const d = r.workload('Deployment', name);
        assert.equal(d.selector.matchLabels['app.kubernetes.io/component'], component);
        for (const [k, v] of Object.entries(d.selector.matchLabels)) {
          assert.equal(
            d.template.metadata.labels?.[k],
            v,
            `${name}: pod label ${k} does not match its selector`,
          );
        }
      }
      assert.deepEqual(r.container(API, 'api').command, ['node', ...API_NODE_FLAGS, 'dist/main.js']);
      assert.deepEqual(r.container(WORKER, 'worker').command, ['node', 'dist/worker.js']);
    });

    test('GPU resources are requested by the worker only, in requests and limits alike', () => {
      const r = out(profile);
      for (const { owner, c } of allContainers(r)) {
        const asks = { ...c.resources?.requests, ...c.resources?.limits };
        if (owner !== `Deployment/${WORKER}` || c.name !== 'worker') {
          assert.ok(!(GPU in asks), `${owner}/${c.name} asks for a GPU`);
        }
      }
      const w = r.container(WORKER, 'worker');
      const gpuOn = profile !== 'cpu-only';
      if (gpuOn) {
        assert.equal(String(w.resources?.requests?.[GPU]), '1');
        assert.equal(String(w.resources?.limits?.[GPU]), '1');
      } else {
        assert.ok(!(GPU in (w.resources?.limits ?? {})), 'CPU profile worker asks for a GPU');
      }
    });

    test('probes: startup on /health/startup, readiness on /health/ready, liveness on /health/live', () => {
      const r = out(profile);
      for (const [dep, cname] of [
        [API, 'api'],
        [WORKER, 'worker'],
      ]) {
        const c = r.container(dep, cname);
        const portNames = new Set((c.ports ?? []).map((p) => p.name));
        for (const [probe, path] of [
          [c.startupProbe, '/health/startup'],
          [c.readinessProbe, '/health/ready'],
          [c.livenessProbe, '/health/live'],
        ] as const) {
          assert.ok(probe?.httpGet, `${dep}: probe for ${path} missing`);
          assert.equal(probe.httpGet.path, path);
          assert.ok(
            portNames.has(String(probe.httpGet.port)),
            `${dep}: probe port ${probe.httpGet.port} not declared`,
          );
        }
      }
      // The worker loads and warms BLIP before it is started: allow minutes, not seconds.
      const s = r.container(WORKER, 'worker').startupProbe;
      assert.ok(s?.periodSeconds !== undefined && s.failureThreshold !== undefined);
      assert.ok(
        s.periodSeconds * s.failureThreshold + (s.initialDelaySeconds ?? 0) >= 300,
        'worker startup window < 5 min',
      );
    });

    test('every pod is non-root with a read-only root filesystem, no privilege escalation and no capabilities', () => {
      const r = out(profile);
      for (const p of r.podTemplates()) {
        assert.equal(p.spec.securityContext?.runAsNonRoot, true, `${p.owner}: pod runAsNonRoot`);
        assert.ok((p.spec.securityContext?.runAsUser ?? 0) > 0, `${p.owner}: pod runAsUser`);
        assert.equal(p.spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${p.owner}: seccomp`);
        assert.equal(p.spec.automountServiceAccountToken, false, `${p.owner}: service account token mounted`);
      }
      for (const { owner, c } of allContainers(r)) {
        const sc = c.securityContext;
        assert.equal(sc?.allowPrivilegeEscalation, false, `${owner}/${c.name}: allowPrivilegeEscalation`);
        assert.equal(sc?.readOnlyRootFilesystem, true, `${owner}/${c.name}: readOnlyRootFilesystem`);
        assert.equal(sc?.runAsNonRoot, true, `${owner}/${c.name}: runAsNonRoot`);
        assert.ok(sc?.capabilities?.drop?.includes('ALL'), `${owner}/${c.name}: capabilities not dropped`);
        assert.ok(!sc?.privileged, `${owner}/${c.name}: privileged`);
        // A read-only root needs a writable /tmp.
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
        assert.ok(tmp, `${owner}/${c.name}: no /tmp mount`);
        const pod = r.podTemplates().find((p) => p.owner === owner);
        const vol = pod?.spec.volumes?.find((v) => v.name === tmp.name);
        assert.ok(vol?.emptyDir !== undefined, `${owner}/${c.name}: /tmp is not an emptyDir`);
      }
    });

    test('the app containers run as the same non-root uid', () => {
      const r = out(profile);
      for (const dep of [API, WORKER]) {
        const pod = r.workload('Deployment', dep).template.spec;
        assert.equal(pod.securityContext?.runAsUser, 10001, `${dep}: runAsUser`);
        assert.equal(pod.securityContext?.runAsGroup, 10001, `${dep}: runAsGroup`);
      }
    });

    test('PodDisruptionBudgets cover the api and the worker pods', () => {
      const r = out(profile);
      for (const dep of [API, WORKER]) {
        const pdb = r.get('PodDisruptionBudget', dep);
        const labels = r.workload('Deployment', dep).template.metadata.labels ?? {};
        for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels as Record<string, string>)) {
          assert.equal(labels[k], v, `${dep}: PDB selector ${k} does not match the pods`);
        }
        assert.ok(
          pdb.spec.minAvailable !== undefined || pdb.spec.maxUnavailable !== undefined,
          `${dep}: PDB without a budget`,
        );
      }
    });

    test('resources: every container has requests and a memory limit', () => {
      const r = out(profile);
      for (const { owner, c } of allContainers(r)) {
        assert.ok(c.resources?.requests?.cpu !== undefined, `${owner}/${c.name}: no cpu request`);
        assert.ok(c.resources?.requests?.memory !== undefined, `${owner}/${c.name}: no memory request`);
        assert.ok(c.resources?.limits?.memory !== undefined, `${owner}/${c.name}: no memory limit`);
      }
    });

    test('termination: the worker outlives its longest batch, the API its preStop + drain', () => {
      const r = out(profile);
      const w = r.workload('Deployment', WORKER).template.spec;
      assert.ok((w.terminationGracePeriodSeconds ?? 30) >= 90, 'worker grace period below 90 s');
      const api = r.workload('Deployment', API).template.spec;
      const preStop = Number(r.container(API, 'api').lifecycle?.preStop?.exec?.command[1] ?? 0);
      const cfg = r.decoded('ConfigMap', `${FULLNAME}-config`);
      const drain = Math.ceil(Number(cfg.SHUTDOWN_DRAIN_TIMEOUT_MS ?? '25000') / 1000);
      assert.ok((api.terminationGracePeriodSeconds ?? 30) > preStop + drain, 'API grace <= preStop + drain');
    });

    test('secrets are referenced from Secrets, never inlined in pod specs or ConfigMaps', () => {
      const r = out(profile);
      for (const { owner, c } of allContainers(r)) {
        for (const e of c.env ?? []) {
          if (SECRET_SETTINGS.includes(e.name)) {
            assert.equal(e.value, undefined, `${owner}/${c.name}: ${e.name} has an inline value`);
            assert.ok(e.valueFrom?.secretKeyRef, `${owner}/${c.name}: ${e.name} is not a secretKeyRef`);
          }
        }
      }
      for (const cm of r.all('ConfigMap')) {
        for (const k of Object.keys(cm.data ?? {})) {
          assert.ok(!SECRET_SETTINGS.includes(k), `ConfigMap ${cm.metadata.name} holds ${k}`);
        }
      }
      for (const s of r.all('Secret'))
        assert.equal(s.stringData, undefined, `${s.metadata.name} uses stringData`);
      // The clear values given as secrets.* appear nowhere (only base64 in Secret data).
      for (const v of Object.values(CLEAR_SECRETS)) {
        assert.ok(!r.text.includes(v), `a secret value appears in clear text in the manifests`);
      }
    });

    test('every setting the processes require is present, and secret references resolve', () => {
      const r = out(profile);
      const api = r.environment(r.container(API, 'api'));
      const worker = r.environment(r.container(WORKER, 'worker'));
      // Queue mode: both processes get the queue Redis URL (required) and the cache URL.
      for (const env of [api, worker]) {
        assert.equal(secretRef(env, 'REDIS_URL').optional, false, 'REDIS_URL must be required');
        secretRef(env, 'CACHE_REDIS_URL');
        for (const name of ['QUEUE_NAME', 'LOG_LEVEL', 'SYNC_TIMEOUT_MS', 'CACHE_TTL_SECONDS']) {
          assert.ok(env.has(name), `${name} missing`);
        }
      }
      assert.deepEqual(
        api.get('QUEUE_NAME'),
        worker.get('QUEUE_NAME'),
        'api and worker use different queues',
      );
      // API: its port and JWT verification (one of the secret, the public key or a JWKS URL).
      assert.equal((api.get('PORT') as { value: string }).value, '3000');
      for (const name of ['HOST', 'JWT_ISSUER', 'JWT_AUDIENCE', 'RATE_LIMIT_LIMIT', 'MAX_UPLOAD_BYTES']) {
        assert.ok(api.has(name), `api: ${name} missing`);
      }
      assert.ok(
        api.has('JWT_SECRET') || api.has('JWT_PUBLIC_KEY') || api.has('JWT_JWKS_URL'),
        'api: no JWT key',
      );
      assert.ok(!api.has('JWT_PRIVATE_KEY'), 'api gets the JWT private key');
      // Worker: the model, the provider, its health port. No JWT material.
      const wv = (n: string): string | undefined => {
        const s = worker.get(n);
        return s?.from === 'value' ? s.value : undefined;
      };
      assert.equal(wv('WORKER_HEALTH_PORT'), '3001');
      assert.match(wv('MODEL_URI') ?? wv('MODEL_PATH') ?? '', /^(\/|s3:\/\/|https:\/\/).+/);
      assert.equal(wv('EXECUTION_PROVIDER'), profile === 'cpu-only' ? 'cpu' : 'cuda');
      for (const name of ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_PRIVATE_KEY']) {
        assert.ok(!worker.has(name), `worker gets ${name}`);
      }
      // Chart-made Secrets hold the keys that required references point at.
      for (const env of [api, worker]) {
        for (const src of env.values()) {
          if (src.from !== 'secret') continue;
          const secret = r.find('Secret', src.name);
          if (secret === undefined) {
            assert.equal(profile, 'existing-secret', `secret ${src.name} is neither rendered nor existing`);
            continue;
          }
          const data = r.decoded('Secret', src.name);
          if (!src.optional && !(profile === 'default' && src.key === 'REDIS_URL')) {
            assert.ok(src.key in data, `secret ${src.name} lacks required key ${src.key}`);
          }
        }
      }
    });

    test('the worker finds the bundle: read-only at MODEL_PATH, or pulled from MODEL_URI into a writable cache; the API has none', () => {
      const r = out(profile);
      const w = r.container(WORKER, 'worker');
      const env = r.environment(w);
      const pod = r.workload('Deployment', WORKER).template.spec;
      const uri = env.get('MODEL_URI') as { value: string } | undefined;
      let mount;
      if (uri !== undefined) {
        assert.match(uri.value, /^(s3|https):\/\//);
        assert.equal(env.get('MODEL_PATH'), undefined, 'MODEL_PATH beside MODEL_URI');
        const cacheDir = (env.get('MODEL_CACHE_DIR') as { value: string }).value;
        mount = w.volumeMounts?.find((m) => m.mountPath === cacheDir);
        assert.ok(mount, `no volume mounted at MODEL_CACHE_DIR ${cacheDir}`);
        assert.notEqual(mount.readOnly, true, 'the cache must be writable');
      } else {
        const modelPath = (env.get('MODEL_PATH') as { value: string }).value;
        mount = w.volumeMounts?.find((m) => modelPath.startsWith(m.mountPath + '/'));
        assert.ok(mount, `no volume mounted above MODEL_PATH ${modelPath}`);
        assert.equal(mount.readOnly, true);
      }
      const vol = pod.volumes?.find((v) => v.name === mount.name);
      assert.ok(vol?.persistentVolumeClaim ?? vol?.image ?? vol?.emptyDir, 'model volume has no source');
      if (vol?.emptyDir !== undefined) assert.ok(uri, 'an emptyDir model volume nobody fills');
      assert.ok(!pod.initContainers?.some((c) => c.name === 'model-export'), 'an exporter in every worker');
      const api = r.container(API, 'api');
      assert.ok(!api.volumeMounts?.some((m) => m.name === mount.name), 'the API mounts the model');
    });

    test('the model-export Job (when present) writes MODEL_PATH on the claim the workers wait for', () => {
      const r = out(profile);
      const jobs = r.all('Job').filter((j) => j.metadata.name.includes('-model-export-'));
      const pod = r.workload('Deployment', WORKER).template.spec;
      const wait = pod.initContainers?.find((c) => c.name === 'wait-model');
      if (jobs.length === 0) {
        assert.equal(wait, undefined, 'workers wait for an export nobody runs');
        return;
      }
      assert.equal(jobs.length, 1);
      const spec = (jobs[0]?.spec as { template: { spec: PodSpec } }).template.spec;
      const ex = spec.containers.find((c) => c.name === 'model-export');
      assert.ok(ex);
      const script = (ex.args ?? []).join('\n');
      assert.match(script, /if \[ -f "\$MODEL_PATH\/manifest\.json" \]/);
      assert.match(script, /python \/app\/tools\/blip-export\/export\.py "\$@" --out "\$MODEL_PATH"/);
      assert.match(script, /flock /);
      const workerEnv = r.environment(r.container(WORKER, 'worker'));
      assert.deepEqual(r.environment(ex).get('MODEL_PATH'), workerEnv.get('MODEL_PATH'));
      const mount = ex.volumeMounts?.find((m) => m.name === 'model');
      assert.ok(mount && !mount.readOnly, 'the exporter cannot write the model volume');
      const claim = (p: PodSpec) =>
        p.volumes?.find((v) => v.name === 'model')?.persistentVolumeClaim?.claimName;
      assert.ok(claim(spec));
      assert.equal(claim(spec), claim(pod), 'the Job writes another claim than the workers read');
      assert.ok(wait, 'workers start before the export ends');
      assert.deepEqual(r.environment(wait).get('MODEL_PATH'), workerEnv.get('MODEL_PATH'));
    });
  });
}

describe('default values', () => {
  test('external Redis by default: no in-chart Redis, no KEDA, API HPA on CPU, no ingress', () => {
    const r = out('default');
    assert.equal(r.all('StatefulSet').length, 0);
    assert.equal(r.all('ScaledObject').length, 0);
    assert.equal(r.all('Ingress').length, 0);
    const hpa = r.get('HorizontalPodAutoscaler', API);
    assert.equal(hpa.spec.scaleTargetRef.name, API);
    assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
    assert.equal(
      r.workload('Deployment', API).replicas,
      undefined,
      'HPA-managed replicas set in the Deployment',
    );
  });

  test('with no JWT key given, the chart generates an HS256 secret of >= 32 chars', () => {
    const r = out('default');
    const data = r.decoded('Secret', FULLNAME);
    assert.ok((data.JWT_SECRET ?? '').length >= 32);
  });

  test('given secrets go into the chart-made Secret under the env var names', () => {
    const r = out('default + secrets');
    const data = r.decoded('Secret', FULLNAME);
    assert.equal(data.JWT_SECRET, CLEAR_SECRETS.jwtSecret);
    assert.equal(data.REDIS_URL, CLEAR_SECRETS.redisUrl);
    assert.equal(data.CACHE_REDIS_URL, CLEAR_SECRETS.cacheRedisUrl);
  });

  test('a settings change rolls both Deployments (config checksum annotation)', () => {
    const a = out('default');
    const b = render({ values: [{ config: { LOG_LEVEL: 'debug' } }] });
    for (const dep of [API, WORKER]) {
      const before = a.workload('Deployment', dep).template.metadata.annotations?.['checksum/config'];
      const after = b.workload('Deployment', dep).template.metadata.annotations?.['checksum/config'];
      assert.ok(before !== undefined && after !== undefined);
      assert.notEqual(before, after, `${dep} would not roll on a settings change`);
    }
  });

  test('NOTES explain how to get a token and call the API, and warn that no Redis is set', () => {
    const text = notes();
    assert.match(text, /get secret cap-captioner -o jsonpath='\{\.data\.JWT_SECRET\}'/);
    assert.match(text, /npm run --silent token -- --sub /);
    // The token CLI ships in the API image as dist/cli/token.js (built from src/cli/token.ts).
    assert.match(
      text,
      /exec deployment\/cap-captioner-api -c api -- \\\n\s+node dist\/cli\/token\.js --sub /,
    );
    assert.ok(existsSync(join(ROOT, 'src/cli/token.ts')), 'src/cli/token.ts (the token CLI) is gone');
    assert.match(text, /Authorization: Bearer \$TOKEN/);
    assert.match(text, /\/api\/v1\/caption/);
    assert.match(text, /port-forward service\/cap-captioner-api/);
    assert.match(text, /WARNING: no Redis URL is configured/);
    const configured = notes({ values: [{ secrets: CLEAR_SECRETS }] });
    assert.doesNotMatch(configured, /WARNING/);
    assert.ok(!configured.includes(CLEAR_SECRETS.redisUrl), 'NOTES print a Redis URL');
  });
});
