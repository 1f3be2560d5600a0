/**
 * One webhook delivery attempt, as a job (WEBHOOK_JOB): reads the public job's document as its owner
 * sees it now (so a job canceled while running says `canceled`), hands it to the WebhookSender port
 * (signing, the address policy and the HTTP call are the webhooks module's), records the outcome on the
 * job (`webhook: {status, attempts, last_status_code}`) and lets the queue retry a failed attempt with
 * exponential backoff up to WEBHOOK_MAX_ATTEMPTS. It never touches captions: a slow, failing, resetting
 * or redirecting receiver only delays its own delivery job.
 */
import type { WebhookAttempt, WebhookSender } from '../webhooks/webhook-sender.port';
import type { JobView } from './caption-job.types';
import type { JobDocument } from './job-document';
import type { JobContext } from './job-map';
import { WebhookFailedError } from './job.errors';
import { webhookJobId, type WebhookJobData, type WebhookStatus } from './webhook-job.types';

export interface WebhookDeliveryDeps {
  sender: WebhookSender;
  /** The owner's current view of the job, undefined once it is no longer known. */
  view(jobId: string, subject: string): Promise<JobView | undefined>;
  document(jobId: string, view: JobView): Promise<JobDocument>;
  /** Stores the delivery state shown in the job document. */
  record(jobId: string, status: WebhookStatus): Promise<void>;
  maxAttempts: number;
  /** 'delivered' | 'retried' | 'failed' per attempt outcome. */
  observe?: (outcome: string) => void;
}

export class WebhookDeliveryHandler {
  constructor(private readonly deps: WebhookDeliveryDeps) {}

  async deliver(data: WebhookJobData, context: JobContext): Promise<WebhookAttempt> {
    const d = this.deps;
    const view = await d.view(data.jobId, data.subject);
    if (view === undefined) {
      d.observe?.('failed');
      throw new WebhookFailedError('the job is no longer known', false);
    }
    const body = await d.document(data.jobId, { ...view, webhook: undefined });
    let attempt: WebhookAttempt;
    try {
      attempt = await d.sender.send({
        id: webhookJobId(data.jobId, data.event),
        url: data.url,
        event: data.event,
        body: body as unknown as Record<string, unknown>,
      });
    } catch (err) {
      attempt = {
        delivered: false,
        retryable: true,
        reason: err instanceof Error ? err.message : String(err),
      };
    }
    const last = !attempt.retryable || context.attempt >= d.maxAttempts;
    const status: WebhookStatus = {
      status: attempt.delivered ? 'delivered' : last ? 'failed' : 'pending',
      attempts: context.attempt,
      ...(attempt.statusCode !== undefined ? { last_status_code: attempt.statusCode } : {}),
    };
    await d.record(data.jobId, status).catch(() => undefined);
    if (attempt.delivered) {
      d.observe?.('delivered');
      return attempt;
    }
    d.observe?.(last ? 'failed' : 'retried');
    throw new WebhookFailedError(
      attempt.reason ?? `receiver answered ${attempt.statusCode ?? 'nothing'}`,
      attempt.retryable,
    );
  }
}
