/**
 * One delivery attempt, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC-SHA256>` over `id.timestamp.body`, by the `standardwebhooks`
 * package) and POSTed with undici under image_url's address policy: literal IPs judged before, host
 * names at connect time on every resolved address (DNS rebinding cannot pass), no redirect followed.
 * Answers: 2xx delivered; 410 Gone and a refused address are final; any other status (a 3xx
 * included), a timeout, a reset or a refused connection is worth a retry.
 */
import type { OnModuleDestroy } from '@nestjs/common';
import { request, type Agent } from 'undici';
import { Webhook } from 'standardwebhooks';
import type { AddressPolicy } from '../image/address-policy';
import { AddressRefusedError, createGuardedAgent, type Resolver } from '../image/safe-lookup';
import type { WebhookAttempt, WebhookDelivery, WebhookSender } from './webhook-sender.port';
import { checkWebhookUrl } from './webhook-address-policy';

export interface WebhookSenderOptions {
  /** `whsec_...`; undefined: every attempt fails, not retryable (webhooks are off). */
  secret: string | undefined;
  timeoutMs: number;
  policy: AddressPolicy;
  resolver?: Resolver;
}

export const WEBHOOK_USER_AGENT = 'captioner-webhooks/1';

export class StandardWebhookSender implements WebhookSender, OnModuleDestroy {
  private readonly agent: Agent;
  private readonly signer: Webhook | undefined;

  constructor(private readonly options: WebhookSenderOptions) {
    this.signer = options.secret === undefined ? undefined : new Webhook(options.secret);
    this.agent = createGuardedAgent({
      policy: options.policy,
      resolver: options.resolver,
      timeoutMs: options.timeoutMs,
      keepAliveTimeout: 4000,
      connections: 32,
    });
  }

  async send(delivery: WebhookDelivery): Promise<WebhookAttempt> {
    if (this.signer === undefined) {
      return { delivered: false, retryable: false, reason: 'webhooks are off (no WEBHOOK_SECRET)' };
    }
    const verdict = checkWebhookUrl(delivery.url, this.options.policy);
    if (!verdict.ok)
      return { delivered: false, retryable: false, reason: `address refused: ${verdict.reason}` };
    const payload = JSON.stringify(delivery.body);
    const now = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': WEBHOOK_USER_AGENT,
      'webhook-id': delivery.id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': this.signer.sign(delivery.id, now, payload),
    };
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const res = await request(verdict.url, {
        dispatcher: this.agent,
        method: 'POST',
        headers,
        body: payload,
        signal,
      });
      await res.body.dump().catch(() => undefined); // the receiver's body is never read or kept
      return classify(res.statusCode);
    } catch (err) {
      return failure(err, signal, this.options.timeoutMs);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }
}

function classify(statusCode: number): WebhookAttempt {
  if (statusCode >= 200 && statusCode <= 299) return { delivered: true, statusCode, retryable: false };
  if (statusCode >= 300 && statusCode <= 399) {
    return { delivered: false, statusCode, retryable: true, reason: `redirect (${statusCode}) not followed` };
  }
  // 410 Gone: the receiver says the endpoint is no more; anything else may be passing.
  return { delivered: false, statusCode, retryable: statusCode !== 410, reason: `HTTP ${statusCode}` };
}

function failure(err: unknown, signal: AbortSignal, timeoutMs: number): WebhookAttempt {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof AddressRefusedError) {
      return { delivered: false, retryable: false, reason: `address refused: ${e.reason}` };
    }
  }
  if (signal.aborted)
    return { delivered: false, retryable: true, reason: `no answer within ${timeoutMs} ms` };
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  return { delivered: false, retryable: true, reason: `connection failed: ${code ?? message}` };
}
