/**
 * The API's view of the caption queue's events (@nestjs/bullmq QueueEventsHost): completions and failures
 * wake synchronous requests waiting on a job (BullMqJobQueue.waitForResult). The queue's name is a
 * setting, so the decorated class is made when JobsModule is defined (captionQueueEventsListener).
 */
import { Inject, Injectable, Logger, type Type } from '@nestjs/common';
import { OnQueueEvent, QueueEventsHost, QueueEventsListener } from '@nestjs/bullmq';
import { JobEvents } from './job-events';

@Injectable()
export abstract class CaptionQueueEventsHost extends QueueEventsHost {
  private readonly logger = new Logger('CaptionQueueEvents');
  private lastWarn = 0;

  constructor(@Inject(JobEvents) private readonly events: JobEvents) {
    super();
  }

  @OnQueueEvent('completed')
  onCompleted({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }): void {
    this.events.emit({ kind: 'completed', jobId, returnvalue });
  }

  // Also fires for attempts that will be retried: the waiter re-reads the job to know if it is final.
  @OnQueueEvent('failed')
  onFailed({ jobId }: { jobId: string }): void {
    this.events.emit({ kind: 'failed', jobId });
  }

  /** Connection errors repeat on every reconnect attempt during an outage: one line per 5 s. */
  @OnQueueEvent('error')
  onError(err: Error): void {
    const now = Date.now();
    if (now - this.lastWarn < 5000) return;
    this.lastWarn = now;
    this.logger.warn(`queue events: ${err.message}`);
  }
}

/** The listener class for the queue named `queueName` (BullMQ name, from RedisSettings.QUEUE_NAME). */
export function captionQueueEventsListener(queueName: string): Type<CaptionQueueEventsHost> {
  @QueueEventsListener(queueName, { autorun: true })
  class CaptionQueueEventsListener extends CaptionQueueEventsHost {}
  return CaptionQueueEventsListener;
}
