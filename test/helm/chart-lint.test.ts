/**
 * helm lint --strict and helm template for the default values and every profile in helm/captioner/ci,
 * and the other side: values.schema.json and the chart's cross-field rules refuse bad values.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { CHART, ROOT, helmBin, lint, render, templateRaw, type ValuesInput } from './helm-harness';

const PROFILES = readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('.yaml'));

before(() => {
  helmBin();
});

describe('helm lint --strict and helm template pass', () => {
  test('the profiles the issue asks for are all there', () => {
    for (const p of [
      'gpu-keda-values.yaml',
      'cpu-only-values.yaml',
      'existing-secret-values.yaml',
      'in-chart-redis-values.yaml',
    ]) {
      assert.ok(PROFILES.includes(p), `helm/captioner/ci/${p} is missing`);
    }
  });

  for (const profile of ['(default values)', ...PROFILES]) {
    const input: ValuesInput = profile.startsWith('(') ? {} : { files: [profile] };
    test(`lint: ${profile}`, () => {
      const r = lint(input);
      assert.equal(r.status, 0, `helm lint --strict failed:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
    test(`template: ${profile}`, () => {
      const out = render(input);
      const kinds = new Set(out.objects.map((o) => o.kind));
      for (const k of ['Deployment', 'Service', 'ConfigMap', 'PodDisruptionBudget']) {
        assert.ok(kinds.has(k), `no ${k} rendered`);
      }
      for (const o of out.objects) {
        assert.ok(
          o.apiVersion && o.kind && o.metadata?.name,
          `incomplete object: ${JSON.stringify(o).slice(0, 200)}`,
        );
      }
    });
  }
});

/**
 * Values that must be refused, and the message. Up to `rules`, values.schema.json refuses them, so
 * `helm lint --strict`, `helm template` and `helm install` all fail. From there on they break the chart's
 * cross-field rules (templates/validate.yaml, `fail`): `helm template` and `helm install` fail, while
 * `helm lint` only logs them, since Helm renders `fail` leniently while linting.
 */
const BAD: { name: string; input: ValuesInput; error: RegExp; by: 'schema' | 'rules' }[] = [
  {
    name: 'the bad values file (test/helm/fixtures/bad-values.yaml)',
    input: { files: [join(ROOT, 'test/helm/fixtures/bad-values.yaml')] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'a string where a boolean goes',
    input: { values: [{ worker: { gpu: { enabled: 'yes' } } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'a port out of range',
    input: { values: [{ api: { port: 70000 } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'an unknown setting (typo)',
    input: { values: [{ config: { LOG_LEVLE: 'debug' } }] },
    error: /LOG_LEVLE/,
    by: 'schema',
  },
  {
    name: 'a bad setting value',
    input: { values: [{ config: { LOG_LEVEL: 'loud' } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'a non-numeric limit',
    input: { values: [{ config: { MAX_UPLOAD_BYTES: '10MB' } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'a secret inlined as a plain setting',
    input: { values: [{ config: { REDIS_URL: 'redis://r:6379' } }] },
    error: /REDIS_URL/,
    by: 'schema',
  },
  {
    name: 'a secret inlined as plain extra env',
    input: { values: [{ api: { env: { JWT_SECRET: 'x'.repeat(40) } } }] },
    error: /JWT_SECRET/,
    by: 'schema',
  },
  {
    name: 'a secret inlined in extraEnv with a value',
    input: { values: [{ worker: { extraEnv: [{ name: 'CACHE_REDIS_URL', value: 'redis://c:6379' }] } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'overriding a port the chart derives',
    input: { values: [{ api: { env: { PORT: '8080' } } }] },
    error: /PORT/,
    by: 'schema',
  },
  {
    name: 'a Redis URL that is not redis://',
    input: { values: [{ secrets: { redisUrl: 'http://x' } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'a short HS256 secret',
    input: { values: [{ secrets: { jwtSecret: 'short' } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'root pods',
    input: { values: [{ podSecurityContext: { runAsNonRoot: false } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'privilege escalation',
    input: { values: [{ containerSecurityContext: { allowPrivilegeEscalation: true } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'an unknown top-level key',
    input: { values: [{ wokrer: { replicaCount: 2 } }] },
    error: /wokrer/,
    by: 'schema',
  },
  {
    name: 'an unknown model source',
    input: { values: [{ model: { source: 'nfs' } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'a model URI that is neither s3:// nor https://',
    input: { values: [{ model: { source: 's3', uri: 'ftp://models/blip/' } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'a quote in the exporter args (they go through sh)',
    input: { values: [{ model: { exporter: { args: ['--model', "x'; rm -rf /"] } } }] },
    error: /schema/,
    by: 'schema',
  },
  {
    name: 'a grace period shorter than the longest batch',
    input: { values: [{ worker: { longestBatchSeconds: 90, terminationGracePeriodSeconds: 60 } }] },
    error: /longer than worker.longestBatchSeconds/,
    by: 'rules',
  },
  {
    name: 'an API grace period shorter than preStop + drain',
    input: { values: [{ api: { terminationGracePeriodSeconds: 20 } }] },
    error: /api.terminationGracePeriodSeconds/,
    by: 'rules',
  },
  {
    name: 'the management port on the API or worker probe port',
    input: { values: [{ metrics: { port: 3001 } }] },
    error: /metrics.port/,
    by: 'rules',
  },
  {
    name: 'two JWT verification methods',
    input: {
      values: [{ secrets: { jwtSecret: 's'.repeat(40) }, config: { JWT_JWKS_URL: 'https://idp/jwks' } }],
    },
    error: /exactly one/,
    by: 'rules',
  },
  {
    name: 'KEDA without the queue Redis address',
    input: { values: [{ worker: { keda: { enabled: true } } }] },
    error: /keda.redis.address/,
    by: 'rules',
  },
  {
    name: 'KEDA and a worker HPA at once',
    input: {
      values: [
        { worker: { keda: { enabled: true, redis: { address: 'q:6379' } }, autoscaling: { enabled: true } } },
      ],
    },
    error: /exclusive/,
    by: 'rules',
  },
  {
    name: 'in-chart Redis and external URLs at once',
    input: { values: [{ redis: { inChart: { enabled: true } }, secrets: { redisUrl: 'redis://q:6379' } }] },
    error: /exclusive/,
    by: 'rules',
  },
  {
    name: 'an image source without a reference',
    input: { values: [{ model: { source: 'image' } }] },
    error: /model.volume.image.reference/,
    by: 'rules',
  },
  {
    name: 'an s3 source without a URI',
    input: { values: [{ model: { source: 's3' } }] },
    error: /model.source=s3 needs model.uri/,
    by: 'rules',
  },
  {
    name: 'an https source with an s3 URI',
    input: { values: [{ model: { source: 'https', uri: 's3://models/blip/0123456789abcdef/' } }] },
    error: /model.source=https needs model.uri/,
    by: 'rules',
  },
  {
    name: 'a pvc source with no claim',
    input: { values: [{ model: { source: 'pvc', volume: { pvc: { create: false } } } }] },
    error: /existingClaim/,
    by: 'rules',
  },
  {
    name: 'an s3 cache on a pvc with no claim',
    input: {
      values: [
        {
          model: {
            source: 's3',
            uri: 's3://models/blip/0123456789abcdef/',
            cache: { type: 'pvc' },
            volume: { pvc: { create: false } },
          },
        },
      ],
    },
    error: /with model.cache.type=pvc needs model.volume.pvc.existingClaim/,
    by: 'rules',
  },
];

describe('bad values are refused', () => {
  for (const c of BAD) {
    test(`${c.name} (${c.by})`, () => {
      if (c.by === 'schema') {
        const l = lint(c.input);
        assert.notEqual(l.status, 0, `helm lint accepted it:\n${l.stdout}`);
        assert.match(l.stdout + l.stderr, /schema/);
      }
      const t = templateRaw(c.input);
      assert.notEqual(t.status, 0, 'helm template accepted it');
      assert.match(t.stderr, c.error);
    });
  }
});
