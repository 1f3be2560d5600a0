import { Injectable, type ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { AppError } from '../common/app-error';
import { AuthProblems } from './auth.problems';
import { JWT_STRATEGY, JwksUnavailableError } from './jwt.strategy';

/** Verifies the Bearer token; every failure is a 401 problem with a WWW-Authenticate challenge. */
@Injectable()
export class JwtAuthGuard extends AuthGuard(JWT_STRATEGY) {
  override handleRequest<TUser>(
    err: unknown,
    user: unknown,
    info: unknown,
    _context: ExecutionContext,
  ): TUser {
    if (err instanceof AppError) throw err;
    if (err) throw err;
    if (user) return user as TUser;
    if (info instanceof JwksUnavailableError) throw AuthProblems.keysUnavailable();
    const { name, message } = (info ?? {}) as { name?: string; message?: string };
    if (message === 'No auth token') throw AuthProblems.unauthorized('missing');
    if (name === 'TokenExpiredError') throw AuthProblems.unauthorized('expired');
    throw AuthProblems.unauthorized('invalid');
  }
}
