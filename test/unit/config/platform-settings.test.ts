import { inspect } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthSettings } from '../../../src/auth/auth.settings';
import { HttpSettings } from '../../../src/config/http.settings';
import { loadSettings } from '../../../src/config/load-settings';
import { RateLimitSettings } from '../../../src/throttling/rate-limit.settings';
import { ecKeyPair, rsaKeyPair } from '../common/tokens';
import { configError } from '../../helpers/config-error';

const SECRET = 'a-development-secret-of-at-least-32-characters';

test('HttpSettings: defaults of .env.example; bad values named', () => {
  const s = loadSettings(HttpSettings, {});
  assert.deepEqual(
    { ...s },
    {
      PORT: 3000,
      HOST: '0.0.0.0',
      TRUST_PROXY_HOPS: 0,
      WORKER_HEALTH_PORT: 3001,
      MANAGEMENT_PORT: 9464,
      MANAGEMENT_HOST: '127.0.0.1',
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 120_000,
      HTTP_BODY_MIN_BYTES_PER_SECOND: 4096,
      HTTP_BODY_RATE_WINDOW_MS: 5000,
      LOG_LEVEL: 'info',
      SHUTDOWN_DRAIN_TIMEOUT_MS: 25_000,
    },
  );
  for (const [name, value] of [
    ['MANAGEMENT_PORT', '65536'],
    ['HTTP_HEADERS_TIMEOUT_MS', '0'],
    ['HTTP_REQUEST_TIMEOUT_MS', '500'],
    ['HTTP_BODY_MIN_BYTES_PER_SECOND', '-1'],
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['TRUST_PROXY_HOPS', '-1'],
    ['WORKER_HEALTH_PORT', '1.5'],
    ['LOG_LEVEL', 'loud'],
  ] as const) {
    const err = configError(() => loadSettings(HttpSettings, { [name]: value }));
    assert.deepEqual(err.variables, [name]);
    assert.match(err.message, new RegExp(`${name}="${value.replace('.', '\\.')}"`));
  }
});

test('RateLimitSettings: defaults and bounds', () => {
  assert.deepEqual(
    { ...loadSettings(RateLimitSettings, {}) },
    { RATE_LIMIT_TTL_SECONDS: 60, RATE_LIMIT_LIMIT: 120 },
  );
  assert.equal(loadSettings(RateLimitSettings, { RATE_LIMIT_LIMIT: '5' }).RATE_LIMIT_LIMIT, 5);
  assert.deepEqual(configError(() => loadSettings(RateLimitSettings, { RATE_LIMIT_LIMIT: '0' })).variables, [
    'RATE_LIMIT_LIMIT',
  ]);
  assert.deepEqual(
    configError(() => loadSettings(RateLimitSettings, { RATE_LIMIT_TTL_SECONDS: 'x' })).variables,
    ['RATE_LIMIT_TTL_SECONDS'],
  );
});

test('AuthSettings: a secret means HS256 only', () => {
  const s = loadSettings(AuthSettings, { JWT_SECRET: SECRET });
  assert.deepEqual(s.verification(), { kind: 'secret', algorithms: ['HS256'], secret: SECRET });
  assert.equal(s.JWT_ISSUER, 'captioner');
  assert.equal(s.JWT_AUDIENCE, 'captioner-api');
  assert.equal(s.JWT_CLOCK_SKEW_SECONDS, 5);
  assert.equal(s.JWT_MAX_LIFETIME_SECONDS, 0, 'no lifetime limit by default');
  const limited = loadSettings(AuthSettings, { JWT_SECRET: SECRET, JWT_MAX_LIFETIME_SECONDS: '3600' });
  assert.equal(limited.JWT_MAX_LIFETIME_SECONDS, 3600);
  for (const [name, value] of [
    ['JWT_CLOCK_SKEW_SECONDS', '301'],
    ['JWT_MAX_LIFETIME_SECONDS', '-1'],
  ] as const) {
    const err = configError(() => loadSettings(AuthSettings, { JWT_SECRET: SECRET, [name]: value }));
    assert.deepEqual(err.variables, [name]);
  }
});

test('AuthSettings: an RSA public key means RS256 only, an EC P-256 key ES256 only (also with \\n escapes)', () => {
  const rsa = loadSettings(AuthSettings, { JWT_PUBLIC_KEY: rsaKeyPair().publicPem.replace(/\n/g, '\\n') });
  const v = rsa.verification();
  assert.equal(v.kind, 'public-key');
  assert.deepEqual(v.algorithms, ['RS256']);
  const ec = loadSettings(AuthSettings, { JWT_PUBLIC_KEY: ecKeyPair().publicPem });
  assert.deepEqual(ec.verification().algorithms, ['ES256']);
});

test('AuthSettings: a JWKS URL allows the asymmetric algorithms only', () => {
  const s = loadSettings(AuthSettings, { JWT_JWKS_URL: 'https://issuer.example/.well-known/jwks.json' });
  const v = s.verification();
  assert.equal(v.kind, 'jwks');
  assert.deepEqual(v.algorithms, ['RS256', 'ES256']);
  assert.deepEqual(
    configError(() => loadSettings(AuthSettings, { JWT_JWKS_URL: 'ftp://x/keys' })).variables,
    ['JWT_JWKS_URL'],
  );
});

test('AuthSettings: none of the three -> one error naming all three', () => {
  const err = configError(() => loadSettings(AuthSettings, {}));
  assert.deepEqual(err.variables, ['JWT_SECRET']);
  assert.match(err.message, /exactly one of JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL must be set/);
});

test('AuthSettings: two of them -> both named', () => {
  const err = configError(() =>
    loadSettings(AuthSettings, { JWT_SECRET: SECRET, JWT_JWKS_URL: 'https://issuer.example/jwks' }),
  );
  assert.deepEqual(err.variables.sort(), ['JWT_JWKS_URL', 'JWT_SECRET']);
  assert.match(err.message, /only one of JWT_SECRET, JWT_JWKS_URL may be set/);
});

test('AuthSettings: a short secret is refused without showing it', () => {
  const err = configError(() => loadSettings(AuthSettings, { JWT_SECRET: 'hunter2-is-short' }));
  assert.deepEqual(err.variables, ['JWT_SECRET']);
  assert.match(err.message, /at least 32 characters/);
  assert.doesNotMatch(err.message, /hunter2/);
  assert.match(err.message, /JWT_SECRET=\(set, value hidden\)/);
});

test('AuthSettings: keys that are not PEM, or too weak, are refused', () => {
  assert.deepEqual(configError(() => loadSettings(AuthSettings, { JWT_PUBLIC_KEY: 'not a key' })).variables, [
    'JWT_PUBLIC_KEY',
  ]);
  const privateKey = configError(() =>
    loadSettings(AuthSettings, { JWT_SECRET: SECRET, JWT_PRIVATE_KEY: 'private-key-material-oops' }),
  );
  assert.deepEqual(privateKey.variables, ['JWT_PRIVATE_KEY']);
  assert.doesNotMatch(privateKey.message, /private-key-material-oops/);
});

test('AuthSettings: printing the settings never shows a secret', () => {
  const s = loadSettings(AuthSettings, { JWT_SECRET: SECRET, JWT_PRIVATE_KEY: rsaKeyPair().privatePem });
  assert.doesNotMatch(JSON.stringify(s), new RegExp(SECRET));
  assert.doesNotMatch(inspect(s), new RegExp(SECRET));
  assert.doesNotMatch(inspect(s), /PRIVATE KEY/);
});
