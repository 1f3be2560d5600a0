import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../src/common/app-error';
import { decodedBase64Length, decodeStrictBase64 } from '../../../src/image/base64-image';

const status = (fn: () => unknown): number => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err.problem.status;
    throw err;
  }
  return 200;
};

test('strict base64 decodes canonical text', () => {
  const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253]);
  assert.deepEqual(decodeStrictBase64(bytes.toString('base64'), 100), bytes);
  assert.equal(decodedBase64Length('QUJD'), 3);
  assert.equal(decodedBase64Length('QUI='), 2);
  assert.equal(decodedBase64Length('QQ=='), 1);
});

test('strict base64 refuses whitespace, url-safe alphabet, bad padding, data: URLs and stray bits', () => {
  for (const bad of [
    'QUJD\nQUJD',
    'QU JD',
    'ab-_',
    'QUJ',
    'Q===',
    'QU=D',
    'data:image/png;base64,QUJD',
    'QR==',
  ]) {
    assert.equal(
      status(() => decodeStrictBase64(bad, 100)),
      400,
      bad,
    );
  }
});

test('the size is checked from the text length before decoding: 413', () => {
  const text = 'A'.repeat(4 * 1000); // 3000 bytes
  assert.equal(
    status(() => decodeStrictBase64(text, 2999)),
    413,
  );
  assert.equal(decodeStrictBase64(text, 3000).length, 3000);
  // Over the limit AND not base64: the size answer comes first, nothing was decoded.
  assert.equal(
    status(() => decodeStrictBase64('!'.repeat(4000), 100)),
    413,
  );
});

test('empty base64 is a 400', () => {
  assert.equal(
    status(() => decodeStrictBase64('', 100)),
    400,
  );
});
