import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAddress,
  emptyPolicy,
  parseAddressRules,
  parseIp,
  type AddressPolicy,
} from '../../../src/image/address-policy';

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
