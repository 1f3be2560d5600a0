import { Injectable, type ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { Observable } from 'rxjs';
import { AppError } from '../common/app-error';
import { AuthProblems } from './auth.problems';
import type { AuthenticatedSubject } from './authenticated-subject';
import { JWT_STRATEGY, JwksUnavailableError } from './jwt.strategy';

/** Where the early authentication hook (early-auth.hook.ts) leaves the subject it verified. */
export const VERIFIED_SUBJECT = Symbol('verifiedSubject');

export interface EarlyVerifiedRequest {
  [VERIFIED_SUBJECT]?: AuthenticatedSubject;
  user?: unknown;
}

/** The outcome of the strategy as the answer to the caller: the subject, or the 401/503 problem. */
export function subjectOrProblem(err: unknown, user: unknown, info: unknown): AuthenticatedSubject {
  if (err instanceof AppError) throw err;
  if (err) throw err;
  if (user) return user as AuthenticatedSubject;
  if (info instanceof JwksUnavailableError) throw AuthProblems.keysUnavailable();
  const { name, message } = (info ?? {}) as { name?: string; message?: string };
  if (message === 'No auth token') throw AuthProblems.unauthorized('missing');
  if (name === 'TokenExpiredError') throw AuthProblems.unauthorized('expired');
  throw AuthProblems.unauthorized('invalid');
}

/**
 * Verifies the Bearer token; every failure is a 401 problem with a WWW-Authenticate challenge. When the
 * early hook already verified it (before the body was read), its subject is taken as it is.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard(JWT_STRATEGY) {
  override canActivate(context: ExecutionContext): boolean | Promise<boolean> | Observable<boolean> {
    const request = context.switchToHttp().getRequest<EarlyVerifiedRequest>();
    const subject = request[VERIFIED_SUBJECT];
    if (subject !== undefined) {
      request.user = subject;
      return true;
    }
    return super.canActivate(context);
  }

  override handleRequest<TUser>(
    err: unknown,
    user: unknown,
    info: unknown,
    _context: ExecutionContext,
  ): TUser {
    return subjectOrProblem(err, user, info) as TUser;
  }
}
