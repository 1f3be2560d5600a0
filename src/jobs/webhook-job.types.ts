/** Webhook deliveries as jobs: what a client subscribed, what a delivery job carries, what it shows. */
import type { WebhookEvent } from '../webhooks/webhook-sender.port';

export interface WebhookSubscription {
  url: string;
  events: WebhookEvent[];
}

export interface WebhookJobData {
  /** The public job id the event is about, and its owner (the body is the owner's job document). */
  jobId: string;
  subject: string;
  event: WebhookEvent;
  url: string;
}

/** The `webhook` member of the job document. */
export interface WebhookStatus {
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code?: number;
}

/** The delivery job id: one per public job and event, so duplicates (replicas, retries) join. */
export function webhookJobId(jobId: string, event: WebhookEvent): string {
  return `wh-${jobId}-${event}`;
}
