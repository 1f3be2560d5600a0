/**
 * Coded domain errors. Modules throw AppError (or their own coded errors mapped in problem.filter);
 * one global filter renders them as RFC 9457 problem+json.
 */
export interface ProblemShape {
  /** Stable machine code, also the last segment of the problem `type` URI. */
  code: string;
  status: number;
  title: string;
  detail: string;
  /** Extra members for the problem body (e.g. `retry_after`). */
  extra?: Record<string, unknown>;
  /** Extra response headers (e.g. Retry-After). */
  headers?: Record<string, string>;
}

export class AppError extends Error {
  constructor(readonly problem: ProblemShape) {
    super(problem.detail);
    this.name = 'AppError';
  }
}
