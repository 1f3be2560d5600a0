/**
 * The profiles the issue names: GPU workers with KEDA, CPU-only, an existing Secret, in-chart Redis;
 * plus the optional pieces (ALB ingress, NetworkPolicy, ServiceMonitor).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  FULLNAME,
  RELEASE,
  helmBin,
  render,
  type EnvSource,
  type PodSpec,
  type Rendered,
} from './helm-harness';

const API = `${FULLNAME}-api`;
const WORKER = `${FULLNAME}-worker`;
const GPU = 'nvidia.com/gpu';

before(() => {
  helmBin();
});

function secretSource(env: Map<string, EnvSource>, name: string): { name: string; key: string } {
  const s = env.get(name);
  assert.ok(s?.from === 'secret', `${name} does not come from a Secret`);
  return { name: s.name, key: s.key };
}

describe('GPU workers with KEDA (ci/gpu-keda-values.yaml)', () => {
  let r: Rendered;
  before(() => {
    r = render({ files: ['gpu-keda-values.yaml'] });
  });

  test('a ScaledObject scales the worker Deployment on the BullMQ waiting and active lists', () => {
    const so = r.get('ScaledObject', WORKER);
    assert.equal(so.apiVersion, 'keda.sh/v1alpha1');
    assert.deepEqual(so.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: WORKER });
    const triggers = so.spec.triggers as { type: string; name: string; metadata: Record<string, string> }[];
    assert.deepEqual(
      triggers.map((t) => [t.type, t.name, t.metadata.listName]),
      [
        ['redis', 'waiting', 'bull:captions:wait'],
        ['redis', 'active', 'bull:captions:active'],
      ],
    );
    for (const t of triggers) {
      assert.equal(t.metadata.address, 'master.captioner-queue.abc123.euw1.cache.amazonaws.com:6379');
      assert.equal(t.metadata.enableTLS, 'true');
      assert.equal(t.metadata.databaseIndex, '0');
      // KEDA's trigger metadata is a map of strings; a number there is refused by its CRD.
      for (const v of Object.values(t.metadata)) assert.equal(typeof v, 'string');
    }
    assert.equal(so.spec.minReplicaCount, 1);
    assert.equal(so.spec.maxReplicaCount, 6);
    assert.equal(so.spec.pollingInterval, 15);
    assert.equal(so.spec.cooldownPeriod, 600);
  });

  test('scalingModifiers sum the two lists into one AverageValue metric with target BATCH_MAX_SIZE', () => {
    const so = r.get('ScaledObject', WORKER);
    assert.deepEqual(so.spec.advanced.scalingModifiers, {
      formula: 'waiting + active',
      target: '8',
      activationTarget: '0',
      metricType: 'AverageValue',
    });
    // Every name the formula uses is a trigger's name.
    const names = new Set((so.spec.triggers as { name: string }[]).map((t) => t.name));
    for (const id of (so.spec.advanced.scalingModifiers.formula as string).match(/[a-z]+/g) ?? []) {
      assert.ok(names.has(id), `formula uses ${id}, which no trigger is named`);
    }
  });

  test('scale-in waits out the stabilization window; fallback keeps the fleet while KEDA is blind', () => {
    const so = r.get('ScaledObject', WORKER);
    assert.deepEqual(so.spec.advanced.horizontalPodAutoscalerConfig, {
      behavior: { scaleDown: { stabilizationWindowSeconds: 900 } },
    });
    assert.deepEqual(so.spec.fallback, {
      failureThreshold: 3,
      replicas: 2,
      behavior: 'currentReplicasIfHigher',
    });
  });

  test('KEDA authenticates both triggers with the queue Redis password from the Secret', () => {
    const so = r.get('ScaledObject', WORKER);
    const refs = (so.spec.triggers as { authenticationRef?: { name: string } }[]).map(
      (t) => t.authenticationRef?.name,
    );
    assert.deepEqual(refs, [`${WORKER}-redis`, `${WORKER}-redis`]);
    const ta = r.get('TriggerAuthentication', `${WORKER}-redis`);
    assert.equal(ta.apiVersion, 'keda.sh/v1alpha1');
    assert.deepEqual(Object.keys(ta.spec as object), ['secretTargetRef']);
    const refsOut = ta.spec.secretTargetRef as { parameter: string; name: string; key: string }[];
    assert.equal(refsOut.length, 1);
    const [ref] = refsOut;
    assert.equal(ref.parameter, 'password');
    assert.equal(ref.name, FULLNAME);
    assert.equal(r.decoded('Secret', ref.name)[ref.key], 'queue-auth-token');
  });

  test('the worker Deployment leaves its replica count to KEDA and has no HPA of its own', () => {
    assert.equal(r.workload('Deployment', WORKER).replicas, undefined);
    assert.equal(r.find('HorizontalPodAutoscaler', WORKER), undefined);
  });

  test('REDIS_CLUSTER: redis-cluster triggers count the hash-tagged {QUEUE_NAME} lists at the seed addresses', () => {
    const seeds = 'clustercfg.captioner.abc123.euw1.cache.amazonaws.com:6379';
    const clustered = render({
      files: ['gpu-keda-values.yaml'],
      values: [
        {
          config: { REDIS_CLUSTER: 'true', QUEUE_NAME: 'captions-eu' },
          worker: { keda: { redis: { address: seeds } } },
        },
      ],
    });
    const triggers = clustered.get('ScaledObject', WORKER).spec.triggers as {
      type: string;
      name: string;
      metadata: Record<string, string>;
    }[];
    assert.deepEqual(
      triggers.map((t) => [t.type, t.name, t.metadata.listName]),
      [
        ['redis-cluster', 'waiting', '{captions-eu}:captions-eu:wait'],
        ['redis-cluster', 'active', '{captions-eu}:captions-eu:active'],
      ],
    );
    for (const t of triggers) {
      assert.equal(t.metadata.addresses, seeds);
      assert.equal(t.metadata.address, undefined);
      assert.equal(t.metadata.databaseIndex, undefined, 'a cluster has no database index');
      assert.equal(t.metadata.enableTLS, 'true');
    }
  });

  test('the listName follows QUEUE_NAME', () => {
    const other = render({
      files: ['gpu-keda-values.yaml'],
      values: [{ config: { QUEUE_NAME: 'captions-eu' } }],
    });
    assert.deepEqual(
      (other.get('ScaledObject', WORKER).spec.triggers as { metadata: { listName: string } }[]).map(
        (t) => t.metadata.listName,
      ),
      ['bull:captions-eu:wait', 'bull:captions-eu:active'],
    );
  });

  test('GPU worker: GPU image, cuda provider, GPU node selector and taint toleration', () => {
    const pod = r.workload('Deployment', WORKER).template.spec;
    const w = r.container(WORKER, 'worker');
    assert.match(w.image, /captioner-gpu:0\.1\.0$/);
    assert.equal(String(w.resources?.limits?.[GPU]), '1');
    assert.equal(pod.nodeSelector?.['eks.amazonaws.com/nodegroup'], 'gpu');
    assert.ok(pod.tolerations?.some((t) => t.key === GPU && t.effect === 'NoSchedule'));
    const env = r.environment(w);
    assert.deepEqual(env.get('EXECUTION_PROVIDER'), { from: 'value', value: 'cuda' });
    // The API stays on ordinary nodes with the CPU image.
    const apiPod = r.workload('Deployment', API).template.spec;
    assert.equal(apiPod.nodeSelector, undefined);
    assert.ok(!apiPod.tolerations?.some((t) => t.key === GPU));
    assert.match(r.container(API, 'api').image, /\/captioner:0\.1\.0$/);
  });

  test('model pulled from S3 with the IRSA role of the service account, no exporter, no claim', () => {
    const pod = r.workload('Deployment', WORKER).template.spec;
    const env = r.environment(r.container(WORKER, 'worker'));
    assert.deepEqual(env.get('MODEL_URI'), {
      from: 'value',
      value: 's3://example-captioner-models/blip/0123456789abcdef/',
    });
    assert.deepEqual(env.get('AWS_REGION'), { from: 'value', value: 'eu-west-1' });
    assert.ok(pod.volumes?.find((v) => v.name === 'model')?.emptyDir, 'the cache is not an emptyDir');
    assert.equal(pod.initContainers, undefined);
    assert.equal(r.all('Job').length, 0);
    assert.equal(r.all('PersistentVolumeClaim').length, 0);
    const sa = r.get('ServiceAccount', pod.serviceAccountName as string);
    assert.match(
      sa.metadata.annotations?.['eks.amazonaws.com/role-arn'] ?? '',
      /^arn:aws:iam::\d{12}:role\//,
    );
  });

  test('ALB ingress: class alb, health check on /health/ready, only /api and the docs routed', () => {
    const ing = r.get('Ingress', API);
    assert.equal(ing.spec.ingressClassName, 'alb');
    const ann = ing.metadata.annotations ?? {};
    assert.equal(ann['alb.ingress.kubernetes.io/healthcheck-path'], '/health/ready');
    assert.equal(ann['alb.ingress.kubernetes.io/target-type'], 'ip');
    assert.ok(ann['alb.ingress.kubernetes.io/certificate-arn']);
    const paths = (
      ing.spec.rules as {
        http: { paths: { path: string; backend: { service: { name: string; port: { number: number } } } }[] };
      }[]
    ).flatMap((rule) => rule.http.paths);
    assert.deepEqual(
      paths.map((p) => p.path),
      ['/api', '/docs', '/docs-json'],
    );
    const svc = r.get('Service', API);
    for (const p of paths) {
      assert.equal(p.backend.service.name, API);
      assert.equal(p.backend.service.port.number, svc.spec.ports[0].port);
    }
  });

  test('the ALB health check path is added when the operator replaces the annotations', () => {
    const other = render({
      files: ['gpu-keda-values.yaml'],
      set: ['api.ingress.annotations.alb\\.ingress\\.kubernetes\\.io/healthcheck-path=null'],
    });
    const ann = other.get('Ingress', API).metadata.annotations ?? {};
    assert.equal(ann['alb.ingress.kubernetes.io/healthcheck-path'], '/health/ready');
  });

  test('ServiceMonitors scrape /metrics on the management port of both processes, never the public one', () => {
    assert.ok(
      !(r.get('Service', API).spec.ports as { name: string }[]).some((p) => p.name === 'metrics'),
      'the public API Service does not carry the management port',
    );
    for (const [name, port] of [
      [API, 'metrics'],
      [WORKER, 'metrics'],
    ]) {
      const sm = r.get('ServiceMonitor', name);
      assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
      assert.equal(sm.metadata.labels?.release, 'kube-prometheus-stack');
      assert.deepEqual(sm.spec.namespaceSelector, { matchNames: ['captioner'] });
      assert.equal(sm.spec.endpoints.length, 1);
      assert.equal(sm.spec.endpoints[0].port, port);
      assert.equal(sm.spec.endpoints[0].path, '/metrics');
      assert.equal(sm.spec.endpoints[0].interval, '30s');
      assert.equal(sm.spec.endpoints[0].scrapeTimeout, '10s');
      const svc = r
        .all('Service')
        .find(
          (s) =>
            Object.entries(sm.spec.selector.matchLabels as Record<string, string>).every(
              ([k, v]) => s.metadata.labels?.[k] === v,
            ) && (s.spec.ports as { name: string }[]).some((p) => p.name === port),
        );
      assert.ok(svc, `no Service with port ${port} for ServiceMonitor ${name}`);
      const target = (svc.spec.ports as { name: string; targetPort: string }[]).find((p) => p.name === port);
      assert.equal(target?.targetPort, 'management');
    }
  });

  test('the management listener: MANAGEMENT_PORT and MANAGEMENT_HOST reach both containers, on a named port', () => {
    for (const [deployment, container] of [
      [API, 'api'],
      [WORKER, 'worker'],
    ]) {
      const c = r.container(deployment, container);
      const env = (c.env ?? []) as { name: string; value?: string }[];
      const port = env.find((e) => e.name === 'MANAGEMENT_PORT')?.value;
      assert.equal(port, '9464');
      const host = env.find((e) => e.name === 'MANAGEMENT_HOST')?.value;
      assert.equal(host, '0.0.0.0', 'reachable by the scraper (the NetworkPolicy filters)');
      assert.ok(c.ports?.some((p) => p.name === 'management' && String(p.containerPort) === port));
    }
  });

  test('NetworkPolicies: API in on its port, management only from the scraper, both out to DNS and Redis', () => {
    const api = r.get('NetworkPolicy', API);
    assert.deepEqual(api.spec.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(api.spec.ingress[0].ports, [{ port: 'http', protocol: 'TCP' }]);
    const worker = r.get('NetworkPolicy', WORKER);
    // The profile's networkPolicy.metricsFrom: the monitoring namespace.
    const scraper = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    assert.deepEqual(api.spec.ingress[1], {
      ports: [{ port: 'management', protocol: 'TCP' }],
      from: scraper,
    });
    assert.deepEqual(worker.spec.ingress, [
      { ports: [{ port: 'management', protocol: 'TCP' }], from: scraper },
    ]);
    for (const np of [api, worker]) {
      const egress = np.spec.egress as { ports?: { port: number | string }[] }[];
      assert.ok(
        egress.some((e) => e.ports?.some((p) => p.port === 53)),
        'no DNS egress',
      );
      assert.ok(
        egress.some((e) => e.ports?.some((p) => p.port === 6379)),
        'no Redis egress',
      );
    }
    // URL intake may not reach private ranges or the instance metadata service.
    const fetchRule = (
      api.spec.egress as { to?: { ipBlock?: { cidr: string; except?: string[] } }[] }[]
    ).find((e) => e.to?.[0]?.ipBlock?.cidr === '0.0.0.0/0');
    assert.ok(fetchRule?.to?.[0].ipBlock?.except?.includes('169.254.0.0/16'));
    assert.ok(fetchRule?.to?.[0].ipBlock?.except?.includes('10.0.0.0/8'));
  });
});

describe('CPU-only (ci/cpu-only-values.yaml)', () => {
  let r: Rendered;
  before(() => {
    r = render({ files: ['cpu-only-values.yaml'] });
  });

  test('no GPU anywhere: no GPU resources, tolerations or GPU image; provider cpu', () => {
    assert.ok(!r.text.includes(GPU), 'nvidia.com/gpu appears in the CPU profile');
    const w = r.container(WORKER, 'worker');
    assert.match(w.image, /^captioner:0\.1\.0$/);
    assert.deepEqual(r.environment(w).get('EXECUTION_PROVIDER'), { from: 'value', value: 'cpu' });
  });

  test('workers scale on CPU with an HPA; the Deployment leaves replicas to it', () => {
    const hpa = r.get('HorizontalPodAutoscaler', WORKER);
    assert.equal(hpa.spec.scaleTargetRef.name, WORKER);
    assert.equal(r.workload('Deployment', WORKER).replicas, undefined);
    assert.equal(r.all('ScaledObject').length, 0);
  });

  test('the chart makes the model PVC, the export Job fills it, the worker mounts it read-only', () => {
    const pvc = r.get('PersistentVolumeClaim', `${FULLNAME}-model`);
    assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
    assert.equal(pvc.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    const pod = r.workload('Deployment', WORKER).template.spec;
    assert.equal(
      pod.volumes?.find((v) => v.name === 'model')?.persistentVolumeClaim?.claimName,
      `${FULLNAME}-model`,
    );
    const [job] = r.all('Job');
    const ex = (job?.spec as { template: { spec: PodSpec } }).template.spec.containers[0];
    assert.ok(ex);
    assert.match(ex.image, /^captioner-exporter:0\.1\.0$/);
    assert.match((ex.args ?? []).join(' '), /'--model' 'Salesforce\/blip-image-captioning-base'/);
    assert.deepEqual(
      pod.initContainers?.map((c) => c.name),
      ['wait-model'],
    );
  });

  test('settings from values reach the worker', () => {
    const env = r.environment(r.container(WORKER, 'worker'));
    assert.equal((env.get('ORT_INTRA_OP_THREADS') as { value: string }).value, '4');
    assert.equal((env.get('BATCH_MAX_SIZE') as { value: string }).value, '4');
  });
});

describe('existing Secret (ci/existing-secret-values.yaml)', () => {
  let r: Rendered;
  before(() => {
    r = render({ files: ['existing-secret-values.yaml'] });
  });

  test('the chart makes no Secret and references the existing one with the mapped keys', () => {
    assert.equal(r.all('Secret').length, 0);
    const api = r.environment(r.container(API, 'api'));
    const worker = r.environment(r.container(WORKER, 'worker'));
    for (const env of [api, worker]) {
      assert.deepEqual(secretSource(env, 'REDIS_URL'), { name: 'captioner-prod', key: 'queue-redis-url' });
      assert.deepEqual(secretSource(env, 'CACHE_REDIS_URL'), {
        name: 'captioner-prod',
        key: 'cache-redis-url',
      });
    }
    assert.deepEqual(secretSource(api, 'JWT_SECRET'), { name: 'captioner-prod', key: 'JWT_SECRET' });
    assert.deepEqual(secretSource(api, 'JWT_PUBLIC_KEY'), { name: 'captioner-prod', key: 'JWT_PUBLIC_KEY' });
  });

  test('the bundle comes from an image volume, with no exporter', () => {
    const pod = r.workload('Deployment', WORKER).template.spec;
    assert.match(
      pod.volumes?.find((v) => v.name === 'model')?.image?.reference ?? '',
      /captioner-bundles:blip-base-1$/,
    );
    assert.equal(pod.initContainers, undefined);
  });
});

describe('in-chart Redis (ci/in-chart-redis-values.yaml)', () => {
  let r: Rendered;
  before(() => {
    r = render({ files: ['in-chart-redis-values.yaml'] });
  });

  function redisArgs(role: string): string[] {
    return r.workload('StatefulSet', `${FULLNAME}-redis-${role}`).template.spec.containers[0].command ?? [];
  }
  function flag(args: string[], name: string): string | undefined {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1];
  }

  test('queue Redis never evicts; cache Redis evicts LRU; both bounded', () => {
    const q = redisArgs('queue');
    const c = redisArgs('cache');
    assert.equal(flag(q, '--maxmemory-policy'), 'noeviction');
    assert.equal(flag(c, '--maxmemory-policy'), 'allkeys-lru');
    assert.ok(flag(q, '--maxmemory'));
    assert.ok(flag(c, '--maxmemory'));
    assert.equal(flag(q, '--appendonly'), 'yes', 'queue persistence is enabled in this profile');
    const sts = r.workload('StatefulSet', `${FULLNAME}-redis-queue`);
    assert.ok(r.get('StatefulSet', `${FULLNAME}-redis-queue`).spec.volumeClaimTemplates?.length === 1);
    assert.equal(sts.replicas, 1);
  });

  test('the URLs point at the in-chart Services and reach both processes through a Secret', () => {
    const data = r.decoded('Secret', `${FULLNAME}-redis`);
    assert.equal(data.REDIS_URL, `redis://${FULLNAME}-redis-queue:6379/0`);
    assert.equal(data.CACHE_REDIS_URL, `redis://${FULLNAME}-redis-cache:6379/0`);
    for (const role of ['queue', 'cache']) {
      const svc = r.get('Service', `${FULLNAME}-redis-${role}`);
      assert.equal(svc.spec.ports[0].port, 6379);
    }
    for (const [dep, c] of [
      [API, 'api'],
      [WORKER, 'worker'],
    ]) {
      const env = r.environment(r.container(dep, c));
      assert.deepEqual(secretSource(env, 'REDIS_URL'), { name: `${FULLNAME}-redis`, key: 'REDIS_URL' });
      assert.deepEqual(secretSource(env, 'CACHE_REDIS_URL'), {
        name: `${FULLNAME}-redis`,
        key: 'CACHE_REDIS_URL',
      });
    }
  });

  test('KEDA reaches the in-chart queue Redis by its fully qualified name (it runs in its own namespace)', () => {
    const so = r.get('ScaledObject', WORKER);
    for (const t of so.spec.triggers as { metadata: { address: string } }[]) {
      assert.equal(t.metadata.address, `${FULLNAME}-redis-queue.captioner.svc.cluster.local:6379`);
    }
    // The name is one the in-chart Service answers to.
    const svc = r.get('Service', `${FULLNAME}-redis-queue`);
    assert.equal(svc.spec.ports[0].port, 6379);
    assert.equal(so.spec.minReplicaCount, 0);
    assert.equal(so.spec.triggers[0].authenticationRef, undefined);
    const other = render({
      files: ['in-chart-redis-values.yaml'],
      values: [{ clusterDomain: 'corp.internal' }],
    });
    assert.equal(
      other.get('ScaledObject', WORKER).spec.triggers[1].metadata.address,
      `${FULLNAME}-redis-queue.captioner.svc.corp.internal:6379`,
    );
  });

  test('the Redis NetworkPolicy admits the KEDA operator (namespace and labels configurable)', () => {
    const rules = r.get('NetworkPolicy', `${FULLNAME}-redis`).spec.ingress as {
      from: { namespaceSelector?: { matchLabels: Record<string, string> }; podSelector?: object }[];
      ports: { port: number }[];
    }[];
    const keda = rules.find((rule) => rule.from.some((f) => f.namespaceSelector !== undefined));
    assert.ok(keda, 'no rule admits the KEDA operator');
    assert.deepEqual(keda.from, [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'keda-operator' } },
      },
    ]);
    assert.deepEqual(keda.ports, [{ port: 6379, protocol: 'TCP' }]);
    const custom = render({
      files: ['in-chart-redis-values.yaml'],
      values: [
        {
          networkPolicy: {
            // null removes a default key (Helm merges maps).
            kedaOperator: {
              namespace: 'autoscaling',
              podLabels: { 'app.kubernetes.io/name': null, app: 'keda' },
            },
          },
        },
      ],
    });
    const from = (custom.get('NetworkPolicy', `${FULLNAME}-redis`).spec.ingress as { from: object[] }[])[1]
      .from;
    assert.deepEqual(from, [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'autoscaling' } },
        podSelector: { matchLabels: { app: 'keda' } },
      },
    ]);
    const noKeda = render({
      files: ['in-chart-redis-values.yaml'],
      values: [{ worker: { keda: { enabled: false } } }],
    });
    assert.equal((noKeda.get('NetworkPolicy', `${FULLNAME}-redis`).spec.ingress as object[]).length, 1);
  });

  test('of the release, only the api and worker pods may reach Redis', () => {
    const np = r.get('NetworkPolicy', `${FULLNAME}-redis`);
    const from = np.spec.ingress[0].from as { podSelector: { matchLabels: Record<string, string> } }[];
    assert.deepEqual(from.map((f) => f.podSelector.matchLabels['app.kubernetes.io/component']).sort(), [
      'api',
      'worker',
    ]);
    const redisPod = r.workload('StatefulSet', `${FULLNAME}-redis-queue`).template.metadata.labels ?? {};
    for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels as Record<string, string>)) {
      assert.equal(redisPod[k], v);
    }
    assert.equal(np.spec.podSelector.matchLabels['app.kubernetes.io/instance'], RELEASE);
  });
});

describe('model.source: each way of getting the bundle to the workers', () => {
  const URI = 's3://example-captioner-models/blip/0123456789abcdef/';
  const model = (r: Rendered) => {
    const pod = r.workload('Deployment', WORKER).template.spec;
    const w = r.container(WORKER, 'worker');
    const mount = w.volumeMounts?.find((m) => m.name === 'model');
    return { pod, env: r.environment(w), mount, volume: pod.volumes?.find((v) => v.name === 'model') };
  };
  type Egress = { to?: { ipBlock?: { cidr: string } }[]; ports?: { port: number | string }[] }[];
  const egressTo = (r: Rendered, cidr: string, port: number): boolean =>
    (r.get('NetworkPolicy', WORKER).spec.egress as Egress).some(
      (e) => e.to?.some((t) => t.ipBlock?.cidr === cidr) && e.ports?.some((p) => p.port === port),
    );

  test('s3 with a pvc cache: pulled once per version onto the chart-made claim, written by the worker', () => {
    const r = render({
      values: [
        { model: { source: 's3', uri: URI, cache: { type: 'pvc' } }, networkPolicy: { enabled: true } },
      ],
    });
    const { pod, env, mount, volume } = model(r);
    assert.deepEqual(env.get('MODEL_URI'), { from: 'value', value: URI });
    assert.deepEqual(env.get('MODEL_CACHE_DIR'), { from: 'value', value: mount?.mountPath });
    assert.equal(env.get('MODEL_PATH'), undefined);
    assert.equal(env.get('AWS_REGION'), undefined, 'no region set, none rendered');
    assert.equal(mount?.readOnly, false);
    assert.equal(volume?.persistentVolumeClaim?.claimName, `${FULLNAME}-model`);
    r.get('PersistentVolumeClaim', `${FULLNAME}-model`);
    assert.equal(pod.initContainers, undefined);
    assert.equal(r.all('Job').length, 0);
    // S3 over HTTPS, and the EKS Pod Identity agent on its link-local address.
    assert.ok(egressTo(r, '0.0.0.0/0', 443), 'no HTTPS egress to S3');
    assert.ok(egressTo(r, '169.254.170.23/32', 80), 'no egress to the Pod Identity agent');
  });

  test('https: pulled into a per-pod emptyDir; no AWS pieces', () => {
    const uri = 'https://models.example.com/blip/0123456789abcdef/';
    const r = render({ values: [{ model: { source: 'https', uri }, networkPolicy: { enabled: true } }] });
    const { env, mount, volume } = model(r);
    assert.deepEqual(env.get('MODEL_URI'), { from: 'value', value: uri });
    assert.equal(mount?.readOnly, false);
    assert.ok(volume?.emptyDir);
    assert.equal(r.all('PersistentVolumeClaim').length, 0);
    assert.ok(egressTo(r, '0.0.0.0/0', 443));
    assert.ok(!egressTo(r, '169.254.170.23/32', 80), 'Pod Identity egress without S3');
  });

  test('pvc: an existing claim holding the bundle, mounted read-only; nothing exports or waits', () => {
    const r = render({
      values: [{ model: { source: 'pvc', volume: { pvc: { existingClaim: 'bundles-efs' } } } }],
    });
    const { pod, env, mount, volume } = model(r);
    assert.equal(volume?.persistentVolumeClaim?.claimName, 'bundles-efs');
    assert.equal(mount?.readOnly, true);
    assert.match((env.get('MODEL_PATH') as { value: string }).value, /^\/models\/blip-base$/);
    assert.equal(env.get('MODEL_URI'), undefined);
    assert.equal(pod.initContainers, undefined);
    assert.equal(r.all('Job').length + r.all('PersistentVolumeClaim').length, 0);
  });

  test('image: an OCI image volume, read-only, no claim', () => {
    const r = render({
      values: [
        { model: { source: 'image', volume: { image: { reference: 'registry.example/bundles:1' } } } },
      ],
    });
    const { mount, volume } = model(r);
    assert.equal(volume?.image?.reference, 'registry.example/bundles:1');
    assert.equal(mount?.readOnly, true);
    assert.equal(r.all('PersistentVolumeClaim').length, 0);
  });

  test('exporter: one Job per image and arguments (stable across renders), not an init container per worker', () => {
    const name = (r: Rendered) => r.all('Job').map((j) => j.metadata.name);
    const a = name(render());
    assert.equal(a.length, 1);
    assert.match(a[0] ?? '', new RegExp(`^${FULLNAME}-model-export-[0-9a-f]{8}$`));
    assert.deepEqual(name(render()), a, 'the Job name changes between identical renders');
    const other = name(
      render({
        values: [{ model: { exporter: { args: ['--model', 'Salesforce/blip-image-captioning-large'] } } }],
      }),
    );
    assert.notDeepEqual(other, a, 'new arguments must make a new Job (a Job template is immutable)');
    const job = render().all('Job')[0];
    const spec = job?.spec as {
      backoffLimit: number;
      template: { spec: PodSpec & { restartPolicy: string } };
    };
    assert.equal(spec.template.spec.restartPolicy, 'Never');
    assert.equal(spec.backoffLimit, 2);
  });
});
