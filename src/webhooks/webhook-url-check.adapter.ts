/**
 * The submission-time check of a client's webhook URL: form and policy, then a DNS resolution whose
 * every address must be allowed. It is a courtesy (a refused URL is a 400 now rather than a failed
 * delivery later); the sender checks again at connect time, where DNS rebinding cannot get past it.
 */
import { AppError } from '../common/app-error';
import type { AddressPolicy } from '../image/address-policy';
import { AddressRefusedError, resolveChecked, systemResolver, type Resolver } from '../image/safe-lookup';
import type { WebhookUrlCheck } from './webhook-sender.port';
import { checkWebhookUrl } from './webhook-address-policy';

export function webhookUrlRefused(detail: string): AppError {
  return new AppError({ code: 'webhook_url.refused', status: 400, title: 'webhook_url refused', detail });
}

export class WebhookUrlChecker implements WebhookUrlCheck {
  constructor(
    private readonly policy: AddressPolicy,
    /** False without WEBHOOK_SECRET: webhooks are off. */
    private readonly enabled: boolean,
    private readonly resolver: Resolver = systemResolver,
  ) {}

  async check(raw: string): Promise<void> {
    if (!this.enabled) {
      throw webhookUrlRefused('Webhooks are not enabled on this server (no WEBHOOK_SECRET is configured).');
    }
    const verdict = checkWebhookUrl(raw, this.policy);
    if (!verdict.ok) throw webhookUrlRefused(`webhook_url refused: ${verdict.reason}.`);
    if (verdict.literal) return;
    try {
      await resolveChecked(verdict.host, this.policy, this.resolver);
    } catch (err) {
      if (err instanceof AddressRefusedError) throw webhookUrlRefused(`webhook_url refused: ${err.reason}.`);
      const code = (err as { code?: string }).code ?? 'lookup failed';
      throw webhookUrlRefused(`webhook_url refused: the host ${verdict.host} does not resolve (${code}).`);
    }
  }
}
