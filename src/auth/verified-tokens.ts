/**
 * Tokens this process has verified, so that a client sending the same token again does not pay for the
 * signature and claims checks on every request (HMAC/RSA, base64 and JSON: ~8% of the API's CPU on a
 * cache hit). Only for a key fixed at start-up (JWT_SECRET or JWT_PUBLIC_KEY): what the token proves
 * cannot change then, except through time, so every time rule is checked again on each use, with the
 * same comparisons as jsonwebtoken and timeProblem(); a token that fails one is verified again in full
 * (and so refused with the same answer as before). With JWKS a key can be withdrawn: not cached.
 */
import type { AuthenticatedSubject } from './authenticated-subject';

/** The claims whose meaning depends on the time of use. */
export interface TokenTimes {
  exp: number;
  nbf?: number;
  iat?: number;
}

interface Entry {
  subject: AuthenticatedSubject;
  times: TokenTimes;
}

export class VerifiedTokens {
  private readonly entries = new Map<string, Entry>();

  constructor(
    /** JWT_CLOCK_SKEW_SECONDS: jsonwebtoken's clockTolerance and the allowance of a future iat. */
    private readonly skewSeconds: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The subject of a token verified before that still passes every time rule now, as a fresh copy. */
  get(token: string, nowSeconds = Math.floor(Date.now() / 1000)): AuthenticatedSubject | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (!this.inTime(entry.times, nowSeconds)) {
      this.entries.delete(token);
      return undefined;
    }
    return { sub: entry.subject.sub, scopes: [...entry.subject.scopes] };
  }

  set(token: string, subject: AuthenticatedSubject, times: TokenTimes): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(token)) {
      // The oldest first (a Map iterates in insertion order).
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(token, { subject: { sub: subject.sub, scopes: [...subject.scopes] }, times });
  }

  /** jsonwebtoken's exp and nbf checks with clockTolerance, and timeProblem()'s future iat. */
  private inTime(times: TokenTimes, now: number): boolean {
    if (now >= times.exp + this.skewSeconds) return false;
    if (times.nbf !== undefined && times.nbf > now + this.skewSeconds) return false;
    if (times.iat !== undefined && times.iat > now + this.skewSeconds) return false;
    return true;
  }
}
