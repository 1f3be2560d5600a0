import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { emptyPolicy, parseAddressRules } from '../../../src/image/address-policy';
import {
  AddressRefusedError,
  createSafeLookup,
  resolveChecked,
  type Resolver,
} from '../../../src/image/safe-lookup';

/** A resolver from a table: no DNS query, no packet. */
function fakeResolver(table: Record<string, string[]>): Resolver {
  return async (host) => {
    const addrs = table[host];
    if (addrs === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addrs.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

const resolver = fakeResolver({
  'public.example': ['93.184.216.34', '2606:2800:220:1::1'],
  'private.example': ['10.0.0.7'],
  'mixed.example': ['93.184.216.34', '192.168.1.10'],
  'metadata.example': ['169.254.169.254'],
  'v6meta.example': ['fd00:ec2::254'],
  'mapped.example': ['::ffff:127.0.0.1'],
  localhost: ['127.0.0.1', '::1'],
  'empty.example': [],
});

for (const host of [
  'private.example',
  'mixed.example',
  'metadata.example',
  'v6meta.example',
  'mapped.example',
  'localhost',
  'empty.example',
]) {
  test(`resolveChecked refuses ${host} (every resolved address is checked)`, async () => {
    await assert.rejects(resolveChecked(host, emptyPolicy(), resolver), AddressRefusedError);
  });
}

test('resolveChecked passes a public name, and an allowlisted private one', async () => {
  assert.equal((await resolveChecked('public.example', emptyPolicy(), resolver)).length, 2);
  const policy = emptyPolicy();
  policy.allow = parseAddressRules('private.example');
  assert.equal((await resolveChecked('private.example', policy, resolver))[0].address, '10.0.0.7');
});

test('the connect-time lookup honours all/family like dns.lookup and fails closed', async () => {
  const lookup = createSafeLookup(emptyPolicy(), resolver);
  const call = (host: string, opts: object) =>
    new Promise<{ err: unknown; addr: unknown; family: unknown }>((resolve) =>
      lookup(host, opts, (err, addr, family) => resolve({ err, addr, family })),
    );
  const all = await call('public.example', { all: true });
  assert.equal(all.err, null);
  assert.equal((all.addr as LookupAddress[]).length, 2);
  const v6 = await call('public.example', { family: 6 });
  assert.equal(v6.addr, '2606:2800:220:1::1');
  assert.equal(v6.family, 6);
  const bad = await call('mixed.example', { all: true });
  assert.ok(bad.err instanceof AddressRefusedError);
  assert.match((bad.err as Error).message, /192\.168\.1\.10 is a private address/);
  const missing = await call('nope.example', {});
  assert.equal((missing.err as { code?: string }).code, 'ENOTFOUND');
});
