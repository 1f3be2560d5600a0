/**
 * Where Idempotency-Key records live: Redis in queue mode (every API replica sees them), memory in
 * embedded mode. A record is the request's fingerprint, and once answered, the answer to replay.
 */
export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY_STORE');

export interface StoredAnswer {
  statusCode: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface IdempotencyRecord {
  fingerprint: string;
  /** Absent while the first request with the key is still being answered. */
  answer?: StoredAnswer;
}

export interface IdempotencyStore {
  /**
   * Atomically records `fingerprint` as in progress under `key` for `leaseSeconds`, unless a record is
   * there: then returns that record (and changes nothing). Undefined means this call took the key.
   * Rejects when the store cannot answer.
   */
  begin(key: string, fingerprint: string, leaseSeconds: number): Promise<IdempotencyRecord | undefined>;
  /** Stores the answer under `key` for `ttlSeconds` (replacing the in-progress record). */
  complete(key: string, record: Required<IdempotencyRecord>, ttlSeconds: number): Promise<void>;
  /** Drops the in-progress record of `fingerprint` (its request failed: the key may be used again). */
  release(key: string, fingerprint: string): Promise<void>;
}
