/** The worker's handle on its queue consumers: start them after warm-up, close them at shutdown. */
import type { CaptionQueueConsumer } from './caption-queue.processor';

export class QueueConsumers {
  constructor(private readonly consumers: readonly CaptionQueueConsumer[]) {}

  async start(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.start()));
  }

  async close(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.close()));
  }
}
