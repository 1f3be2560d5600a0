/**
 * Graceful shutdown for the HTTP side. Nest's app.close() awaits the adapter's beforeClose() before any
 * OnModuleDestroy hook runs, so this is where the API stops taking work and lets in-flight requests finish
 * while Redis, the queue and the model are still there. New requests meanwhile get a 503 problem; the
 * liveness probe keeps answering so the orchestrator does not kill a draining pod. Requests still
 * waiting at the drain timeout (a sync caption whose job is slow) are answered 503 then, so the server
 * can close at once: otherwise Fastify's close waits for them, past the grace period, and the pod is
 * killed with their connections. Their jobs stay queued; a retry joins them.
 */
import { Logger } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyServerOptions } from 'fastify';
import { CommonProblems, PROBLEM_CONTENT_TYPE, problemBody } from '../common/problem/problem';

export type AdapterOptions = FastifyServerOptions & { multipart?: false };

/** Paths answered normally while draining. */
const SERVED_WHILE_DRAINING = new Set(['/health/live']);

export class DrainingFastifyAdapter extends FastifyAdapter {
  private readonly drainLogger = new Logger('Shutdown');
  private draining = false;
  private inFlight = 0;
  private readonly replies = new Set<FastifyReply>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    options: AdapterOptions,
    private readonly drainTimeoutMs: number,
  ) {
    super(options);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get inFlightRequests(): number {
    return this.inFlight;
  }

  /**
   * Counts requests and refuses new ones while draining. Installed after the security headers, so refusals
   * carry the security headers too.
   */
  installDrainHook(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, reply, done) => {
      if (this.draining && !SERVED_WHILE_DRAINING.has(request.url.split('?')[0] ?? '')) {
        const problem = CommonProblems.shuttingDown();
        void reply
          .code(problem.status)
          .headers(problem.headers ?? {})
          .header('content-type', PROBLEM_CONTENT_TYPE)
          .send(problemBody(problem, { instance: request.url.split('?')[0], requestId: request.id }));
        return;
      }
      this.inFlight += 1;
      this.replies.add(reply);
      let counted = true;
      const finished = (): void => {
        if (!counted) return;
        counted = false;
        this.inFlight -= 1;
        this.replies.delete(reply);
        if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
      };
      reply.raw.once('finish', finished);
      reply.raw.once('close', finished);
      done();
    });
  }

  // Nest's HttpServer contract lets beforeClose() return a promise and awaits it (FastifyAdapter's typing
  // says void only because its own implementation is synchronous).
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  override async beforeClose(): Promise<void> {
    super.beforeClose();
    if (this.draining) return;
    this.draining = true;
    if (this.inFlight === 0) return;
    this.drainLogger.log(`draining ${this.inFlight} in-flight request(s), at most ${this.drainTimeoutMs} ms`);
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.drainTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!drained) {
      this.drainLogger.warn(`drain timeout: answering ${this.inFlight} request(s) still in flight with 503`);
      this.cutOff();
    }
  }

  /** Answers every request still in flight with the shutting-down 503 (or drops it if it is streaming). */
  private cutOff(): void {
    for (const reply of [...this.replies]) {
      if (reply.sent || reply.raw.headersSent) {
        reply.raw.destroy();
        continue;
      }
      const problem = CommonProblems.shuttingDown();
      const path = reply.request.url.split('?')[0];
      void reply
        .code(problem.status)
        .headers(problem.headers ?? {})
        .header('content-type', PROBLEM_CONTENT_TYPE)
        .send(problemBody(problem, { instance: path, requestId: reply.request.id }));
    }
  }
}
