/**
 * Issue 12, finding 3: DNS answers and URL literals that carry an IPv4 address inside an IPv6 one
 * (IPv4-compatible, mapped, translated, NAT64, 6to4, Teredo, ISATAP) or use a zone id are refused by
 * the image_url fetcher without a connection. The resolver is injected and a guard on
 * net.Socket.prototype.connect blocks and records any connect to a non-loopback address, so a
 * regression shows up as a recorded violation, never as a packet. A loopback listener proves the same
 * fetcher does connect where the policy allows it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { AppError } from '../../src/common/app-error';
import { emptyPolicy, parseAddressRules } from '../../src/image/address-policy';
import { UrlImageFetcher } from '../../src/image/url-image-fetcher';
import { guardConnections } from './support/connect-guard';
import { figure } from './support/stack';

/** A name per embedded form, each answering with an address whose IPv4 part is internal. */
const names: Record<string, string[]> = {
  'compatible.test': ['::7f00:1'],
  'compatible-private.test': ['::a00:1'],
  'compatible-metadata.test': ['::a9fe:a9fe'],
  'compatible-public.test': ['::808:808'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'translated.test': ['::ffff:0:a00:1'],
  'nat64.test': ['64:ff9b::a9fe:a9fe'],
  'nat64-local.test': ['64:ff9b:1:a00:0:100::'],
  '6to4.test': ['2002:a00:1::1'],
  'teredo.test': ['2001:0:4136:e378:8000:63bf:f5ff:fffe'],
  'isatap.test': ['2001:4860::5efe:c0a8:101'],
  'zone.test': ['fe80::1%eth0'],
  'second-answer.test': ['127.0.0.1', '::7f00:1'],
  'img.test': ['127.0.0.1'],
};

const literals = [
  '[::7f00:1]',
  '[::127.0.0.1]',
  '[::a00:1]',
  '[::a9fe:a9fe]',
  '[::ffff:0:a00:1]',
  '[64:ff9b::10.0.0.1]',
  '[64:ff9b::a9fe:a9fe]',
  '[2002:a9fe:a9fe::]',
  '[2001:0:4136:e378:8000:63bf:f5ff:fffe]',
  '[2001:4860::200:5efe:a00:1]',
  '[fec0::1]',
  '[100::1]',
  '169.254.43518',
  '0xa9.0xfe.0xa9.0xfe',
];

let server: Server;
let port: number;
let connections = 0;

before(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from('89504e470d0a1a0a', 'hex'));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
});

test(
  'finding 3: every embedded-IPv4 form, as a DNS answer or a URL literal, is refused without a connection',
  { timeout: 60_000 },
  async () => {
    const lookups: string[] = [];
    const resolver = async (host: string): Promise<LookupAddress[]> => {
      lookups.push(host);
      const addresses = names[host];
      if (addresses === undefined) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    const policy = emptyPolicy();
    // Loopback is allowlisted as an IPv4 address: the IPv6 forms that carry it must still be refused.
    policy.allow = parseAddressRules('127.0.0.1/32');
    const fetcher = new UrlImageFetcher({
      policy,
      maxBytes: 1 << 20,
      maxRedirects: 3,
      timeoutMs: 5000,
      resolver,
    });
    const refusedNames = Object.keys(names).filter((n) => n !== 'img.test' && n !== 'mapped.test');
    const urls = [
      ...refusedNames.map((n) => `http://${n}:${port}/x.png`),
      ...literals.map((h) => `http://${h}:${port}/x.png`),
    ];
    const guard = guardConnections();
    const before = connections;
    const details: string[] = [];
    try {
      for (const url of urls) {
        const err = await fetcher.fetch(url).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof AppError, `${url} was fetched`);
        assert.equal(err.problem.code, 'image_url.refused', `${url}: ${err.problem.detail}`);
        details.push(err.problem.detail ?? '');
      }
      // The allowlisted IPv4 loopback and its mapped form do connect: the refusals above are the policy's.
      for (const n of ['img.test', 'mapped.test']) {
        const bytes = await fetcher.fetch(`http://${n}:${port}/x.png`);
        assert.equal(bytes.length, 8, n);
      }
    } finally {
      guard.restore();
      await fetcher.close();
    }
    assert.deepEqual(guard.violations, [], 'a connection to a non-loopback address was attempted');
    assert.ok(connections - before >= 1, 'the allowed fetches reached the listener');
    for (const n of refusedNames) assert.ok(lookups.includes(n), `${n} was refused without its lookup`);
    assert.ok(
      details.some((d) => /embeds 127\.0\.0\.1 \(IPv4-compatible\)/.test(d)),
      'the compatible form is refused as the loopback address it embeds',
    );
    figure(
      `SSRF embedded forms: ${refusedNames.length} DNS answers and ${literals.length} literals refused with image_url.refused; connect guard violations 0; allowed loopback fetches connected`,
    );
  },
);
