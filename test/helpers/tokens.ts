/** Bearer tokens for tests, signed with jose and the test's own JWT_SECRET (HS256). */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

export const TEST_JWT_SECRET = 'e2e-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const TEST_ISSUER = 'captioner';
export const TEST_AUDIENCE = 'captioner-api';

export interface TokenOptions {
  sub?: string;
  scope?: string;
  issuer?: string;
  audience?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  secret?: string;
}

export function token(o: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: o.scope ?? 'caption:write caption:read' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.sub ?? `user-${randomUUID()}`)
    .setIssuer(o.issuer ?? TEST_ISSUER)
    .setAudience(o.audience ?? TEST_AUDIENCE)
    .setIssuedAt(now - 5)
    .setExpirationTime(now + (o.expiresIn ?? 600))
    .setJti(randomUUID())
    .sign(new TextEncoder().encode(o.secret ?? TEST_JWT_SECRET));
}

/** An unsigned token (`alg: none`) with otherwise valid claims. */
export function unsignedToken(sub = 'mallory'): string {
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({
    sub,
    scope: 'caption:write caption:read',
    iss: TEST_ISSUER,
    aud: TEST_AUDIENCE,
    iat: now,
    exp: now + 600,
  })}.`;
}

/** Headers for a request as this subject. */
export async function bearer(sub: string, scope?: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await token({ sub, scope })}` };
}
