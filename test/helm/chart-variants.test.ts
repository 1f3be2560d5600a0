/**
 * The profiles the issue names: GPU workers with KEDA, CPU-only, an existing Secret, in-chart Redis;
 * plus the optional pieces (ALB ingress, NetworkPolicy, ServiceMonitor).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { FULLNAME, RELEASE, helmBin, render, type EnvSource, type Rendered } from './helm-harness';

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

  test('a ScaledObject scales the worker Deployment on the BullMQ waiting list', () => {
    const so = r.get('ScaledObject', WORKER);
    assert.equal(so.apiVersion, 'keda.sh/v1alpha1');
    assert.equal(so.spec.scaleTargetRef.name, WORKER);
    assert.equal(so.spec.scaleTargetRef.kind, 'Deployment');
    const [trigger] = so.spec.triggers as { type: string; metadata: Record<string, string> }[];
    assert.equal(trigger.type, 'redis');
    assert.equal(trigger.metadata.listName, 'bull:captions:wait');
    assert.match(trigger.metadata.address, /^[^:/]+:\d+$/, 'KEDA wants host:port, not a URL');
    assert.equal(trigger.metadata.enableTLS, 'true');
    assert.match(trigger.metadata.listLength, /^\d+$/);
    assert.ok(so.spec.minReplicaCount >= 1 && so.spec.maxReplicaCount >= so.spec.minReplicaCount);
  });

  test('KEDA authenticates with the queue Redis password from the Secret', () => {
    const so = r.get('ScaledObject', WORKER);
    const ta = r.get('TriggerAuthentication', so.spec.triggers[0].authenticationRef.name as string);
    const [ref] = ta.spec.secretTargetRef as { parameter: string; name: string; key: string }[];
    assert.equal(ref.parameter, 'password');
    assert.ok(ref.key in r.decoded('Secret', ref.name), 'TriggerAuthentication points at a missing key');
  });

  test('the worker Deployment leaves its replica count to KEDA and has no HPA of its own', () => {
    assert.equal(r.workload('Deployment', WORKER).replicas, undefined);
    assert.equal(r.find('HorizontalPodAutoscaler', WORKER), undefined);
  });

  test('the listName follows QUEUE_NAME', () => {
    const other = render({
      files: ['gpu-keda-values.yaml'],
      values: [{ config: { QUEUE_NAME: 'captions-eu' } }],
    });
    assert.equal(
      other.get('ScaledObject', WORKER).spec.triggers[0].metadata.listName,
      'bull:captions-eu:wait',
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

  test('model from an existing (EFS) claim, no exporter', () => {
    const pod = r.workload('Deployment', WORKER).template.spec;
    assert.equal(
      pod.volumes?.find((v) => v.name === 'model')?.persistentVolumeClaim?.claimName,
      'captioner-models-efs',
    );
    assert.equal(pod.initContainers, undefined);
  });

  test('ALB ingress: class alb, health check on /health/ready, only /api and /docs routed', () => {
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
      ['/api', '/docs'],
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
      assert.equal(sm.metadata.labels?.release, 'kube-prometheus-stack');
      assert.equal(sm.spec.endpoints[0].port, port);
      assert.equal(sm.spec.endpoints[0].path, '/metrics');
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
    const scraper = [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
    ];
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

  test('the chart makes the model PVC, the exporter fills it, the worker mounts it read-only', () => {
    const pvc = r.get('PersistentVolumeClaim', `${FULLNAME}-model`);
    assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
    assert.equal(pvc.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    const pod = r.workload('Deployment', WORKER).template.spec;
    assert.equal(
      pod.volumes?.find((v) => v.name === 'model')?.persistentVolumeClaim?.claimName,
      `${FULLNAME}-model`,
    );
    const ex = pod.initContainers?.find((c) => c.name === 'model-export');
    assert.ok(ex);
    assert.match(ex.image, /^captioner-exporter:0\.1\.0$/);
    assert.match((ex.args ?? []).join(' '), /'--model' 'Salesforce\/blip-image-captioning-base'/);
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

  test('KEDA watches the in-chart queue Redis', () => {
    const so = r.get('ScaledObject', WORKER);
    assert.equal(so.spec.triggers[0].metadata.address, `${FULLNAME}-redis-queue:6379`);
    assert.equal(so.spec.minReplicaCount, 0);
  });

  test('only the api and worker pods may reach Redis', () => {
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
