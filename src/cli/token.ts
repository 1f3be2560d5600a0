/**
 * `npm run token -- --sub alice --scope "caption:write caption:read" [--ttl 3600]`
 * Prints a signed development token, and nothing else, on stdout: HS256 with JWT_SECRET, or RS256/ES256
 * with JWT_PRIVATE_KEY; issuer and audience from the settings.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { AuthSettings } from '../auth/auth.settings';
import { parsePrivateKey } from '../auth/jwt-keys';
import { ConfigError, loadSettings } from '../config/load-settings';

const usage = 'usage: npm run token -- --sub SUBJECT [--scope "caption:write caption:read"] [--ttl SECONDS]';
const MAX_TTL_SECONDS = 30 * 24 * 3600;

export async function signDevelopmentToken(
  settings: AuthSettings,
  claims: { sub: string; scope: string; ttlSeconds: number },
): Promise<string> {
  const jwt = new SignJWT({ scope: claims.scope })
    .setSubject(claims.sub)
    .setIssuer(settings.JWT_ISSUER)
    .setAudience(settings.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSeconds}s`)
    .setJti(randomUUID());
  if (settings.JWT_PRIVATE_KEY) {
    const { key, algorithm } = parsePrivateKey(settings.JWT_PRIVATE_KEY);
    return jwt.setProtectedHeader({ alg: algorithm, typ: 'JWT' }).sign(key);
  }
  if (settings.JWT_SECRET) {
    return jwt
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(settings.JWT_SECRET));
  }
  throw new Error('set JWT_SECRET (HS256) or JWT_PRIVATE_KEY (RS256/ES256) to sign tokens');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      scope: { type: 'string', default: 'caption:write caption:read' },
      ttl: { type: 'string', default: '3600' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stderr.write(`${usage}\n`);
    return 0;
  }
  const ttlSeconds = Number(values.ttl);
  if (!values.sub || !Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
    process.stderr.write(`${usage}\n(--sub is required; --ttl is 1..${MAX_TTL_SECONDS} seconds)\n`);
    return 2;
  }
  const settings = loadSettings(AuthSettings);
  const token = await signDevelopmentToken(settings, { sub: values.sub, scope: values.scope, ttlSeconds });
  process.stdout.write(`${token}\n`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `token: ${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
