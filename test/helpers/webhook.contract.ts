/** Webhook deliveries as jobs, the same for both job queue adapters (fake receiver, real queues). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobQueue } from '../../src/jobs/job-queue.port';
import { FakeProcessor, jobData } from './job-queue.contract';
import { FakeWebhookSender } from './fake-webhooks';
import { waitFor } from './time';

export type MakeWebhookQueue = (
  processor: FakeProcessor,
  sender: FakeWebhookSender,
) => Promise<{ queue: JobQueue; cleanup(): Promise<void> }>;

/** Adapters are made with WEBHOOK_MAX_ATTEMPTS = 4 and WEBHOOK_BACKOFF_MS = 100. */
export function webhookContract(
  adapter: string,
  make: MakeWebhookQueue,
  skip: () => string | undefined = () => undefined,
): void {
  const it = (
    name: string,
    fn: (queue: JobQueue, p: FakeProcessor, s: FakeWebhookSender) => Promise<void>,
  ): void => {
    test(`${adapter} webhooks: ${name}`, { timeout: 60_000 }, async (t) => {
      const reason = skip();
      if (reason !== undefined) return t.skip(reason);
      const processor = new FakeProcessor();
      const sender = new FakeWebhookSender();
      const { queue, cleanup } = await make(processor, sender);
      try {
        await fn(queue, processor, sender);
      } finally {
        await cleanup();
      }
    });
  };

  it('started and completed are delivered once each; the body is the job document', async (queue, processor, sender) => {
    const data = jobData({ delayMs: 300 }, processor);
    const job = await queue.enqueue(data);
    const id = await queue.claim(job, 'alice', data.cacheKey, {
      url: 'https://hooks.example.com/captions',
      events: ['started', 'completed'],
    });
    const both = await waitFor('both deliveries', () => {
      const d = sender.delivered(id);
      return d.length >= 2 && d.some((x) => x.event === 'completed') ? d : undefined;
    });
    assert.deepEqual(both.map((d) => d.event).sort(), ['completed', 'started']);
    const completed = both.find((d) => d.event === 'completed');
    assert.equal(completed?.body.status, 'success');
    assert.equal(completed?.url, 'https://hooks.example.com/captions');
    assert.deepEqual(completed?.body.captions, [
      { text: `caption of ${data.sha256.slice(0, 8)}`, confidence: 0.5 },
    ]);
    assert.notEqual(both[0].id, both[1].id);
    const view = await waitFor('the delivery state', async () => {
      const v = await queue.status(id, 'alice');
      return v?.webhook?.status === 'delivered' ? v : undefined;
    });
    assert.equal(view.webhook?.last_status_code, 200);
  });

  it('a receiver answering 500 and resetting is retried until it takes it; the caption is not delayed', async (queue, _processor, sender) => {
    sender.script = [500, 0, 503];
    const data = jobData();
    const job = await queue.enqueue(data);
    const id = await queue.claim(job, 'alice', data.cacheKey, {
      url: 'https://hooks.example.com/x',
      events: ['completed'],
    });
    assert.equal((await queue.waitForResult(job, 10_000)).status, 'success');
    const view = await waitFor(
      'the delivery after retries',
      async () => {
        const v = await queue.status(id, 'alice');
        return v?.webhook?.status === 'delivered' ? v : undefined;
      },
      30_000,
    );
    assert.equal(view.status, 'success');
    assert.equal(view.webhook?.attempts, 4);
    assert.equal(sender.delivered(id).length, 4);
    assert.equal(new Set(sender.delivered(id).map((d) => d.id)).size, 1); // one webhook-id across retries
  });

  it('a receiver that never takes it: given up after the attempts, shown failed with its last status', async (queue, _processor, sender) => {
    sender.script = [500, 500, 500, 500, 500];
    const data = jobData();
    const job = await queue.enqueue(data);
    const id = await queue.claim(job, 'alice', data.cacheKey, {
      url: 'https://hooks.example.com/x',
      events: ['completed'],
    });
    const view = await waitFor(
      'the delivery to be given up',
      async () => {
        const v = await queue.status(id, 'alice');
        return v?.webhook?.status === 'failed' ? v : undefined;
      },
      30_000,
    );
    assert.deepEqual(view.webhook, { status: 'failed', attempts: 4, last_status_code: 500 });
    assert.equal(view.status, 'success');
  });

  it('a canceled job says so in its completed webhook', async (queue, processor, sender) => {
    const data = jobData({ delayMs: 1500 }, processor);
    const job = await queue.enqueue(data);
    const id = await queue.claim(job, 'alice', data.cacheKey, {
      url: 'https://hooks.example.com/x',
      events: ['completed'],
    });
    assert.deepEqual(await queue.cancel(id, 'alice'), { canceled: true });
    const d = await waitFor('the completed delivery', () =>
      sender.delivered(id).find((x) => x.event === 'completed'),
    );
    assert.equal(d.body.status, 'canceled');
    await queue.waitForResult(job, 10_000);
    assert.equal(sender.delivered(id).filter((x) => x.event === 'completed').length, 1);
  });
}
