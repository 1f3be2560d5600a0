/**
 * passport-jwt strategy: Bearer header only (never the query string), algorithms pinned to the
 * configured key, issuer and audience required, exp required, nbf honoured and a future iat refused with
 * JWT_CLOCK_SKEW_SECONDS of tolerance, an optional longest lifetime (JWT_MAX_LIFETIME_SECONDS), and no
 * critical header extension (RFC 7515 section 4.1.11: this server understands none).
 */
import { createSecretKey, KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { createRemoteJWKSet, decodeProtectedHeader } from 'jose';
import { Strategy, type SecretOrKeyProvider, type StrategyOptionsWithoutRequest } from 'passport-jwt';
import { AuthProblems } from './auth.problems';
import { AuthSettings } from './auth.settings';
import { scopesOf, type AuthenticatedSubject } from './authenticated-subject';
import type { KeyVerification } from './jwt-keys';
import { VerifiedTokens, type TokenTimes } from './verified-tokens';

export const JWT_STRATEGY = 'jwt';
const MAX_SUBJECT_LENGTH = 256;
/** JWS header extensions this server understands and processes: none (so any `crit` is refused). */
const UNDERSTOOD_CRITICAL_HEADERS: ReadonlySet<string> = new Set();

/** What jsonwebtoken hands to validate() with `complete: true`. */
export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown> | string;
}

/**
 * RFC 7515 section 4.1.11: `crit` lists header parameters the recipient must understand; an empty list,
 * a non-string, a name absent from the header or one this server does not understand makes it invalid.
 */
export function criticalHeadersUnderstood(header: Record<string, unknown>): boolean {
  const { crit } = header;
  if (crit === undefined) return true;
  if (!Array.isArray(crit) || crit.length === 0) return false;
  return crit.every(
    (name) => typeof name === 'string' && name in header && UNDERSTOOD_CRITICAL_HEADERS.has(name),
  );
}

/** Why the token's times are refused (beyond what jsonwebtoken checks: exp, nbf), or undefined. */
export function timeProblem(
  payload: Record<string, unknown>,
  settings: Pick<AuthSettings, 'JWT_CLOCK_SKEW_SECONDS' | 'JWT_MAX_LIFETIME_SECONDS'>,
  nowSeconds = Math.floor(Date.now() / 1000),
): string | undefined {
  const { iat, exp } = payload;
  // jsonwebtoken accepts a token without exp; this API does not (a leaked token must die).
  if (typeof exp !== 'number') return 'no exp';
  if (iat !== undefined && typeof iat !== 'number') return 'iat is not a number';
  if (typeof iat === 'number' && iat > nowSeconds + settings.JWT_CLOCK_SKEW_SECONDS)
    return 'iat in the future';
  if (settings.JWT_MAX_LIFETIME_SECONDS > 0) {
    if (typeof iat !== 'number') return 'no iat';
    if (exp - iat > settings.JWT_MAX_LIFETIME_SECONDS) return 'lifetime too long';
  }
  return undefined;
}

/**
 * RFC 6750 section 2.1: the scheme (any case), spaces, one b64token, nothing else. passport-jwt's own
 * extractor takes the first two words, so `Bearer <token> anything` passed.
 */
const BEARER_CREDENTIALS = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function bearerToken(request: { headers: IncomingHttpHeaders }): string | null {
  const header = request.headers.authorization;
  return typeof header === 'string' ? (BEARER_CREDENTIALS.exec(header)?.[1] ?? null) : null;
}

/** The JWKS endpoint did not answer: a 503, not the caller's fault. */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

function jwksKeyProvider(verification: Extract<KeyVerification, { kind: 'jwks' }>): SecretOrKeyProvider {
  const jwks = createRemoteJWKSet(verification.url, { timeoutDuration: 3000, cooldownDuration: 30_000 });
  return (_request, rawJwtToken, done) => {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(String(rawJwtToken));
    } catch (err) {
      done(err as Error);
      return;
    }
    if (!header.alg || !(verification.algorithms as string[]).includes(header.alg)) {
      done(new Error(`algorithm ${String(header.alg)} is not allowed`));
      return;
    }
    jwks(header).then(
      (key) => done(null, keyMaterial(KeyObject.from(key))),
      (err: unknown) => {
        const code = (err as { code?: string }).code;
        // No matching key is the token's problem; a timeout or a failed fetch is ours.
        done(
          code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS'
            ? (err as Error)
            : new JwksUnavailableError(String(code ?? err)),
        );
      },
    );
  };
}

/**
 * The verification key as a KeyObject, built once. jsonwebtoken re-parses any other key material on every
 * verify, and for an HS256 secret it first tries `createPublicKey` and catches the error: that cost 25%
 * of the API's CPU on the cache-hit path. passport-jwt types the key as string | Buffer but hands it to
 * jsonwebtoken unchanged, which takes a KeyObject as it is.
 */
function keyMaterial(key: KeyObject): string {
  return key as unknown as string;
}

export function strategyOptions(settings: AuthSettings): StrategyOptionsWithoutRequest {
  const verification = settings.verification();
  const common = {
    jwtFromRequest: bearerToken,
    ignoreExpiration: false,
    algorithms: verification.algorithms,
    issuer: settings.JWT_ISSUER,
    audience: settings.JWT_AUDIENCE,
    // complete: validate() gets the header too (for `crit`).
    jsonWebTokenOptions: { clockTolerance: settings.JWT_CLOCK_SKEW_SECONDS, complete: true },
  };
  switch (verification.kind) {
    case 'secret':
      return { ...common, secretOrKey: keyMaterial(createSecretKey(Buffer.from(verification.secret))) };
    case 'public-key':
      return { ...common, secretOrKey: keyMaterial(verification.key) };
    case 'jwks':
      return { ...common, secretOrKeyProvider: jwksKeyProvider(verification) };
  }
}

type AuthenticateArgs = Parameters<Strategy['authenticate']>;

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  /** Undefined with JWKS (see verified-tokens.ts). Plain members: passport runs a per-request Object.create(this). */
  private readonly verified: VerifiedTokens | undefined;
  private readonly timesOf = new WeakMap<AuthenticatedSubject, TokenTimes>();

  constructor(private readonly settings: AuthSettings) {
    super(strategyOptions(settings));
    this.verified =
      settings.verification().kind === 'jwks'
        ? undefined
        : new VerifiedTokens(settings.JWT_CLOCK_SKEW_SECONDS);
  }

  /** A token verified before and still in time succeeds at once; a newly verified one is remembered. */
  override authenticate(req: AuthenticateArgs[0], options?: AuthenticateArgs[1]): void {
    const verified = this.verified;
    const token = verified === undefined ? null : bearerToken(req);
    if (verified !== undefined && token !== null) {
      const subject = verified.get(token);
      if (subject !== undefined) {
        this.success(subject);
        return;
      }
      const success = this.success.bind(this);
      this.success = (user: AuthenticatedSubject, info?: object) => {
        const times = this.timesOf.get(user);
        if (times !== undefined) verified.set(token, user, times);
        success(user, info);
      };
    }
    super.authenticate(req, options);
  }

  /** Runs after the signature, algorithm, iss, aud, exp and nbf checks passed. */
  validate(decoded: DecodedJwt): AuthenticatedSubject {
    const { header, payload } = decoded;
    if (typeof payload !== 'object' || payload === null) throw AuthProblems.unauthorized('invalid');
    if (!criticalHeadersUnderstood(header)) throw AuthProblems.unauthorized('invalid');
    if (timeProblem(payload, this.settings) !== undefined) throw AuthProblems.unauthorized('invalid');
    const { sub } = payload;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) {
      throw AuthProblems.unauthorized('invalid');
    }
    const subject = { sub, scopes: scopesOf(payload) };
    // exp is a number (timeProblem), nbf and iat numbers when present (jsonwebtoken, timeProblem).
    this.timesOf.set(subject, {
      exp: payload.exp as number,
      ...(typeof payload.nbf === 'number' ? { nbf: payload.nbf } : {}),
      ...(typeof payload.iat === 'number' ? { iat: payload.iat } : {}),
    });
    return subject;
  }
}
