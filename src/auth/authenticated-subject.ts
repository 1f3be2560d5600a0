/** The caller, as the JWT strategy puts it on `request.user`. */
export interface AuthenticatedSubject {
  /** The token's `sub`: owner of jobs, key of rate limits. */
  sub: string;
  scopes: string[];
}

/** Scopes from `scope` (space-separated string, RFC 8693) and/or `scp` (array or string). */
export function scopesOf(payload: { scope?: unknown; scp?: unknown }): string[] {
  const out = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string') value.split(' ').forEach((s) => s && out.add(s));
    else if (Array.isArray(value)) value.forEach((s) => typeof s === 'string' && add(s));
  };
  add(payload.scope);
  add(payload.scp);
  return [...out];
}
