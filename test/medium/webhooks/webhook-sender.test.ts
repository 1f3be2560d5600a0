/**
 * The webhook sender over real HTTP on loopback: a receiver verifies the Standard Webhooks signature with
 * the `standardwebhooks` verifier; 500, a timeout, a reset and a redirect are retryable failures (the
 * redirect not followed); a private address without the allowlist is refused, not retryable, at connect
 * time too (a host name that resolves to loopback); the allowlisted loopback is delivered to.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { StandardWebhookSender } from '../../../src/webhooks/standard-webhook-sender.adapter';
import { webhookPolicy } from '../../../src/webhooks/webhook-address-policy';
import type { WebhookDelivery } from '../../../src/webhooks/webhook-sender.port';
import { WebhookReceiver } from '../../helpers/webhook-receiver';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
let receiver: WebhookReceiver;
let allowed: StandardWebhookSender;
let strict: StandardWebhookSender;

before(async () => {
  receiver = await WebhookReceiver.start();
  allowed = new StandardWebhookSender({ secret, timeoutMs: 1500, policy: webhookPolicy('127.0.0.1/32', '') });
  strict = new StandardWebhookSender({ secret, timeoutMs: 1500, policy: webhookPolicy('', '') });
});

after(async () => {
  await allowed.close();
  await strict.close();
  await receiver.close();
});

function delivery(host = '127.0.0.1'): WebhookDelivery {
  return {
    id: `msg_${randomUUID()}`,
    url: `http://${host}:${receiver.port}/hooks/captioner`,
    event: 'completed',
    body: {
      status: 'success',
      job_id: randomUUID(),
      captions: [{ text: 'a dog — 日本語', confidence: 0.8 }],
    },
  };
}

test('delivered: signed per Standard Webhooks, verified by the standardwebhooks verifier', async () => {
  receiver.behaviour = 'ok';
  const d = delivery();
  const attempt = await allowed.send(d);
  assert.deepEqual(attempt, { delivered: true, statusCode: 204, retryable: false });
  const got = receiver.received.at(-1);
  assert.ok(got);
  assert.equal(got.headers['webhook-id'], d.id);
  assert.match(String(got.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
  assert.equal(got.headers['content-type'], 'application/json');
  const headers = {
    'webhook-id': String(got.headers['webhook-id']),
    'webhook-timestamp': String(got.headers['webhook-timestamp']),
    'webhook-signature': String(got.headers['webhook-signature']),
  };
  assert.deepEqual(new Webhook(secret).verify(got.body, headers), d.body);
  // Another secret, or a body changed on the way, does not verify.
  const other = `whsec_${randomBytes(32).toString('base64')}`;
  assert.throws(() => new Webhook(other).verify(got.body, headers));
  assert.throws(() => new Webhook(secret).verify(got.body.replace('dog', 'cat'), headers));
});

test('a receiver answering 500 is a retryable failure with its status code', async () => {
  receiver.behaviour = 'error';
  const attempt = await allowed.send(delivery());
  assert.equal(attempt.delivered, false);
  assert.equal(attempt.retryable, true);
  assert.equal(attempt.statusCode, 500);
});

test(
  'a receiver that does not answer in WEBHOOK_TIMEOUT_MS is a retryable failure',
  { timeout: 30_000 },
  async () => {
    receiver.behaviour = 'silent';
    const attempt = await allowed.send(delivery());
    assert.equal(attempt.delivered, false);
    assert.equal(attempt.retryable, true);
    assert.match(attempt.reason ?? '', /no answer within 1500 ms|timeout/i);
  },
);

test('a receiver that resets the connection is a retryable failure', async () => {
  receiver.behaviour = 'reset';
  const attempt = await allowed.send(delivery());
  assert.equal(attempt.delivered, false);
  assert.equal(attempt.retryable, true);
  assert.match(attempt.reason ?? '', /connection failed/);
});

test('a redirect is not followed: a failed attempt, and nothing reaches the target', async () => {
  receiver.behaviour = 'redirect';
  const before = receiver.received.length;
  const attempt = await allowed.send(delivery());
  assert.equal(attempt.delivered, false);
  assert.equal(attempt.statusCode, 302);
  assert.match(attempt.reason ?? '', /redirect/);
  assert.equal(receiver.received.length, before + 1);
  assert.ok(receiver.received.every((r) => r.headers.host !== undefined));
});

test('loopback without the allowlist is refused, not retryable, and never contacted', async () => {
  receiver.behaviour = 'ok';
  const before = receiver.received.length;
  const literal = await strict.send(delivery('127.0.0.1'));
  assert.equal(literal.delivered, false);
  assert.equal(literal.retryable, false);
  assert.match(literal.reason ?? '', /address refused: .*loopback/);
  // A host name is judged at connect time, on the address it resolves to.
  const named = await strict.send(delivery('localhost'));
  assert.equal(named.delivered, false);
  assert.equal(named.retryable, false);
  assert.match(named.reason ?? '', /address refused/);
  assert.equal(receiver.received.length, before);
});

test('without a secret nothing is sent', async () => {
  const off = new StandardWebhookSender({
    secret: undefined,
    timeoutMs: 1000,
    policy: webhookPolicy('127.0.0.1/32', ''),
  });
  try {
    const before = receiver.received.length;
    const attempt = await off.send(delivery());
    assert.deepEqual([attempt.delivered, attempt.retryable], [false, false]);
    assert.equal(receiver.received.length, before);
  } finally {
    await off.close();
  }
});
