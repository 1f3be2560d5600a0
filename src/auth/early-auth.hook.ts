/**
 * Authentication before the body: a Fastify onRequest hook verifies the Bearer token of every request to
 * a route guarded by @Auth() (marked by its Fastify route config) with the same passport-jwt strategy as
 * the guard, before Fastify reads the body. A request without a valid token is answered 401 problem+json at once and its
 * connection closed, so an anonymous client cannot make the server receive, buffer or parse its body.
 * The verified subject is left on the request for JwtAuthGuard, so the token is verified once; scopes
 * and the rate limit stay with the guards.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Strategy } from 'passport-strategy';
import { AppError } from '../common/app-error';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../common/problem/problem';
import { subjectOrProblem, VERIFIED_SUBJECT, type EarlyVerifiedRequest } from './jwt-auth.guard';

/** The Fastify route config @Auth() sets on its routes. */
export const EARLY_AUTH_ROUTE_CONFIG = { authenticateBeforeBody: true } as const;

function isAuthenticatedRoute(request: FastifyRequest): boolean {
  const config = request.routeOptions.config as { authenticateBeforeBody?: boolean } | undefined;
  return config?.authenticateBeforeBody === true;
}

interface Outcome {
  err?: unknown;
  user?: unknown;
  info?: unknown;
}

/** Runs a passport strategy on a request the way passport's middleware does, as a promise. */
export function runStrategy(strategy: Strategy, request: unknown): Promise<Outcome> {
  return new Promise((resolve) => {
    const attempt = Object.create(strategy) as Strategy & Record<string, unknown>;
    attempt.success = (user: unknown) => resolve({ user });
    attempt.fail = (info: unknown) => resolve({ info });
    attempt.error = (err: unknown) => resolve({ err });
    attempt.pass = () => resolve({});
    attempt.redirect = () => resolve({});
    try {
      attempt.authenticate(request as never, {});
    } catch (err) {
      resolve({ err });
    }
  });
}

function refuse(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const { problem } = error;
  return reply
    .code(problem.status)
    .headers(problem.headers ?? {})
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('connection', 'close')
    .send(problemBody(problem, { instance: request.url.split('?')[0], requestId: request.id }));
}

export function installEarlyAuth(fastify: FastifyInstance, strategy: Strategy): void {
  fastify.addHook('onRequest', async (request, reply) => {
    if (reply.sent || !isAuthenticatedRoute(request)) return;
    const { err, user, info } = await runStrategy(strategy, request);
    try {
      (request as unknown as EarlyVerifiedRequest)[VERIFIED_SUBJECT] = subjectOrProblem(err, user, info);
    } catch (problem) {
      // Anything unexpected is left to the guard, which runs the strategy again inside Nest, so it
      // reaches the problem filter (a 500 with an error id, logged once) like any other error.
      if (!(problem instanceof AppError)) return;
      // The body (if any) is never parsed: the answer's Connection: close ends the connection once it is
      // out (lingering, so a client still sending gets the 401, not a reset: bootstrap/lingering-close).
      return refuse(request, reply, problem);
    }
  });
}
