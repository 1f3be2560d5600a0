import { test } from 'node:test';
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import {
  checkAddress,
  embeddedIPv4,
  emptyPolicy,
  parseAddressRules,
  parseIp,
  specialRangeOf,
  type AddressPolicy,
} from '../../../src/image/address-policy';
import { IPV4_SPECIAL_RANGES, IPV6_SPECIAL_RANGES } from '../../../src/image/special-addresses';

const policy = emptyPolicy();

const refused: [string, RegExp][] = [
  ['127.0.0.1', /loopback/],
  ['127.255.0.9', /loopback/],
  ['0.0.0.0', /unspecified/],
  ['10.1.2.3', /private/],
  ['172.16.0.1', /private/],
  ['172.31.255.255', /private/],
  ['192.168.1.1', /private/],
  ['169.254.169.254', /metadata/],
  ['169.254.1.1', /link-local/],
  ['100.64.0.1', /carrier-grade NAT/],
  ['224.0.0.1', /multicast/],
  ['255.255.255.255', /broadcast/],
  ['240.0.0.1', /reserved/],
  ['::1', /loopback/],
  ['::', /unspecified/],
  ['fe80::1', /link-local/],
  ['fc00::1', /unique-local/],
  ['fd00:ec2::254', /metadata/],
  ['ff02::1', /multicast/],
  ['::ffff:127.0.0.1', /loopback/],
  ['::ffff:7f00:1', /loopback/],
  ['::ffff:10.0.0.1', /private/],
  ['::ffff:169.254.169.254', /metadata/],
  ['64:ff9b::a00:1', /NAT64/],
  ['2002:7f00:1::', /6to4/],
  // Non-canonical IPv4 text forms normalize to the address they mean.
  ['2130706433', /loopback/],
  ['0177.0.0.1', /loopback/],
  ['0x7f.0.0.1', /loopback/],
  ['0x7f000001', /loopback/],
  ['127.1', /loopback/],
  ['not-an-ip', /not an IP/],
];

for (const [address, reason] of refused) {
  test(`checkAddress refuses ${address}`, () => {
    const verdict = checkAddress(address, policy);
    assert.equal(verdict.allowed, false);
    if (!verdict.allowed) assert.match(verdict.reason, reason);
  });
}

for (const address of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2001:4860:4860::8888', '2606:4700::1111']) {
  test(`checkAddress allows public ${address}`, () => {
    assert.deepEqual(checkAddress(address, policy), { allowed: true });
  });
}

test('parseIp normalizes IPv4-mapped IPv6 to IPv4', () => {
  assert.equal(parseIp('[::ffff:127.0.0.1]')?.toString(), '127.0.0.1');
  assert.equal(parseIp('example.com'), undefined);
});

test('the allowlist admits CIDRs and hosts; the denylist wins over everything', () => {
  const p: AddressPolicy = {
    allow: parseAddressRules('127.0.0.1/32, 10.0.0.0/8, images.internal, .bucket.local, ::1'),
    deny: parseAddressRules('10.9.0.0/16, evil.example, 8.8.8.8'),
  };
  assert.equal(checkAddress('127.0.0.1', p).allowed, true);
  assert.equal(checkAddress('127.0.0.2', p).allowed, false);
  assert.equal(checkAddress('::1', p).allowed, true);
  assert.equal(checkAddress('::ffff:127.0.0.1', p).allowed, true);
  assert.equal(checkAddress('10.1.1.1', p).allowed, true);
  assert.equal(checkAddress('10.9.1.1', p).allowed, false);
  assert.equal(checkAddress('192.168.0.5', p, 'images.internal').allowed, true);
  assert.equal(checkAddress('192.168.0.5', p, 'a.bucket.local').allowed, true);
  assert.equal(checkAddress('192.168.0.5', p, 'bucket.localx').allowed, false);
  assert.equal(checkAddress('1.2.3.4', p, 'evil.example').allowed, false);
  assert.equal(checkAddress('8.8.8.8', p).allowed, false);
});

test('an IPv4-mapped CIDR in a list means the IPv4 network', () => {
  const p: AddressPolicy = { allow: parseAddressRules('::ffff:10.0.0.0/104'), deny: parseAddressRules('') };
  assert.equal(checkAddress('10.2.3.4', p).allowed, true);
  assert.equal(checkAddress('11.2.3.4', p).allowed, true);
  assert.equal(checkAddress('192.168.1.1', p).allowed, false);
});

/**
 * The IANA special-purpose registries as published (iana-ipv4-special-registry and
 * iana-ipv6-special-registry, 2025), copied here independently of the policy's table so that a range
 * dropped from the table fails this test.
 */
const IANA_IPV4 = [
  '0.0.0.0/8',
  '0.0.0.0/32',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.0.0/29',
  '192.0.0.8/32',
  '192.0.0.9/32',
  '192.0.0.10/32',
  '192.0.0.170/32',
  '192.0.0.171/32',
  '192.0.2.0/24',
  '192.31.196.0/24',
  '192.52.193.0/24',
  '192.88.99.0/24',
  '192.88.99.2/32',
  '192.168.0.0/16',
  '192.175.48.0/24',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '240.0.0.0/4',
  '255.255.255.255/32',
];
const IANA_IPV6 = [
  '::1/128',
  '::/128',
  '::ffff:0:0/96',
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  '100::/64',
  '100:0:0:1::/64',
  '2001::/23',
  '2001::/32',
  '2001:1::1/128',
  '2001:1::2/128',
  '2001:1::3/128',
  '2001:2::/48',
  '2001:3::/32',
  '2001:4:112::/48',
  '2001:10::/28',
  '2001:20::/28',
  '2001:30::/28',
  '2001:db8::/32',
  '2002::/16',
  '2620:4f:8000::/48',
  '3fff::/20',
  '5f00::/16',
  'fc00::/7',
  'fe80::/10',
];

test('the policy table holds every IANA special-purpose range', () => {
  const table = new Set([...IPV4_SPECIAL_RANGES, ...IPV6_SPECIAL_RANGES].map((r) => r.cidr));
  for (const cidr of [...IANA_IPV4, ...IANA_IPV6]) assert.ok(table.has(cidr), `${cidr} is missing`);
});

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** First, last and a middle address of a CIDR. */
function samples(cidr: string): string[] {
  const [net] = ipaddr.parseCIDR(cidr);
  const first =
    net.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(cidr)
      : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  const last =
    net.kind() === 'ipv4'
      ? ipaddr.IPv4.broadcastAddressFromCIDR(cidr)
      : ipaddr.IPv6.broadcastAddressFromCIDR(cidr);
  const a = first.toByteArray();
  const z = last.toByteArray();
  const mid = a.map((x, i) => (x + z[i]) >> 1);
  const make = (b: number[]) => ipaddr.fromByteArray(b).toString();
  return [...new Set([make(a), make(mid), make(z)])];
}

for (const range of [...IPV4_SPECIAL_RANGES, ...IPV6_SPECIAL_RANGES]) {
  if (range.cidr === '::ffff:0:0/96') continue; // IPv4-mapped: judged as the IPv4 address, below
  test(`${range.cidr} (${range.name}): ${range.decision}`, () => {
    for (const address of samples(range.cidr)) {
      const verdict = checkAddress(address, policy);
      const parsed = parseIp(address) as ipaddr.IPv4 | ipaddr.IPv6;
      const embedded = parsed.kind() === 'ipv6' ? embeddedIPv4(parsed as ipaddr.IPv6) : [];
      const embedsRefused = embedded.some((e) => !checkAddress(e.address.toString(), policy).allowed);
      const own = specialRangeOf(parsed);
      if (range.decision === 'refuse' || embedsRefused) {
        assert.equal(verdict.allowed, false, `${address} was allowed`);
        if (!verdict.allowed && !embedsRefused)
          assert.match(verdict.reason, new RegExp(escape(own?.name ?? range.name)), address);
        if (!verdict.allowed && embedsRefused) assert.match(verdict.reason, /embeds/, address);
      } else {
        assert.deepEqual(verdict, { allowed: true }, address);
      }
    }
  });
}

test('each range of the table is the most specific one for some of its addresses (none is shadowed)', () => {
  for (const range of [...IPV4_SPECIAL_RANGES, ...IPV6_SPECIAL_RANGES]) {
    const own = samples(range.cidr).filter((a) => specialRangeOf(ipaddr.parse(a))?.cidr === range.cidr);
    assert.ok(own.length > 0, `${range.cidr} is shadowed by a more specific range`);
  }
});

/** Embedded IPv4 in each IPv6 form and textual spelling: [text, expected reason, or null for allowed]. */
const forms: [string, RegExp | null][] = [
  // IPv4-compatible ::/96 (finding 3): judged as the IPv4 address, and refused as deprecated anyway.
  ['::7f00:1', /embeds 127\.0\.0\.1 \(IPv4-compatible\): a loopback/],
  ['::127.0.0.1', /embeds 127\.0\.0\.1 \(IPv4-compatible\)/],
  ['[::127.0.0.1]', /embeds 127\.0\.0\.1 \(IPv4-compatible\)/],
  ['0:0:0:0:0:0:7f00:1', /embeds 127\.0\.0\.1/],
  ['::a00:1', /embeds 10\.0\.0\.1 \(IPv4-compatible\): a private/],
  ['::a9fe:a9fe', /embeds 169\.254\.169\.254 \(IPv4-compatible\): the cloud metadata/],
  ['::808:808', /deprecated IPv4-compatible/],
  // IPv4-mapped ::ffff:0:0/96: the IPv4 address itself.
  ['::ffff:127.0.0.1', /127\.0\.0\.1 is a loopback/],
  ['::ffff:7f00:1', /127\.0\.0\.1 is a loopback/],
  ['[0:0:0:0:0:ffff:127.0.0.1]', /127\.0\.0\.1 is a loopback/],
  ['::ffff:a9fe:a9fe', /metadata/],
  // IPv4-translated (SIIT) ::ffff:0:0:0/96.
  ['::ffff:0:a00:1', /embeds 10\.0\.0\.1 \(IPv4-translated\)/],
  ['::ffff:0:808:808', /IPv4-translated \(SIIT\)/],
  // NAT64: the well-known prefix is judged by what it embeds; the local-use one is refused.
  ['64:ff9b::10.0.0.1', /embeds 10\.0\.0\.1 \(NAT64\): a private/],
  ['64:ff9b::7f00:1', /embeds 127\.0\.0\.1 \(NAT64\)/],
  ['64:ff9b::a9fe:a9fe', /embeds 169\.254\.169\.254 \(NAT64\): the cloud metadata/],
  ['64:ff9b::808:808', null],
  ['64:ff9b:1:a00:0:100::', /embeds 10\.0\.0\.1 \(local-use NAT64\)/],
  ['64:ff9b:1:808:8:800::', /local-use NAT64/],
  // 6to4 2002::/16.
  ['2002:a00:1::1', /embeds 10\.0\.0\.1 \(6to4\)/],
  ['2002:7f00:1::', /embeds 127\.0\.0\.1 \(6to4\)/],
  ['2002:c0a8:101::', /embeds 192\.168\.1\.1 \(6to4\)/],
  ['2002:808:808::1', null],
  // Teredo 2001::/32: server in bits 32-63, client inverted in the last 32 bits.
  ['2001:0:4136:e378:8000:63bf:f5ff:fffe', /embeds 10\.0\.0\.1 \(Teredo client\)/],
  ['2001:0:7f00:1:8000:63bf:f7f7:f7f7', /embeds 127\.0\.0\.1 \(Teredo server\)/],
  ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', /a Teredo address/],
  // ISATAP interface ids in a global prefix.
  ['2001:4860::5efe:a00:1', /embeds 10\.0\.0\.1 \(ISATAP\)/],
  ['2001:4860::200:5efe:c0a8:101', /embeds 192\.168\.1\.1 \(ISATAP\)/],
  ['2001:4860::200:5efe:808:808', null],
  // IPv4 spellings a URL host may use.
  ['2130706433', /127\.0\.0\.1 is a loopback/],
  ['017700000001', /127\.0\.0\.1 is a loopback/],
  ['0x7f.1', /127\.0\.0\.1 is a loopback/],
  ['127.0.0.1.', /127\.0\.0\.1 is a loopback/],
  ['0', /0\.0\.0\.0 is the unspecified/],
  ['10.1', /10\.0\.0\.1 is a private/],
  ['0x0a.0.0.1', /10\.0\.0\.1 is a private/],
  ['012.0.0.1', /10\.0\.0\.1 is a private/],
  ['167772161', /10\.0\.0\.1 is a private/],
  ['169.254.43518', /169\.254\.169\.254 is the cloud metadata/],
  ['0xa9.0xfe.0xa9.0xfe', /169\.254\.169\.254 is the cloud metadata/],
  ['168.63.129.16', /cloud metadata/],
  // Zone ids and brackets.
  ['fe80::1%eth0', /zone id/],
  ['fe80::1%25eth0', /zone id/],
  ['[fe80::1%eth0]', /zone id/],
  ['2001:4860:4860::8888%eth0', /zone id/],
  ['[::1]', /::1 is a loopback/],
  ['[fe80::1]', /link-local/],
  // IPv6 outside 2000::/3 and not otherwise listed.
  ['4000::1', /outside the global unicast space/],
  ['fec0::1', /site-local/],
  ['100::1', /discard-only/],
  // Names and garbage are not addresses.
  ['x@127.0.0.1', /not an IP/],
  ['127.0.0.1:80', /not an IP/],
  ['[::1]:80', /not an IP/],
  ['256.0.0.1', /not an IP/],
];

for (const [text, reason] of forms) {
  test(`address form ${text}: ${reason === null ? 'allowed' : 'refused'}`, () => {
    const verdict = checkAddress(text, policy);
    if (reason === null) assert.deepEqual(verdict, { allowed: true });
    else {
      assert.equal(verdict.allowed, false, `${text} was allowed`);
      if (!verdict.allowed) assert.match(verdict.reason, reason);
    }
  });
}

test('embedded forms: an allowlisted IPv4 does not admit the IPv6 forms that carry it; the denylist sees through them', () => {
  const p: AddressPolicy = {
    allow: parseAddressRules('127.0.0.1, 10.0.0.0/8, 64:ff9b:1::/48'),
    deny: parseAddressRules('8.8.8.8'),
  };
  assert.equal(checkAddress('127.0.0.1', p).allowed, true);
  assert.equal(checkAddress('::ffff:127.0.0.1', p).allowed, true);
  assert.equal(checkAddress('::7f00:1', p).allowed, false);
  assert.equal(checkAddress('2002:a00:1::', p).allowed, false);
  assert.equal(checkAddress('64:ff9b:1:909:9:900::', p).allowed, true);
  for (const a of ['8.8.8.8', '64:ff9b::808:808', '2002:808:808::', '::ffff:8.8.8.8']) {
    const verdict = checkAddress(a, p);
    assert.equal(verdict.allowed, false, a);
    if (!verdict.allowed) assert.match(verdict.reason, /denylisted/);
  }
});

test('parseIp reads a dotted IPv6 tail as the URL parser does (::1.2.3.4 is IPv4-compatible, not mapped)', () => {
  assert.equal(parseIp('::1.2.3.4')?.toString(), '::102:304');
  assert.equal(parseIp('::ffff:1.2.3.4')?.toString(), '1.2.3.4');
  assert.equal(parseIp('[fe80::1%eth0]')?.toString(), 'fe80::1');
});
