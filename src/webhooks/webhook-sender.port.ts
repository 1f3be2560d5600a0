/**
 * The webhook sender port: one signed delivery attempt of a job event to a client's URL (Standard
 * Webhooks). The jobs module schedules and retries deliveries on a durable queue; the webhooks module
 * signs, connects under the address policy, and classifies the answer.
 */
export const WEBHOOK_SENDER = Symbol('WEBHOOK_SENDER');

export const WEBHOOK_EVENTS = ['started', 'completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookDelivery {
  /** `webhook-id`: the same across retries of one event, so receivers can de-duplicate. */
  id: string;
  url: string;
  event: WebhookEvent;
  /** The job document of `GET /api/v1/caption/{id}`, sent as the JSON body. */
  body: Record<string, unknown>;
}

export interface WebhookAttempt {
  /** The receiver answered 2xx. */
  delivered: boolean;
  statusCode?: number;
  /** False when retrying cannot help (the address policy refused the URL at connect time). */
  retryable: boolean;
  /** A short reason for logs and the job document; never the receiver's body. */
  reason?: string;
}

export interface WebhookSender {
  send(delivery: WebhookDelivery): Promise<WebhookAttempt>;
}

/** Checks a client's webhook URL at submission; throws an AppError (400) naming what is wrong. */
export const WEBHOOK_URL_CHECK = Symbol('WEBHOOK_URL_CHECK');

export interface WebhookUrlCheck {
  check(url: string): Promise<void>;
}
