/** RFC 9457 problem details as this API writes them. */
import type { ProblemShape } from '../app-error';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Problem types are URNs ending with the stable code; they identify, they are not meant to be fetched. */
export const PROBLEM_TYPE_PREFIX = 'urn:captioner:problem:';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  request_id?: string;
  [extra: string]: unknown;
}

export function problemType(code: string): string {
  return `${PROBLEM_TYPE_PREFIX}${code}`;
}

/** The body of a problem; the standard members win over same-named extras. */
export function problemBody(
  problem: ProblemShape,
  context: { instance?: string; requestId?: string },
): ProblemBody {
  return {
    ...problem.extra,
    type: problemType(problem.code),
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    ...(context.instance !== undefined ? { instance: context.instance } : {}),
    ...(context.requestId !== undefined ? { request_id: context.requestId } : {}),
  };
}

/** Problem shapes shared by several modules. */
export const CommonProblems = {
  unavailable: (detail: string): ProblemShape => ({
    code: 'service.unavailable',
    status: 503,
    title: 'Service unavailable',
    detail,
  }),
  shuttingDown: (): ProblemShape => ({
    code: 'service.shutting_down',
    status: 503,
    title: 'Service unavailable',
    detail: 'The server is shutting down; retry the request.',
    headers: { 'Retry-After': '1', Connection: 'close' },
  }),
};
