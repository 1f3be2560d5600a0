import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { AuthenticatedSubject } from '../auth/authenticated-subject';

/**
 * Rate limit per token subject (never per IP: behind proxies the IP is shared, and X-Forwarded-For is
 * the client's to forge). Runs after JwtAuthGuard, inside @Auth(). A 429 carries Retry-After and the
 * X-RateLimit-* headers.
 */
@Injectable()
export class SubjectThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const subject = req.user as AuthenticatedSubject | undefined;
    if (!subject?.sub) throw new Error('SubjectThrottlerGuard needs an authenticated subject: use @Auth()');
    return `sub:${subject.sub}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const { res } = this.getRequestResponse(context);
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    this.setResponseHeader(res, 'Retry-After', retryAfter);
    this.setResponseHeader(res, `${this.headerPrefix}-Limit`, detail.limit);
    this.setResponseHeader(res, `${this.headerPrefix}-Remaining`, 0);
    this.setResponseHeader(res, `${this.headerPrefix}-Reset`, retryAfter);
    await super.throwThrottlingException(context, detail);
  }
}
