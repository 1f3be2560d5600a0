/** `npm run token`: only the token on stdout, signed with the configured secret or private key. */
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { jwtVerify } from 'jose';
import { repoRoot } from '../../helpers/paths';
import { runCli, type CliRun } from '../../helpers/run-cli';
import { rsaKeyPair } from '../../unit/common/tokens';

const CLI = join(repoRoot, 'dist', 'cli', 'token.js');
const SECRET = 'token-cli-test-secret-0123456789-abcdefgh';

function run(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runCli(CLI, args, {
    PATH: process.env.PATH ?? '',
    JWT_ISSUER: 'iss-test',
    JWT_AUDIENCE: 'aud-test',
    ...env,
  });
}

test('HS256 with JWT_SECRET: stdout is exactly one token line with sub, scope, iss, aud and exp', async () => {
  const { code, stdout } = await run(
    ['--sub', 'alice', '--scope', 'caption:write caption:read', '--ttl', '120'],
    {
      JWT_SECRET: SECRET,
    },
  );
  assert.equal(code, 0);
  assert.match(stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const { payload, protectedHeader } = await jwtVerify(stdout.trim(), new TextEncoder().encode(SECRET), {
    issuer: 'iss-test',
    audience: 'aud-test',
    algorithms: ['HS256'],
  });
  assert.equal(protectedHeader.alg, 'HS256');
  assert.equal(payload.sub, 'alice');
  assert.equal(payload.scope, 'caption:write caption:read');
  assert.ok(payload.exp! - payload.iat! === 120);
});

test('RS256 with JWT_PRIVATE_KEY, verifiable with the public key', async () => {
  const rsa = rsaKeyPair();
  const { code, stdout } = await run(['--sub', 'bob'], {
    JWT_PUBLIC_KEY: rsa.publicPem,
    JWT_PRIVATE_KEY: rsa.privatePem.replace(/\n/g, '\\n'),
  });
  assert.equal(code, 0);
  const { payload, protectedHeader } = await jwtVerify(stdout.trim(), createPublicKey(rsa.publicPem), {
    issuer: 'iss-test',
    audience: 'aud-test',
    algorithms: ['RS256'],
  });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.sub, 'bob');
});

test('usage errors go to stderr with a non-zero exit and nothing on stdout', async () => {
  for (const args of [[], ['--sub', 'x', '--ttl', '0'], ['--bogus']]) {
    const { code, stdout, stderr } = await run(args, { JWT_SECRET: SECRET });
    assert.notEqual(code, 0, args.join(' '));
    assert.equal(stdout, '', args.join(' '));
    assert.ok(stderr.length > 0);
  }
  const noKey = await run(['--sub', 'x'], {});
  assert.notEqual(noKey.code, 0);
  assert.equal(noKey.stdout, '');
  assert.match(noKey.stderr, /JWT_SECRET/);
});
