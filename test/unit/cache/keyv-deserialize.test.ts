import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyv } from 'keyv';
import { mayHoldEscapedString, useFastDeserialize } from '../../../src/cache/keyv-deserialize';

const plain = new Keyv();
const fast = new Keyv();
useFastDeserialize(fast);

async function roundTrip(value: unknown): Promise<void> {
  const text = await plain.serialize?.({ value, expires: 123 });
  assert.equal(typeof text, 'string');
  const expected = await plain.deserialize?.(text as string);
  assert.deepEqual(await fast.deserialize?.(text as string), expected, text as string);
}

test('a cached caption takes the fast path and reads back the same', async () => {
  const caption = {
    captions: [{ text: 'a dog running on a beach', confidence: 0.83 }],
    model: { id: 'Salesforce/blip-image-captioning-base', version: 'abc' },
    image: { sha256: 'f'.repeat(64), width: 640, height: 480 },
  };
  const text = (await plain.serialize?.({ value: caption, expires: 1 })) as string;
  assert.equal(mayHoldEscapedString(text), false);
  await roundTrip(caption);
});

test('strings starting with a colon, Buffers and awkward keys read back exactly as Keyv reads them', async () => {
  for (const value of [
    ':x',
    '::x',
    ':base64:aGk=',
    Buffer.from('hi'),
    { text: ':smile:' },
    [':a', 'b', [':c']],
    { 'a,': ':v', ':k': 'v', '[': [':z'], 'q"': ' :', 'b\\': '\\":' },
    { nested: { deeper: { deepest: [{ t: ':' }] } } },
    'plain',
    42,
    null,
  ]) {
    await roundTrip(value);
  }
});

test('random values over an alphabet of JSON punctuation read back exactly as Keyv reads them', async () => {
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const alphabet = [':', ',', '[', ']', '{', '}', '"', '\\', ' ', 'a', 'b', '\n', 'é'];
  const str = (): string =>
    Array.from({ length: Math.floor(next() * 6) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(
      '',
    );
  const value = (depth: number): unknown => {
    const r = next();
    if (depth > 2 || r < 0.4) return str();
    if (r < 0.5) return Math.floor(next() * 100);
    if (r < 0.75) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
    return Object.fromEntries(
      Array.from({ length: Math.floor(next() * 4) }, () => [str(), value(depth + 1)]),
    );
  };
  for (let i = 0; i < 2000; i++) await roundTrip(value(0));
});
