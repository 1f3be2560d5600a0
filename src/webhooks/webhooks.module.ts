/**
 * webhooks: signed delivery attempts of job events to clients' URLs (WEBHOOK_SENDER, Standard
 * Webhooks over undici under image_url's address policy) and the submission check of those URLs
 * (WEBHOOK_URL_CHECK). Scheduling and retries belong to the jobs module's delivery queue.
 */
import { Global, Module } from '@nestjs/common';
import { provideSettings } from '../config/provide-settings';
import { ImageSettings } from '../image/image.settings';
import { StandardWebhookSender } from './standard-webhook-sender.adapter';
import {
  WEBHOOK_SENDER,
  WEBHOOK_URL_CHECK,
  type WebhookSender,
  type WebhookUrlCheck,
} from './webhook-sender.port';
import { WebhookSettings } from './webhook.settings';
import { webhookPolicy } from './webhook-address-policy';
import { WebhookUrlChecker } from './webhook-url-check.adapter';

// Global: the jobs module (deliveries, both modes) and captioning (the URL check) both need it.
@Global()
@Module({
  providers: [
    provideSettings(WebhookSettings),
    provideSettings(ImageSettings),
    {
      provide: WEBHOOK_SENDER,
      inject: [WebhookSettings, ImageSettings],
      useFactory: (settings: WebhookSettings, image: ImageSettings): WebhookSender =>
        new StandardWebhookSender({
          secret: settings.WEBHOOK_SECRET,
          timeoutMs: settings.WEBHOOK_TIMEOUT_MS,
          policy: webhookPolicy(settings.WEBHOOK_ALLOWLIST, image.URL_FETCH_DENYLIST),
        }),
    },
    {
      provide: WEBHOOK_URL_CHECK,
      inject: [WebhookSettings, ImageSettings],
      useFactory: (settings: WebhookSettings, image: ImageSettings): WebhookUrlCheck =>
        new WebhookUrlChecker(
          webhookPolicy(settings.WEBHOOK_ALLOWLIST, image.URL_FETCH_DENYLIST),
          settings.WEBHOOK_SECRET !== undefined,
        ),
    },
  ],
  exports: [WEBHOOK_SENDER, WEBHOOK_URL_CHECK],
})
export class WebhooksModule {}
