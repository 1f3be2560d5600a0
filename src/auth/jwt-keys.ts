/**
 * Which key verifies tokens and which algorithms it allows. The algorithm list is derived from the key
 * type, never from the token, so a token cannot choose `none` or HS256-with-the-public-key.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

export type VerificationAlgorithm = 'HS256' | 'RS256' | 'ES256';

export type KeyVerification =
  | { kind: 'secret'; algorithms: ['HS256']; secret: string }
  | { kind: 'public-key'; algorithms: ['RS256'] | ['ES256']; key: KeyObject }
  | { kind: 'jwks'; algorithms: VerificationAlgorithm[]; url: URL };

/** PEM from an environment variable: accepts real newlines or `\n` escapes (one-line .env values). */
export function normalizePem(value: string): string {
  return value.includes('\\n') ? value.replace(/\\n/g, '\n') : value;
}

/** The one algorithm an asymmetric key allows: RSA -> RS256, EC P-256 -> ES256; anything else throws. */
export function algorithmForKey(key: KeyObject): 'RS256' | 'ES256' {
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new Error(`an RSA key must have at least 2048 bits (this one has ${bits})`);
    return 'RS256';
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(
    `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}${
      key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''
    }: use RSA (RS256) or EC P-256 (ES256)`,
  );
}

export function parsePublicKey(pem: string): { key: KeyObject; algorithm: 'RS256' | 'ES256' } {
  const key = createPublicKey(normalizePem(pem));
  return { key, algorithm: algorithmForKey(key) };
}

export function parsePrivateKey(pem: string): { key: KeyObject; algorithm: 'RS256' | 'ES256' } {
  const key = createPrivateKey(normalizePem(pem));
  return { key, algorithm: algorithmForKey(key) };
}
