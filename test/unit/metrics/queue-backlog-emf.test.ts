/** The worker's CloudWatch EMF publisher: the JSON shape CloudWatch Logs extracts metrics from, settings. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadSettings } from '../../../src/config/load-settings';
import { CloudWatchEmfSettings } from '../../../src/metrics/cloudwatch-emf.settings';
import {
  EMF_METRICS,
  QueueBacklogEmfService,
  queueBacklogEmfRecord,
} from '../../../src/metrics/queue-backlog-emf.service';

function settings(env: Record<string, string> = {}): CloudWatchEmfSettings {
  return loadSettings(CloudWatchEmfSettings, { CLOUDWATCH_EMF: 'true', ...env });
}

describe('EMF record', () => {
  test('follows the Embedded Metric Format: _aws directive, dimension and metric values at the top level', () => {
    const r = queueBacklogEmfRecord({ waiting: 5, active: 8 }, 'Captioner', 'captions', 1_700_000_000_123);
    assert.equal(r._aws.Timestamp, 1_700_000_000_123);
    assert.ok(Number.isInteger(r._aws.Timestamp), 'Timestamp is epoch milliseconds');
    const [directive] = r._aws.CloudWatchMetrics;
    assert.equal(r._aws.CloudWatchMetrics.length, 1);
    assert.equal(directive.Namespace, 'Captioner');
    assert.deepEqual(directive.Dimensions, [['QueueName']]);
    assert.deepEqual(
      directive.Metrics.map((m) => m.Name),
      ['QueueBacklog', 'QueueWaiting', 'QueueActive'],
    );
    for (const m of directive.Metrics) {
      assert.equal(m.Unit, 'Count');
      assert.equal(m.StorageResolution, 60);
    }
    // Every dimension key is a string member and every metric a number member of the root.
    const root = r as unknown as Record<string, unknown>;
    for (const d of directive.Dimensions.flat()) assert.equal(typeof root[d], 'string', d);
    for (const m of directive.Metrics) assert.equal(typeof root[m.Name], 'number', m.Name);
    assert.equal(r.QueueName, 'captions');
    assert.equal(r.QueueBacklog, 13, 'backlog = waiting + active');
    assert.equal(r.QueueWaiting, 5);
    assert.equal(r.QueueActive, 8);
    assert.equal(EMF_METRICS.backlog, 'QueueBacklog');
  });
});

describe('publisher', () => {
  test('one reading is one JSON line on the sink', async () => {
    const lines: string[] = [];
    const svc = new QueueBacklogEmfService(
      { counts: async () => ({ waiting: 2, active: 3, delayed: 9, failed: 1 }) },
      { settings: settings(), queueName: 'q1', write: (l) => lines.push(l), now: () => 42_000 },
    );
    await svc.publishOnce();
    assert.equal(lines.length, 1);
    assert.ok(lines[0].endsWith('\n'));
    assert.equal(lines[0].indexOf('\n'), lines[0].length - 1, 'exactly one line');
    const parsed = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.deepEqual(
      parsed,
      JSON.parse(JSON.stringify(queueBacklogEmfRecord({ waiting: 2, active: 3 }, 'Captioner', 'q1', 42_000))),
    );
  });

  test('a failed read writes nothing and does not throw', async () => {
    const lines: string[] = [];
    const svc = new QueueBacklogEmfService(
      { counts: () => Promise.reject(new Error('Connection is closed.')) },
      { settings: settings(), queueName: 'q', write: (l) => lines.push(l) },
    );
    await svc.publishOnce();
    assert.deepEqual(lines, []);
  });

  test('disabled: starting and stopping publish nothing', async () => {
    const lines: string[] = [];
    let reads = 0;
    const svc = new QueueBacklogEmfService(
      {
        counts: async () => {
          reads++;
          return { waiting: 1, active: 1, delayed: 0, failed: 0 };
        },
      },
      { settings: loadSettings(CloudWatchEmfSettings, {}), queueName: 'q', write: (l) => lines.push(l) },
    );
    svc.onApplicationBootstrap();
    await svc.onModuleDestroy();
    assert.equal(reads, 0);
    assert.deepEqual(lines, []);
  });

  test('enabled: publishes at start, and stopping waits for the line in progress', async () => {
    const lines: string[] = [];
    const svc = new QueueBacklogEmfService(
      { counts: async () => ({ waiting: 0, active: 4, delayed: 0, failed: 0 }) },
      { settings: settings(), queueName: 'q', write: (l) => lines.push(l) },
    );
    svc.onApplicationBootstrap();
    await svc.onModuleDestroy();
    assert.equal(lines.length, 1);
    assert.equal((JSON.parse(lines[0]) as { QueueBacklog: number }).QueueBacklog, 4);
  });
});

describe('settings', () => {
  test('defaults: off, namespace Captioner, every 60 s', () => {
    const s = loadSettings(CloudWatchEmfSettings, {});
    assert.equal(s.CLOUDWATCH_EMF, false);
    assert.equal(s.CLOUDWATCH_EMF_NAMESPACE, 'Captioner');
    assert.equal(s.CLOUDWATCH_EMF_INTERVAL_SECONDS, 60);
    assert.equal(settings({ CLOUDWATCH_EMF: 'yes' }).CLOUDWATCH_EMF, true);
  });

  test('bad values are refused, naming the variable', () => {
    for (const [name, value] of [
      ['CLOUDWATCH_EMF', 'maybe'],
      ['CLOUDWATCH_EMF_NAMESPACE', 'AWS/ECS'],
      ['CLOUDWATCH_EMF_NAMESPACE', 'bad{name}'],
      ['CLOUDWATCH_EMF_NAMESPACE', 'x'.repeat(256)],
      ['CLOUDWATCH_EMF_INTERVAL_SECONDS', '5'],
      ['CLOUDWATCH_EMF_INTERVAL_SECONDS', 'soon'],
    ]) {
      assert.throws(
        () => loadSettings(CloudWatchEmfSettings, { [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.variables.includes(name),
        `${name}=${value}`,
      );
    }
  });
});
