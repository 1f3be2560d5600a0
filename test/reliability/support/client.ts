/**
 * The e2e ApiClient with two checks on EVERY answer the reliability suite receives (issue 6 item 14):
 * the security headers of @fastify/helmet (HSTS, nosniff, frame-ancestors) and `Cache-Control:
 * no-store`, whatever the status (503 while draining, 413, 415, 429 ... included). It also remembers the
 * bearer tokens it sent, so the log greps can look for every one of them.
 */
import assert from 'node:assert/strict';
import { assertProblem } from '../../e2e/support/api-suite';
import { ApiClient, type Answer } from '../../e2e/support/http';

export { assertProblem };

/** Every bearer token any client of this process sent. */
export const sentTokens = new Set<string>();
/** Status codes seen, for the figures. */
export const statusesSeen = new Map<number, number>();

export function assertHardened(a: Answer, what: string): void {
  const h = a.headers;
  assert.match(h.get('strict-transport-security') ?? '', /max-age=\d+/, `${what}: no HSTS (${a.status})`);
  assert.equal(h.get('x-content-type-options'), 'nosniff', `${what}: no nosniff (${a.status})`);
  assert.match(
    h.get('content-security-policy') ?? '',
    /frame-ancestors 'none'/,
    `${what}: no frame-ancestors (${a.status})`,
  );
  assert.equal(h.get('cache-control'), 'no-store', `${what}: cache-control (${a.status})`);
}

export class CheckedClient extends ApiClient {
  override async request(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: string | Uint8Array } = {},
  ): Promise<Answer> {
    const auth = init.headers?.authorization ?? init.headers?.Authorization;
    if (auth?.startsWith('Bearer ')) sentTokens.add(auth.slice('Bearer '.length));
    const a = await super.request(method, path, init);
    statusesSeen.set(a.status, (statusesSeen.get(a.status) ?? 0) + 1);
    assertHardened(a, `${method} ${path}`);
    return a;
  }
}

/** A 4xx problem+json with a detail that says something (the e2e check plus the status range). */
export function assertClientProblem(a: Answer, what: string): void {
  assert.ok(
    a.status >= 400 && a.status < 500,
    `${what}: ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`,
  );
  assertProblem(a, a.status);
  assert.ok(String(a.body.detail).length > 10, `${what}: detail too vague: ${String(a.body.detail)}`);
}
