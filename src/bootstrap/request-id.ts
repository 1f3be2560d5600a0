import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { redactJwts } from '../common/logging/redaction';

/** An incoming X-Request-Id is kept only if it is short and plain, so it can go into logs and headers. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's genReqId: honour a sane incoming X-Request-Id (a proxy's or the client's), else a UUID. */
export function requestIdFor(req: { headers: IncomingHttpHeaders }): string {
  const incoming = req.headers['x-request-id'];
  // A token-shaped id would be logged and echoed: refused like any other odd one.
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) && redactJwts(incoming) === incoming
    ? incoming
    : randomUUID();
}
