/**
 * Queue events (BullMQ QueueEvents, through the @QueueEventsListener host) fanned out to whoever waits in
 * this process. A plain class so the waiting adapter does not depend on the listener's generated class.
 */
export type QueueEventKind = 'completed' | 'failed';

export interface QueueEvent {
  kind: QueueEventKind;
  jobId: string;
  returnvalue?: unknown;
}

export class JobEvents {
  private readonly listeners = new Set<(event: QueueEvent) => void>();

  subscribe(listener: (event: QueueEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: QueueEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
