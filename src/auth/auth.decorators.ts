import {
  applyDecorators,
  createParamDecorator,
  SetMetadata,
  UseGuards,
  type ExecutionContext,
} from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiProblemResponse } from '../common/problem/api-problem.decorator';
import { SubjectThrottlerGuard } from '../throttling/subject-throttler.guard';
import type { AuthenticatedSubject } from './authenticated-subject';
import { EARLY_AUTH_ROUTE_CONFIG } from './early-auth.hook';
import { JwtAuthGuard } from './jwt-auth.guard';
import { REQUIRED_SCOPES, ScopesGuard } from './scopes.guard';

/** Name of the bearer security scheme in the OpenAPI document. */
export const BEARER_SCHEME = 'bearer';

/**
 * Guards a route or controller: a valid Bearer JWT (401), then the per-subject rate limit (429), then
 * every listed scope (403). Also documents the scheme and the three error answers in OpenAPI. On a
 * method, the token is verified before the body is read (early-auth.hook.ts); on a class, by the guard.
 */
export function Auth(...scopes: string[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_SCOPES, scopes),
    RouteConfig(EARLY_AUTH_ROUTE_CONFIG),
    UseGuards(JwtAuthGuard, SubjectThrottlerGuard, ScopesGuard),
    ApiBearerAuth(BEARER_SCHEME),
    ApiProblemResponse(401, 'Missing, malformed, expired or otherwise invalid Bearer token', {
      code: 'auth.unauthorized',
      title: 'Unauthorized',
      detail: 'The access token has expired.',
    }),
    ApiProblemResponse(403, 'The token lacks a required scope', {
      code: 'auth.insufficient_scope',
      title: 'Forbidden',
      detail: `The access token lacks the scope ${scopes[0] ?? 'caption:write'}.`,
      extra: { required_scopes: scopes.length > 0 ? scopes : ['caption:write'] },
    }),
    ApiProblemResponse(429, 'Rate limit of the token subject exceeded (see Retry-After)', {
      code: 'rate_limit.exceeded',
      title: 'Too many requests',
      detail: 'The rate limit of this client was exceeded; retry after the number of seconds in Retry-After.',
    }),
  );
}

/** The `sub` of the verified token (use on routes guarded by @Auth). */
export const CurrentSubject = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const subject = context.switchToHttp().getRequest<{ user?: AuthenticatedSubject }>().user;
  if (!subject) throw new Error('@CurrentSubject() used on a route without @Auth()');
  return subject.sub;
});
