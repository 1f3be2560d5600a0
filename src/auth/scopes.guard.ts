import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthProblems } from './auth.problems';
import type { AuthenticatedSubject } from './authenticated-subject';

export const REQUIRED_SCOPES = 'captioner:required-scopes';

/** 403 unless the token carries every scope the route requires (@Auth(...scopes)). Runs after JwtAuthGuard. */
@Injectable()
export class ScopesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required =
      this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_SCOPES, [
        context.getHandler(),
        context.getClass(),
      ]) ?? [];
    const subject = context.switchToHttp().getRequest<{ user?: AuthenticatedSubject }>().user;
    if (!subject) throw AuthProblems.unauthorized('missing');
    const missing = required.filter((scope) => !subject.scopes.includes(scope));
    if (missing.length > 0) throw AuthProblems.forbidden(missing);
    return true;
  }
}
