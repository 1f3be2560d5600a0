/**
 * The Idempotency-Key request header (IETF httpapi draft "The Idempotency-Key HTTP Header Field"): a
 * Structured Field string (`"..."`); a bare token is accepted too, as most clients send one. The key is
 * 1-255 printable ASCII characters. And the request fingerprint the key is bound to.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../common/app-error';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

function invalidKey(detail: string): AppError {
  return new AppError({
    code: 'idempotency.invalid_key',
    status: 400,
    title: 'Invalid Idempotency-Key',
    detail,
  });
}

/** The key of the header, undefined without one; a malformed header is a 400 problem. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw invalidKey('Send one Idempotency-Key header, not several.');
  let key = header.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    key = key.slice(1, -1).replace(/\\(["\\])/g, '$1');
  }
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !PRINTABLE_ASCII.test(key)) {
    throw invalidKey(
      `An Idempotency-Key is 1-${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters (e.g. a UUID).`,
    );
  }
  return key;
}

/** JSON with object members in a stable order, undefined members dropped. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What makes two requests "the same request": the image's sha256 and every other request field. */
export function requestFingerprint(imageSha256: string, fields: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonical({ image: imageSha256, ...fields }))
    .digest('hex');
}

/** The store key: per subject (one client's key never meets another's), hashed to a fixed length. */
export function idempotencyStoreKey(subject: string, key: string): string {
  const digest = createHash('sha256').update(subject).update('\0').update(key).digest('hex');
  return `captioner:idempotency:${digest}`;
}
