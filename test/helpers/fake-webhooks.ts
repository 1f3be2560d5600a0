/** A scripted webhook receiver behind the WebhookSender port, for unit and medium tests of deliveries. */
import type { WebhookAttempt, WebhookDelivery, WebhookSender } from '../../src/webhooks/webhook-sender.port';

export class FakeWebhookSender implements WebhookSender {
  readonly attempts: WebhookDelivery[] = [];
  /** Status codes to answer, in order; 200 once exhausted. 0 = the connection is reset. */
  script: number[] = [];

  send(delivery: WebhookDelivery): Promise<WebhookAttempt> {
    this.attempts.push(delivery);
    const code = this.script.shift() ?? 200;
    if (code === 0) return Promise.resolve({ delivered: false, retryable: true, reason: 'connection reset' });
    const delivered = code >= 200 && code < 300;
    return Promise.resolve({ delivered, statusCode: code, retryable: true });
  }

  delivered(jobId: string): WebhookDelivery[] {
    return this.attempts.filter((d) => d.body.job_id === jobId);
  }
}
