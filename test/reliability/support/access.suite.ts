/**
 * Issue 6, items 11-14 against the processes of an AttackStack: the SSRF table (loopback forms end to
 * end against a counting trap; other ranges and names in-process with an injected resolver behind a
 * connect guard), the JWT table on an RS256 API with the logs grepped, job ownership and id entropy,
 * and a rate limit shared by two API processes whatever X-Forwarded-For says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { AppError } from '../../../src/common/app-error';
import { emptyPolicy, parseAddressRules } from '../../../src/image/address-policy';
import { UrlImageFetcher } from '../../../src/image/url-image-fetcher';
import { hs256, hs256WithPublicKey, signWith, unsigned } from '../../unit/common/tokens';
import { generateKeyPairSync } from 'node:crypto';
import type { AttackStack } from './attack-stack';
import { RATE_LIMIT } from './attack-stack';
import { assertProblem, sentTokens } from './client';
import { guardConnections } from './connect-guard';
import { freshPhoto } from './images';
import { acceptedId } from './jobs';
import { allLogs, figure } from './stack';

/** Fails naming the log line that holds `secret` (with the secret itself blanked out). */
function assertNotLogged(logs: string, secret: string, what: string): void {
  const at = logs.indexOf(secret);
  if (at < 0) return;
  const line = logs.slice(logs.lastIndexOf('\n', at) + 1, logs.indexOf('\n', at));
  assert.fail(`${what} is in the logs: ${line.split(secret).join('<secret>').slice(0, 600)}`);
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function accessSuite(stack: () => AttackStack): void {
  test(
    '11. image_url: every loopback form and scheme trick is refused with 400 and the trap sees no connection',
    { timeout: 120_000 },
    async () => {
      const s = stack();
      const auth = await s.auth('ssrf');
      const c = s.clients[0];
      const ok = await c.json(auth, { image_url: `${s.allowedBase}/photos/concert.jpg` });
      assert.equal(ok.status, 200, `the allowlisted loopback host must work: ${JSON.stringify(ok.body)}`);
      const p = s.trap.port;
      const hosts = [
        '127.0.0.1',
        'localhost',
        '127.1',
        '2130706433',
        '0177.0.0.1',
        '0x7f.0.0.1',
        '0x7f000001',
        '017700000001',
        '127.0.0.1.',
        '[::1]',
        '[::ffff:127.0.0.1]',
        '[::ffff:7f00:1]',
        '[0:0:0:0:0:ffff:127.0.0.1]',
        '0.0.0.0',
        '0',
        '[::]',
      ];
      const urls = [
        ...hosts.map((h) => `http://${h}:${p}/photos/concert.jpg`),
        `http://127.0.0.2@127.0.0.1:${p}/photos/concert.jpg`,
        `http://127.0.0.1:${p}#@127.0.0.2/photos/concert.jpg`,
        `https://127.0.0.1:${p}/photos/concert.jpg`,
        'file:///etc/passwd',
        `gopher://127.0.0.1:${p}/_GET%20/`,
        'data:image/png;base64,iVBORw0KGgo=',
        `ftp://127.0.0.1:${p}/x.jpg`,
        'javascript:alert(1)',
        ...[
          `http://127.0.0.1:${p}/photos/concert.jpg`,
          `http://[::1]:${p}/x`,
          'http://10.0.0.1/x.jpg',
          'http://169.254.169.254/latest/meta-data/',
          'file:///etc/passwd',
          `gopher://127.0.0.1:${p}/x`,
        ].map((to) => `${s.allowedBase}/redirect?to=${encodeURIComponent(to)}`),
      ];
      const before = s.trap.connections;
      for (const url of urls) assertProblem(await c.json(auth, { image_url: url }), 400);
      assert.equal(s.trap.connections, before, 'the loopback trap saw a connection');
      figure(
        `SSRF end to end: ${urls.length} URLs (loopback in ${hosts.length} spellings, credentials and fragment tricks, 4 other schemes, 6 redirects from an allowed host) all 400; trap connections 0`,
      );
    },
  );

  test(
    '11. image_url: private ranges, metadata and names resolving to them are refused at connect time (injected lookup, no packet)',
    { timeout: 60_000 },
    async () => {
      const s = stack();
      const names: Record<string, string[]> = {
        'private.test': ['10.0.0.5'],
        'corp.test': ['172.16.3.4'],
        'home.test': ['192.168.1.10'],
        'metadata.test': ['169.254.169.254'],
        'cgnat.test': ['100.64.0.1'],
        'ula.test': ['fd00::1'],
        'mixed.test': ['93.184.216.34', '10.0.0.1'],
        'mapped.test': ['::ffff:10.0.0.1'],
        'looped.test': ['127.0.0.1'],
      };
      const lookups: string[] = [];
      const resolver = async (host: string): Promise<LookupAddress[]> => {
        lookups.push(host);
        const addresses = names[host];
        if (addresses === undefined)
          throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
        return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      };
      const policy = emptyPolicy();
      policy.allow = parseAddressRules('127.0.0.2/32');
      const fetcher = new UrlImageFetcher({
        policy,
        maxBytes: 1 << 20,
        maxRedirects: 3,
        timeoutMs: 2000,
        resolver,
      });
      const literals = [
        '10.0.0.1',
        '10.255.255.254',
        '172.16.0.1',
        '172.31.255.254',
        '192.168.0.1',
        '169.254.169.254',
        '100.64.0.1',
        '0x0a.0.0.1',
        '012.0.0.1',
        '167772161',
        '[fd00::1]',
        '[fe80::1]',
        '[fd00:ec2::254]',
        '[::ffff:10.0.0.1]',
        '[::ffff:a9fe:a9fe]',
      ];
      const urls = [
        ...literals.map((h) => `http://${h}/x.jpg`),
        ...Object.keys(names).map((n) => `http://${n}:${s.trap.port}/x.jpg`),
        `${s.allowedBase}/redirect?to=${encodeURIComponent('http://private.test/x.jpg')}`,
      ];
      const guard = guardConnections();
      const trapBefore = s.trap.connections;
      try {
        for (const url of urls) {
          const err = await fetcher.fetch(url).then(
            () => undefined,
            (e: unknown) => e,
          );
          assert.ok(err instanceof AppError, `${url}: fetched`);
          assert.equal(err.problem.status, 400, `${url}: ${err.problem.detail}`);
          assert.equal(err.problem.code, 'image_url.refused', `${url}: ${err.problem.detail}`);
        }
      } finally {
        guard.restore();
        await fetcher.close();
      }
      assert.deepEqual(guard.violations, [], 'a connection to a non-loopback address was attempted');
      assert.equal(s.trap.connections, trapBefore);
      for (const n of Object.keys(names))
        assert.ok(lookups.includes(n), `${n} was refused without its lookup`);
      figure(
        `SSRF in process: ${literals.length} private/metadata literals and ${Object.keys(names).length} names resolving to them refused with image_url.refused; connect guard violations 0`,
      );
    },
  );

  test(
    '12. JWT table on the RS256 API: 401/403 for every hostile token; tokens and images never in the logs',
    { timeout: 120_000 },
    async () => {
      const s = stack();
      const c = s.clients[1];
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const good = await s.token({ sub: 'jwt-ok', scope: 'caption:read' });
      assert.equal(
        (await c.request('GET', '/api/v1/models', { headers: { authorization: `Bearer ${good}` } })).status,
        200,
      );
      const table: [string, string, number][] = [
        ['alg none', unsigned({ sub: 'jwt', scope: 'caption:read' }), 401],
        [
          'HS256 signed with the RS256 public key',
          await hs256WithPublicKey(s.publicPem, { sub: 'jwt', scope: 'caption:read' }),
          401,
        ],
        ['HS256 with a guessed secret', await hs256({ sub: 'jwt', scope: 'caption:read' }, 'secret'), 401],
        [
          'RS256 from another key',
          await signWith(other, 'RS256', { sub: 'jwt', scope: 'caption:read' }),
          401,
        ],
        ['expired', await s.token({ sub: 'jwt', scope: 'caption:read', expiresIn: -120 }), 401],
        ['nbf in the future', await s.token({ sub: 'jwt', scope: 'caption:read', notBefore: 300 }), 401],
        ['no exp', await s.token({ sub: 'jwt', scope: 'caption:read', expiresIn: null }), 401],
        ['wrong issuer', await s.token({ sub: 'jwt', scope: 'caption:read', iss: 'evil' }), 401],
        ['wrong audience', await s.token({ sub: 'jwt', scope: 'caption:read', aud: 'other-api' }), 401],
        ['missing scope', await s.token({ sub: 'jwt', scope: 'caption:write' }), 403],
        [
          'tampered payload',
          good.replace(
            /\.[^.]+\./,
            `.${Buffer.from(JSON.stringify({ sub: 'admin', scope: 'caption:read' })).toString('base64url')}.`,
          ),
          401,
        ],
      ];
      const seen: string[] = [];
      for (const [name, token, status] of table) {
        const a = await c.request('GET', '/api/v1/models', { headers: { authorization: `Bearer ${token}` } });
        assert.equal(a.status, status, name);
        assertProblem(a, status);
        assert.match(a.headers.get('www-authenticate') ?? '', /^Bearer/, name);
        seen.push(`${name} ${a.status}`);
      }
      const malformed = [
        'Bearer',
        'Bearer ',
        'Bearer a.b',
        `Bearer ${good} extra`,
        `Basic ${Buffer.from('a:b').toString('base64')}`,
        `Token ${good}`,
        `Bearer ${good.split('.').slice(0, 2).join('.')}.`,
      ];
      for (const header of malformed) {
        const a = await c.request('GET', '/api/v1/models', { headers: { authorization: header } });
        assert.equal(a.status, 401, header);
        assertProblem(a, 401);
      }
      for (const param of ['access_token', 'token', 'jwt', 'id_token', 'authorization']) {
        const a = await c.request('GET', `/api/v1/models?${param}=${encodeURIComponent(good)}`);
        assert.equal(a.status, 401, param);
        assertProblem(a, 401);
      }
      const cookie = await c.request('GET', '/api/v1/models', {
        headers: { cookie: `token=${good}; access_token=${good}` },
      });
      assertProblem(cookie, 401);
      // Every token sent by any test of this file, and the image payloads: never in a log line.
      const logs = allLogs();
      assert.ok(logs.split('\n').length > 100, 'too few log lines to judge');
      for (const t of [...sentTokens, good, ...table.map(([, t]) => t)].filter((x) => x.length > 20)) {
        const signature = t.split('.')[2];
        assertNotLogged(logs, t, 'a token');
        if (signature !== undefined && signature.length > 16)
          assertNotLogged(logs, signature, 'a token signature');
      }
      for (const f of s.imageFragments) assertNotLogged(logs, f, 'image bytes');
      figure(
        `JWT table (RS256 API): ${seen.join(', ')}; ${malformed.length} malformed headers, 5 query-string and 1 cookie tokens 401; ${sentTokens.size} tokens and ${s.imageFragments.length} image payloads absent from ${logs.split('\n').length} log lines`,
      );
    },
  );

  test(
    "13. another subject's job is a 404 like an unknown id; job ids are random v4 UUIDs (122 bits)",
    { timeout: 120_000 },
    async () => {
      const s = stack();
      const owner = await s.auth(`owner-${randomUUID()}`);
      const stranger = await s.auth(`stranger-${randomUUID()}`);
      const answers = await Promise.all(
        Array.from({ length: 6 }, () =>
          s.clients[0].upload(owner, freshPhoto('concert.jpg'), { mode: 'async' }),
        ),
      );
      const ids = answers.map(acceptedId);
      s.jobIds.push(...ids);
      for (const a of answers) {
        assert.doesNotMatch(
          JSON.stringify(a.body) + (a.headers.get('location') ?? ''),
          /cap-[0-9a-f]{10}/,
          'an internal job id leaked',
        );
      }
      const strip = (b: Record<string, unknown>): string =>
        JSON.stringify({ ...b, request_id: undefined, instance: undefined });
      const unknown = await s.clients[1].job(stranger, randomUUID());
      assertProblem(unknown, 404);
      for (const id of ids) {
        for (const c of s.clients) {
          const a = await c.job(stranger, id);
          assertProblem(a, 404);
          assert.equal(strip(a.body), strip(unknown.body), 'a foreign job differs from an unknown one');
        }
      }
      assertProblem(await s.clients[0].job(owner, `cap-${randomBytes(20).toString('hex')}`), 404);
      // More ids cheaply: 40 async requests for one new image join one job, each with its own public id.
      const same = freshPhoto('low-contrast.jpg');
      const joined = await Promise.all(
        Array.from({ length: 40 }, async (_, i) =>
          s.clients[i % 2].upload(await s.auth(`joiner-${i % 4}`), same, {
            mode: 'async',
            num_captions: '5',
          }),
        ),
      );
      for (const a of joined) if (a.status === 202) s.jobIds.push(String(a.body.job_id));
      const all = [...new Set(s.jobIds)];
      assert.equal(all.length, s.jobIds.length, 'a job id was repeated');
      for (const id of all) assert.match(id, UUID_V4);
      // Each of the 122 random bits takes both values across the ids (a counter or a clock would not).
      const bits = all.map((id) => BigInt(`0x${id.replace(/-/g, '')}`));
      const mask = (1n << 128n) - 1n - (0xfn << 76n) - (0x3n << 62n);
      let ones = 0n;
      let zeros = 0n;
      for (const b of bits) {
        ones |= b & mask;
        zeros |= ~b & mask;
      }
      assert.ok(all.length >= 40, `only ${all.length} ids`);
      assert.equal(ones & zeros, mask, 'some random bit never varied');
      figure(
        `ownership: ${ids.length} jobs x 2 APIs -> 404 for another subject, identical to an unknown id; ${all.length} job ids, all distinct v4 UUIDs, every one of the 122 random bits varies`,
      );
    },
  );

  test(
    '14. the rate limit holds across two API processes sharing Redis, whatever X-Forwarded-For says',
    { timeout: 120_000 },
    async () => {
      const s = stack();
      const sub = `limited-${randomUUID()}`;
      const statuses: number[] = [];
      for (let i = 0; i < RATE_LIMIT + 10; i++) {
        const headers = {
          ...(await s.auth(sub, 'caption:read')),
          'x-forwarded-for': `198.51.100.${i % 250}, 203.0.113.${i % 250}`,
        };
        const a = await s.clients[i % 2].request('GET', '/api/v1/models', { headers });
        statuses.push(a.status);
        if (a.status === 429) {
          assertProblem(a, 429);
          assert.ok(Number(a.headers.get('retry-after')) >= 1);
        }
      }
      const passed = statuses.filter((x) => x === 200).length;
      assert.equal(passed, RATE_LIMIT, `statuses: ${statuses.join(',')}`);
      assert.deepEqual(statuses.slice(RATE_LIMIT), Array(10).fill(429));
      const fresh = await s.clients[1].request('GET', '/api/v1/models', {
        headers: await s.auth(`other-${randomUUID()}`, 'caption:read'),
      });
      assert.equal(fresh.status, 200);
      figure(
        `rate limit: ${RATE_LIMIT} allowed then 429 across 2 API processes with a fresh token and a spoofed X-Forwarded-For on every request; another subject unaffected; every answer carried HSTS, nosniff, frame-ancestors and no-store`,
      );
    },
  );
}
