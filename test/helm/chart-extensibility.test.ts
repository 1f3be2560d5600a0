/**
 * Issue 13: the extension points chart users expect (per component and chart-wide), the KEDA arithmetic,
 * PDBs that never block drains, NetworkPolicy narrowing that keeps Prometheus scraping, image volumes
 * only where Kubernetes has them, and the production profile's settings.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  FULLNAME,
  helmBin,
  lint,
  readProjectFile,
  render,
  templateRaw,
  type K8sObject,
  type Rendered,
} from './helm-harness';

const API = `${FULLNAME}-api`;
const WORKER = `${FULLNAME}-worker`;

before(() => {
  helmBin();
});

describe('extension points (ci/extended-values.yaml)', () => {
  let r: Rendered;
  before(() => {
    r = render({ files: ['extended-values.yaml'] });
  });

  test('`--set worker.runtimeClassName=nvidia` and friends pass the schema', () => {
    const l = lint({
      set: [
        'worker.runtimeClassName=nvidia',
        'worker.priorityClassName=gpu',
        'api.runtimeClassName=gvisor',
        'redis.inChart.priorityClassName=infra',
      ],
    });
    assert.equal(l.status, 0, l.stdout + l.stderr);
  });

  test('runtime and priority classes reach the pods', () => {
    const api = r.workload('Deployment', API).template.spec as unknown as Record<string, unknown>;
    const worker = r.workload('Deployment', WORKER).template.spec as unknown as Record<string, unknown>;
    assert.equal(api.runtimeClassName, 'gvisor');
    assert.equal(api.priorityClassName, 'web-critical');
    assert.equal(worker.runtimeClassName, 'nvidia');
    assert.equal(worker.priorityClassName, 'batch-high');
    const plain = render({});
    const spec = plain.workload('Deployment', WORKER).template.spec as unknown as Record<string, unknown>;
    assert.equal(spec.runtimeClassName, undefined);
    assert.equal(spec.priorityClassName, undefined);
  });

  test('extra env, envFrom, volumes and mounts go to the main container, next to the chart-made ones', () => {
    const api = r.container(API, 'api');
    assert.deepEqual(r.environment(api).get('NODE_OPTIONS'), {
      from: 'value',
      value: '--max-old-space-size=768',
    });
    assert.deepEqual(api.envFrom?.[1], { configMapRef: { name: 'captioner-extra' } });
    assert.equal(api.envFrom?.[0].configMapRef?.name, `${FULLNAME}-config`);
    assert.deepEqual(
      api.volumeMounts?.map((m) => m.name),
      ['tmp', 'ca'],
    );
    const apiPod = r.workload('Deployment', API).template.spec;
    assert.deepEqual(
      apiPod.volumes?.map((v) => v.name),
      ['tmp', 'ca'],
    );
    const worker = r.container(WORKER, 'worker');
    assert.deepEqual(
      worker.volumeMounts?.map((m) => [m.name, m.mountPath]),
      [
        ['tmp', '/tmp'],
        ['model', '/models'],
        ['scratch', '/scratch'],
      ],
    );
  });

  test('init containers run before the app and sidecars next to it; the app container stays first', () => {
    const apiPod = r.workload('Deployment', API).template.spec;
    assert.deepEqual(
      apiPod.initContainers?.map((c) => c.name),
      ['wait-for-dns'],
    );
    assert.deepEqual(
      apiPod.containers.map((c) => c.name),
      ['api', 'log-shipper'],
    );
    const workerPod = r.workload('Deployment', WORKER).template.spec;
    assert.deepEqual(
      workerPod.containers.map((c) => c.name),
      ['worker', 'log-shipper'],
    );
    // With the exporter source, user init containers run after the wait for its bundle.
    const exp = render({ values: [{ worker: { initContainers: [{ name: 'after', image: 'busybox' }] } }] });
    assert.deepEqual(
      exp.workload('Deployment', WORKER).template.spec.initContainers?.map((c) => c.name),
      ['wait-model', 'after'],
    );
  });

  test('topology spread constraints: given ones select the component by default, after zoneSpread', () => {
    const api = r.workload('Deployment', API).template.spec as unknown as {
      topologySpreadConstraints: {
        maxSkew: number;
        labelSelector: { matchLabels: Record<string, string> };
      }[];
    };
    assert.equal(api.topologySpreadConstraints.length, 3);
    const mine = api.topologySpreadConstraints[2];
    assert.equal(mine.maxSkew, 2);
    assert.equal(mine.labelSelector.matchLabels['app.kubernetes.io/component'], 'api');
    const worker = r.workload('Deployment', WORKER).template.spec as unknown as {
      topologySpreadConstraints: { labelSelector: { matchLabels: Record<string, string> } }[];
    };
    assert.equal(
      worker.topologySpreadConstraints[0].labelSelector.matchLabels['app.kubernetes.io/component'],
      'worker',
    );
    const own = render({
      values: [
        {
          worker: {
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'DoNotSchedule',
                labelSelector: { matchLabels: { pool: 'gpu' } },
              },
            ],
          },
        },
      ],
    });
    const tsc = (
      own.workload('Deployment', WORKER).template.spec as unknown as {
        topologySpreadConstraints: { labelSelector: unknown }[];
      }
    ).topologySpreadConstraints;
    assert.deepEqual(tsc[0].labelSelector, { matchLabels: { pool: 'gpu' } });
  });

  test('strategy: Recreate drops the default rollingUpdate; the defaults stay as before', () => {
    assert.deepEqual(r.get('Deployment', WORKER).spec.strategy, { type: 'Recreate' });
    assert.deepEqual(r.get('Deployment', API).spec.strategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' },
    });
    assert.deepEqual(render({}).get('Deployment', WORKER).spec.strategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
  });

  test('commonLabels on every object and pod; commonAnnotations on every object, merged with its own', () => {
    for (const o of r.objects) {
      assert.equal(o.metadata.labels?.team, 'vision', `${o.kind}/${o.metadata.name} lacks commonLabels`);
      assert.equal(
        o.metadata.annotations?.owner,
        'platform@example.com',
        `${o.kind}/${o.metadata.name} lacks commonAnnotations`,
      );
    }
    for (const p of r.podTemplates()) assert.equal(p.labels.team, 'vision', p.owner);
    // Selectors do not change (they are immutable on Deployments).
    assert.equal(r.workload('Deployment', API).selector.matchLabels.team, undefined);
    const ingress = render({
      files: ['gpu-keda-values.yaml'],
      values: [{ commonAnnotations: { owner: 'x' } }],
    }).get('Ingress', API);
    assert.equal(ingress.metadata.annotations?.owner, 'x');
    assert.equal(
      ingress.metadata.annotations?.['alb.ingress.kubernetes.io/healthcheck-path'],
      '/health/ready',
    );
  });

  test('global.imageRegistry prefixes every image the chart runs, and only those', () => {
    const reg = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/';
    assert.equal(r.container(API, 'api').image, `${reg}captioner:0.1.0`);
    assert.equal(r.container(WORKER, 'worker').image, `${reg}captioner:0.1.0`);
    assert.equal(r.container(API, 'log-shipper').image, 'fluent/fluent-bit:3.2');
    const inChart = render({
      values: [{ global: { imageRegistry: 'mirror.local/' }, redis: { inChart: { enabled: true } } }],
    });
    for (const p of inChart.podTemplates()) {
      for (const c of [...p.spec.containers, ...(p.spec.initContainers ?? [])]) {
        assert.match(c.image, /^mirror\.local\/[^/]/, `${p.owner}/${c.name}: ${c.image}`);
      }
    }
  });

  test('the in-chart Redis pods take the same extension points', () => {
    const red = render({
      values: [
        {
          redis: {
            inChart: {
              enabled: true,
              priorityClassName: 'infra',
              sidecars: [{ name: 'exporter', image: 'oliver006/redis_exporter:v1.66.0' }],
              extraEnv: [{ name: 'TZ', value: 'UTC' }],
              podLabels: { tier: 'data' },
              nodeSelector: { pool: 'infra' },
            },
          },
        },
      ],
    });
    for (const role of ['queue', 'cache']) {
      const w = red.workload('StatefulSet', `${FULLNAME}-redis-${role}`);
      const spec = w.template.spec as unknown as Record<string, unknown>;
      assert.equal(spec.priorityClassName, 'infra');
      assert.deepEqual(
        w.template.spec.containers.map((c) => c.name),
        ['redis', 'exporter'],
      );
      assert.deepEqual(w.template.spec.containers[0].env, [{ name: 'TZ', value: 'UTC' }]);
      assert.equal(w.template.metadata.labels?.tier, 'data');
      assert.equal(w.template.metadata.labels?.['captioner.io/redis'], 'true');
      assert.deepEqual(w.template.spec.nodeSelector, { pool: 'infra' });
    }
  });

  test('bad extension values are refused by the schema', () => {
    for (const values of [
      { worker: { runtimeClassName: 'Not A Name' } },
      { api: { strategy: { type: 'BlueGreen' } } },
      { worker: { topologySpreadConstraints: [{ topologyKey: 'zone' }] } },
      { api: { extraVolumeMounts: [{ name: 'x', mountPath: 'relative' }] } },
      { api: { sidecars: [{ image: 'no-name' }] } },
      { api: { autoscaling: { behavior: { scaleSideways: {} } } } },
      { commonLabels: { team: 1 } },
    ]) {
      const t = templateRaw({ values: [values] });
      assert.notEqual(t.status, 0, `accepted ${JSON.stringify(values)}`);
      assert.match(t.stderr, /schema/);
    }
  });
});

describe('HPA behavior', () => {
  test('API: behavior as given; none by default', () => {
    const r = render({ files: ['extended-values.yaml'] });
    assert.deepEqual(r.get('HorizontalPodAutoscaler', API).spec.behavior, {
      scaleDown: {
        stabilizationWindowSeconds: 120,
        policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
      },
    });
    assert.equal(render({}).get('HorizontalPodAutoscaler', API).spec.behavior, undefined);
  });

  test('worker HPA: a 10-minute scale-down window by default, merged with the behavior given', () => {
    const r = render({ files: ['extended-values.yaml'] });
    assert.deepEqual(r.get('HorizontalPodAutoscaler', WORKER).spec.behavior, {
      scaleDown: { stabilizationWindowSeconds: 600 },
      scaleUp: { policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] },
    });
  });
});

describe('KEDA arithmetic: desired workers = ceil((waiting + active) / target)', () => {
  function keda(values: object): { target: number; so: K8sObject } {
    const so = render({ files: ['gpu-keda-values.yaml'], values: [values] }).get('ScaledObject', WORKER);
    return { target: Number(so.spec.advanced.scalingModifiers.target), so };
  }
  /** What the HPA does with one AverageValue metric: ceil(metric / target), within the bounds. */
  function desired(target: number, waiting: number, active: number, min: number, max: number): number {
    return Math.min(max, Math.max(min, Math.ceil((waiting + active) / target)));
  }

  test('the target follows BATCH_MAX_SIZE, or targetJobsPerWorker when set', () => {
    assert.equal(keda({}).target, 8);
    assert.equal(keda({ config: { BATCH_MAX_SIZE: '4' } }).target, 4);
    assert.equal(keda({ config: { BATCH_MAX_SIZE: 16 } }).target, 16);
    assert.equal(keda({ worker: { keda: { targetJobsPerWorker: 24 } } }).target, 24);
    const { so } = keda({ worker: { keda: { targetJobsPerWorker: 24 } } });
    for (const t of so.spec.triggers) assert.equal(t.metadata.listLength, '24');
  });

  test('a fleet that keeps up (wait near 0, each worker holding a full batch) is not scaled in', () => {
    const { target } = keda({});
    // 5 workers, each with BATCH_MAX_SIZE jobs active, nothing waiting: still 5.
    assert.equal(desired(target, 0, 5 * 8, 1, 6), 5);
    // Counting only `wait` (the old trigger) would have asked for the minimum.
    assert.equal(desired(target, 0, 0, 1, 6), 1);
    // A backlog adds workers; bounds hold.
    assert.equal(desired(target, 17, 8, 1, 6), 4);
    assert.equal(desired(target, 1000, 48, 1, 6), 6);
  });

  test('fallback: replicas 0 turns it off; an empty behavior is left to KEDA', () => {
    assert.equal(
      keda({ worker: { keda: { fallback: { failureThreshold: 3, replicas: 0 } } } }).so.spec.fallback,
      undefined,
    );
    assert.deepEqual(
      keda({ worker: { keda: { fallback: { failureThreshold: 5, replicas: 3, behavior: '' } } } }).so.spec
        .fallback,
      { failureThreshold: 5, replicas: 3 },
    );
  });

  test('HPA behavior given for KEDA is merged over the stabilization window', () => {
    const { so } = keda({
      worker: {
        keda: {
          scaleDownStabilizationSeconds: 300,
          behavior: { scaleDown: { policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }] } },
        },
      },
    });
    assert.deepEqual(so.spec.advanced.horizontalPodAutoscalerConfig.behavior, {
      scaleDown: {
        stabilizationWindowSeconds: 300,
        policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }],
      },
    });
  });

  test('the chart README writes the arithmetic down', () => {
    const readme = readProjectFile('helm/captioner/README.md');
    assert.match(readme, /ceil\(\(waiting \+ active\) \/ /);
    assert.match(readme, /scalingModifiers/);
    assert.match(readme, /stabilization/i);
  });
});

describe('PodDisruptionBudgets never block node drains', () => {
  test('one API replica and no HPA: no API PDB (minAvailable 1 would forbid every eviction)', () => {
    const r = render({ values: [{ api: { replicaCount: 1, autoscaling: { enabled: false } } }] });
    assert.equal(r.find('PodDisruptionBudget', API), undefined);
    assert.ok(r.find('PodDisruptionBudget', WORKER), 'the worker PDB (maxUnavailable) stays');
  });

  test('an HPA that may go down to one replica: no API PDB either', () => {
    const r = render({ values: [{ api: { autoscaling: { enabled: true, minReplicas: 1 } } }] });
    assert.equal(r.find('PodDisruptionBudget', API), undefined);
  });

  test('two or more replicas: the PDB is there; percentages are kept as given', () => {
    assert.equal(render({}).get('PodDisruptionBudget', API).spec.minAvailable, 1);
    const pct = render({
      values: [{ api: { replicaCount: 1, autoscaling: { enabled: false }, pdb: { minAvailable: '50%' } } }],
    });
    assert.equal(pct.get('PodDisruptionBudget', API).spec.minAvailable, '50%');
  });
});

describe('NetworkPolicy narrowing keeps Prometheus scraping', () => {
  test('API port narrowed to the load balancer: the scraper still reaches the management port', () => {
    const r = render({ files: ['extended-values.yaml'] });
    const scraper = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    const ingress = r.get('NetworkPolicy', API).spec.ingress as {
      ports: { port: string }[];
      from: object[];
    }[];
    // The API port admits the load balancer only; /metrics is not served there.
    assert.deepEqual(ingress[0], {
      ports: [{ port: 'http', protocol: 'TCP' }],
      from: [{ ipBlock: { cidr: '10.0.0.0/16' } }],
    });
    assert.deepEqual(ingress[1], { ports: [{ port: 'management', protocol: 'TCP' }], from: scraper });
    const worker = r.get('NetworkPolicy', WORKER).spec.ingress[0].from as object[];
    assert.deepEqual(worker, scraper);
  });

  test('narrowed with a ServiceMonitor and no metricsFrom: refused, naming the fix', () => {
    const t = templateRaw({
      files: ['extended-values.yaml'],
      values: [{ networkPolicy: { metricsFrom: [] } }],
    });
    assert.notEqual(t.status, 0);
    assert.match(t.stderr, /networkPolicy.metricsFrom/);
  });
});

describe('image-volume model delivery needs Kubernetes >= 1.31', () => {
  test('refused below 1.31, rendered from 1.31', () => {
    const low = templateRaw({ files: ['existing-secret-values.yaml'], kubeVersion: '1.30.9' });
    assert.notEqual(low.status, 0);
    assert.match(low.stderr, /needs Kubernetes >= 1\.31/);
    const ok = render({ files: ['existing-secret-values.yaml'], kubeVersion: '1.31.0' });
    assert.ok(ok.workload('Deployment', WORKER).template.spec.volumes?.some((v) => v.image !== undefined));
    // Other volume types still render on the chart's floor.
    assert.equal(templateRaw({ kubeVersion: '1.27.0' }).status, 0);
  });
});

describe('production settings', () => {
  test('the production profile refuses a queue Redis that could evict; the values do not call INFO forbidden', () => {
    const r = render({ files: ['gpu-keda-values.yaml'] });
    assert.equal(r.decoded('ConfigMap', `${FULLNAME}-config`).REDIS_EVICTION_POLICY_CHECK, 'refuse');
    const values = readProjectFile('helm/captioner/values.yaml');
    assert.doesNotMatch(values, /ElastiCache disables CONFIG GET, so the app cannot read/);
    assert.match(values, /INFO memory/);
    assert.match(readProjectFile('docs/deploy-eks.md'), /REDIS_EVICTION_POLICY_CHECK: refuse/);
  });

  test('API preStop sleep is 15-20 s and fits the grace period with the drain', () => {
    const r = render({});
    const preStop = Number(r.container(API, 'api').lifecycle?.preStop?.exec?.command[1]);
    assert.ok(preStop >= 15 && preStop <= 20, `preStop ${preStop}`);
  });

  test('the Swagger UI works through the ingress: /docs and the /docs-json it loads are routed', () => {
    const r = render({ values: [{ api: { ingress: { enabled: true } } }] });
    const paths = (r.get('Ingress', API).spec.rules as { http: { paths: { path: string }[] } }[]).flatMap(
      (x) => x.http.paths.map((p) => p.path),
    );
    const docsSource = readProjectFile('src/bootstrap/docs.ts');
    const jsonUrl = /url: '(\/[^']+)'/.exec(docsSource)?.[1];
    assert.equal(jsonUrl, '/docs-json');
    for (const p of ['/api', '/docs', jsonUrl]) assert.ok(paths.includes(p), `${p} not routed`);
  });

  test('the guides and README document readiness gates and existingSecret for GitOps', () => {
    const readme = readProjectFile('helm/captioner/README.md');
    assert.match(readme, /elbv2\.k8s\.aws\/pod-readiness-gate-inject=enabled/);
    assert.match(readme, /existingSecret/);
    assert.match(readProjectFile('docs/deploy-eks.md'), /elbv2\.k8s\.aws\/pod-readiness-gate-inject=enabled/);
  });
});

describe('rendering hygiene', () => {
  test('no whitespace-only lines in any profile (empty extension points leave no trace)', () => {
    for (const files of [
      [],
      ['extended-values.yaml'],
      ['in-chart-redis-values.yaml'],
      ['gpu-keda-values.yaml'],
    ]) {
      const t = templateRaw({ files });
      assert.equal(t.status, 0, t.stderr);
      const blank = t.stdout.split('\n').findIndex((l) => /^\s+$/.test(l));
      assert.equal(blank, -1, `${files.join(',') || 'defaults'}: whitespace-only line ${blank + 1}`);
    }
  });
});
