/**
 * The typed job map: job name -> data and result, the one place a job kind is declared, and the
 * handler table that gives every name exactly one handler. A consumer (BullMQ worker or the in-process
 * runner) dispatches by name through JobHandlers; building it without a handler for some name fails at
 * start-up, naming the job.
 */
import type { WebhookAttempt } from '../webhooks/webhook-sender.port';
import type { CaptionJobData, CaptionJobResult } from './caption-job.types';
import type { WebhookJobData } from './webhook-job.types';

export const CAPTION_JOB = 'caption' as const;
export const WEBHOOK_JOB = 'webhook' as const;

export interface JobMap {
  [CAPTION_JOB]: { data: CaptionJobData; result: CaptionJobResult };
  /** One delivery of a job event to the client's URL (retried with backoff on its own queue). */
  [WEBHOOK_JOB]: { data: WebhookJobData; result: WebhookAttempt };
}

export type JobName = keyof JobMap;

/** Every job name, for the start-up check (a name added to JobMap must be added here: typed below). */
export const JOB_NAMES: readonly JobName[] = [CAPTION_JOB, WEBHOOK_JOB] satisfies readonly JobName[];

/** What a handler learns about the job beyond its data. */
export interface JobContext {
  /** The queue's job id. */
  id: string;
  /** 1 for the first run. */
  attempt: number;
}

export type JobHandler<N extends JobName> = (
  data: JobMap[N]['data'],
  context: JobContext,
) => Promise<JobMap[N]['result']>;

export type JobHandlerTable = { [N in JobName]: JobHandler<N> };

export class MissingJobHandlerError extends Error {}

export class JobHandlers {
  private readonly table: Partial<JobHandlerTable>;

  /** Throws, naming the job, when a name of JobMap (among `names`) has no handler. */
  constructor(table: Partial<JobHandlerTable>, names: readonly JobName[] = JOB_NAMES) {
    for (const name of names) {
      if (typeof table[name] !== 'function') {
        throw new MissingJobHandlerError(`no handler for job "${name}": every job name needs exactly one`);
      }
    }
    this.table = { ...table };
  }

  has(name: string): name is JobName {
    return Object.prototype.hasOwnProperty.call(this.table, name);
  }

  run<N extends JobName>(
    name: N,
    data: JobMap[N]['data'],
    context: JobContext,
  ): Promise<JobMap[N]['result']> {
    const handler = this.table[name] as JobHandler<N> | undefined;
    if (handler === undefined) throw new MissingJobHandlerError(`no handler for job "${name}"`);
    return handler(data, context);
  }
}
