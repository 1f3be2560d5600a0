import { inspect } from 'node:util';
import {
  IsInt,
  IsOptional,
  Max,
  Min,
  IsString,
  MinLength,
  registerDecorator,
  type ValidationArguments,
} from 'class-validator';
import { Secret } from '../config/secret.decorator';
import { parsePrivateKey, parsePublicKey, type KeyVerification } from './jwt-keys';

const KEY_SOURCES = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL'] as const;
type KeySource = (typeof KEY_SOURCES)[number];
const MIN_SECRET_LENGTH = 32;

function setSources(o: AuthSettings): KeySource[] {
  return KEY_SOURCES.filter((k) => o[k] !== undefined && o[k] !== '');
}

/** Why the value of one key source is wrong, or undefined when it is fine. */
function keySourceProblem(source: KeySource, o: AuthSettings): string | undefined {
  const set = setSources(o);
  const value = o[source];
  if (set.length === 0) {
    // Reported once, on JWT_SECRET, naming all three.
    return source === 'JWT_SECRET' ? `exactly one of ${KEY_SOURCES.join(', ')} must be set` : undefined;
  }
  if (value === undefined) return undefined;
  if (set.length > 1) return `only one of ${set.join(', ')} may be set`;
  if (typeof value !== 'string') return 'must be a string';
  switch (source) {
    case 'JWT_SECRET':
      return value.length < MIN_SECRET_LENGTH
        ? `must be at least ${MIN_SECRET_LENGTH} characters (HS256 needs a long random secret)`
        : undefined;
    case 'JWT_PUBLIC_KEY':
      try {
        parsePublicKey(value);
        return undefined;
      } catch (err) {
        return `must be a PEM public key: ${(err as Error).message}`;
      }
    case 'JWT_JWKS_URL': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return 'must be an absolute https:// (or http:// for a local issuer) URL';
      }
      return url.protocol === 'https:' || url.protocol === 'http:'
        ? undefined
        : 'must be an absolute https:// (or http:// for a local issuer) URL';
    }
  }
}

function KeySourceRule(source: KeySource): PropertyDecorator {
  return (target: object, propertyName: string | symbol): void => {
    registerDecorator({
      name: 'jwtKeySource',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (_: unknown, args: ValidationArguments): boolean =>
          keySourceProblem(source, args.object as AuthSettings) === undefined,
        defaultMessage: (args?: ValidationArguments): string =>
          args ? (keySourceProblem(source, args.object as AuthSettings) ?? 'is invalid') : 'is invalid',
      },
    });
  };
}

function PrivateKeyRule(): PropertyDecorator {
  return (target: object, propertyName: string | symbol): void => {
    let problem = 'is invalid';
    registerDecorator({
      name: 'jwtPrivateKey',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown): boolean => {
          if (value === undefined) return true;
          try {
            parsePrivateKey(String(value));
            return true;
          } catch (err) {
            problem = `must be a PEM private key: ${(err as Error).message}`;
            return false;
          }
        },
        defaultMessage: (): string => problem,
      },
    });
  };
}

/**
 * How bearer tokens are verified: exactly one of an HS256 secret, an RS256/ES256 public key (PEM) or a
 * JWKS URL; plus the issuer and audience every token must carry. JWT_PRIVATE_KEY is read only by the
 * token CLI (`npm run token`) to sign development tokens for an asymmetric setup.
 */
export class AuthSettings {
  @Secret()
  @KeySourceRule('JWT_SECRET')
  JWT_SECRET?: string = undefined;

  @KeySourceRule('JWT_PUBLIC_KEY')
  JWT_PUBLIC_KEY?: string = undefined;

  @KeySourceRule('JWT_JWKS_URL')
  JWT_JWKS_URL?: string = undefined;

  @Secret()
  @IsOptional()
  @PrivateKeyRule()
  JWT_PRIVATE_KEY?: string = undefined;

  @IsString()
  @MinLength(1)
  JWT_ISSUER = 'captioner';

  @IsString()
  @MinLength(1)
  JWT_AUDIENCE = 'captioner-api';

  /**
   * Clock skew allowed between the token issuer and this server, in seconds: for exp, nbf and an iat in
   * the future (a token issued "later than now" beyond this is refused).
   */
  @IsInt()
  @Min(0)
  @Max(300)
  JWT_CLOCK_SKEW_SECONDS = 5;

  /**
   * Longest token lifetime accepted (exp - iat), in seconds; 0 accepts any. When set, tokens must carry
   * iat as well as exp.
   */
  @IsInt()
  @Min(0)
  @Max(31_536_000)
  JWT_MAX_LIFETIME_SECONDS = 0;

  /** The verification key and the algorithms it allows (call only on validated settings). */
  verification(): KeyVerification {
    if (this.JWT_SECRET) return { kind: 'secret', algorithms: ['HS256'], secret: this.JWT_SECRET };
    if (this.JWT_PUBLIC_KEY) {
      const { key, algorithm } = parsePublicKey(this.JWT_PUBLIC_KEY);
      return { kind: 'public-key', algorithms: [algorithm], key };
    }
    if (this.JWT_JWKS_URL)
      return { kind: 'jwks', algorithms: ['RS256', 'ES256'], url: new URL(this.JWT_JWKS_URL) };
    throw new Error('AuthSettings: no verification key configured');
  }

  /** Secrets stay out of logs and error dumps, whoever prints the settings object. */
  toJSON(): Record<string, unknown> {
    return {
      JWT_SECRET: this.JWT_SECRET ? '[hidden]' : undefined,
      JWT_PUBLIC_KEY: this.JWT_PUBLIC_KEY ? '[set]' : undefined,
      JWT_JWKS_URL: this.JWT_JWKS_URL,
      JWT_PRIVATE_KEY: this.JWT_PRIVATE_KEY ? '[hidden]' : undefined,
      JWT_ISSUER: this.JWT_ISSUER,
      JWT_AUDIENCE: this.JWT_AUDIENCE,
      JWT_CLOCK_SKEW_SECONDS: this.JWT_CLOCK_SKEW_SECONDS,
      JWT_MAX_LIFETIME_SECONDS: this.JWT_MAX_LIFETIME_SECONDS,
    };
  }

  [inspect.custom](): Record<string, unknown> {
    return this.toJSON();
  }
}
