/** Signs test tokens with jose, including the hostile ones of the JWT table. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { AUDIENCE, ISSUER, TEST_SECRET } from './test-app';

export interface TokenOptions {
  sub?: string;
  scope?: string;
  scp?: string[];
  iss?: string;
  aud?: string;
  /** Seconds from now; negative for an expired token; null for no exp at all. */
  expiresIn?: number | null;
  /** Seconds from now. */
  notBefore?: number;
  extra?: JWTPayload;
}

function payload(o: TokenOptions): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    ...o.extra,
    ...(o.scope !== undefined ? { scope: o.scope } : {}),
    ...(o.scp !== undefined ? { scp: o.scp } : {}),
    sub: o.sub ?? 'alice',
    iss: o.iss ?? ISSUER,
    aud: o.aud ?? AUDIENCE,
    iat: now,
    ...(o.expiresIn === null ? {} : { exp: now + (o.expiresIn ?? 600) }),
    ...(o.notBefore !== undefined ? { nbf: now + o.notBefore } : {}),
  };
}

export function hs256(o: TokenOptions = {}, secret = TEST_SECRET): Promise<string> {
  return new SignJWT(payload(o))
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

export function signWith(
  key: KeyObject,
  alg: 'RS256' | 'ES256',
  o: TokenOptions = {},
  kid?: string,
): Promise<string> {
  return new SignJWT(payload(o)).setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) }).sign(key);
}

/** An unsigned token (`alg: none`), which must never be accepted. */
export function unsigned(o: TokenOptions = {}): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload(o))}.`;
}

/** HS256 with the RSA public key's PEM as the HMAC secret: the classic algorithm-confusion attack. */
export function hs256WithPublicKey(publicPem: string, o: TokenOptions = {}): Promise<string> {
  return new SignJWT(payload(o))
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(publicPem));
}

export function rsaKeyPair(): {
  publicKey: KeyObject;
  privateKey: KeyObject;
  publicPem: string;
  privatePem: string;
} {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKey,
    privateKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function ecKeyPair(): {
  publicKey: KeyObject;
  privateKey: KeyObject;
  publicPem: string;
  privatePem: string;
} {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    publicKey,
    privateKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
