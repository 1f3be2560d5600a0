/**
 * Publishes the queue's backlog, waiting + active, as a CloudWatch metric through Embedded Metric Format
 * log lines (worker, CLOUDWATCH_EMF=true). ECS has no KEDA: its target-tracking policy divides this
 * metric by the running task count (docs/deploy-ecs.md), the same ceil((waiting + active) / batch) the
 * Helm chart's ScaledObject computes. Every worker prints the same queue-wide value; CloudWatch keeps
 * one series per QueueName. A failed read prints nothing (no stale figure) and is logged.
 */
import { Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { JobQueueHealth, QueueCounts } from '../jobs/job-queue.port';
import type { CloudWatchEmfSettings } from './cloudwatch-emf.settings';

export const EMF_METRICS = {
  backlog: 'QueueBacklog',
  waiting: 'QueueWaiting',
  active: 'QueueActive',
} as const;

export interface EmfRecord {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: 'Count'; StorageResolution: 60 }[];
    }[];
  };
  QueueName: string;
  QueueBacklog: number;
  QueueWaiting: number;
  QueueActive: number;
}

/** The EMF record of one reading (the JSON shape CloudWatch Logs extracts metrics from). */
export function queueBacklogEmfRecord(
  counts: Pick<QueueCounts, 'waiting' | 'active'>,
  namespace: string,
  queueName: string,
  timestampMs: number,
): EmfRecord {
  return {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [['QueueName']],
          Metrics: Object.values(EMF_METRICS).map((Name) => ({ Name, Unit: 'Count', StorageResolution: 60 })),
        },
      ],
    },
    QueueName: queueName,
    QueueBacklog: counts.waiting + counts.active,
    QueueWaiting: counts.waiting,
    QueueActive: counts.active,
  };
}

export interface QueueBacklogEmfOptions {
  settings: CloudWatchEmfSettings;
  queueName: string;
  /** Where a line goes; stdout (one JSON object per line, as the awslogs driver ships it) by default. */
  write?: (line: string) => void;
  now?: () => number;
}

export class QueueBacklogEmfService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(QueueBacklogEmfService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly write: (line: string) => void;
  private readonly now: () => number;

  constructor(
    private readonly queue: Pick<JobQueueHealth, 'counts'>,
    private readonly options: QueueBacklogEmfOptions,
  ) {
    this.write = options.write ?? ((line) => void process.stdout.write(line));
    this.now = options.now ?? Date.now;
  }

  onApplicationBootstrap(): void {
    const { settings } = this.options;
    if (!settings.CLOUDWATCH_EMF) return;
    this.logger.log(
      `publishing ${EMF_METRICS.backlog} (waiting + active) to CloudWatch namespace ` +
        `${settings.CLOUDWATCH_EMF_NAMESPACE} every ${settings.CLOUDWATCH_EMF_INTERVAL_SECONDS} s (EMF)`,
    );
    void this.tick();
    this.timer = setInterval(() => void this.tick(), settings.CLOUDWATCH_EMF_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One reading and one line; never throws. Resolves when the line is written (or skipped). */
  publishOnce(): Promise<void> {
    this.running ??= this.publish().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async tick(): Promise<void> {
    await this.publishOnce();
  }

  private async publish(): Promise<void> {
    try {
      const counts = await this.queue.counts();
      const record = queueBacklogEmfRecord(
        counts,
        this.options.settings.CLOUDWATCH_EMF_NAMESPACE,
        this.options.queueName,
        this.now(),
      );
      this.write(`${JSON.stringify(record)}\n`);
    } catch (err) {
      this.logger.warn(`queue backlog not published: ${(err as Error).message}`);
    }
  }
}
