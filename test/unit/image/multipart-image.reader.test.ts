/** The multipart/form-data reader on whole bodies: what browsers and HTTP clients send, and what they must not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../src/common/app-error';
import { parseMultipartImage, type MultipartLimits } from '../../../src/image/multipart-image.reader';
import { multipart } from '../../helpers/multipart';

const LIMITS: MultipartLimits = { maxFileBytes: 4096, fieldNames: ['prompt', 'mode'], maxFieldBytes: 100 };
const file = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x0d, 0x0a, 0x2d, 0x2d, 0x00, 0x01]);

function raw(boundary: string, text: string): { body: Buffer; contentType: string } {
  return { body: Buffer.from(text, 'utf8'), contentType: `multipart/form-data; boundary=${boundary}` };
}

function refusal(body: Buffer, contentType: string | undefined): { status: number; detail: string } {
  try {
    parseMultipartImage(body, contentType, LIMITS);
  } catch (err) {
    assert.ok(err instanceof AppError, `not an AppError: ${String(err)}`);
    return { status: err.problem.status, detail: err.problem.detail };
  }
  assert.fail('accepted');
}

test('the file and fields of a form; the image is a view of the body, byte for byte', () => {
  const form = multipart([
    { name: 'prompt', value: 'a picture of' },
    { name: 'image', filename: 'cat.jpg', data: file, contentType: 'image/jpeg' },
    { name: 'mode', value: 'sync' },
  ]);
  const read = parseMultipartImage(form.body, form.contentType, LIMITS);
  assert.deepEqual([...read.bytes], [...file]);
  assert.equal(read.bytes.buffer, form.body.buffer, 'copied instead of viewed');
  assert.equal(read.filename, 'cat.jpg');
  assert.deepEqual(read.fields, { prompt: 'a picture of', mode: 'sync' });
});

test('what clients send: UTF-8 and RFC 5987 filenames, quoted boundaries, preamble and epilogue, no Content-Type', () => {
  const utf8 = multipart([{ name: 'image', filename: '写真 été.jpg', data: file }]);
  assert.equal(parseMultipartImage(utf8.body, utf8.contentType, LIMITS).filename, '写真 été.jpg');
  const starred = raw(
    'b1',
    'preamble to ignore\r\n--b1\r\nContent-Disposition: form-data; name="image"; filename*=UTF-8\'\'%E5%86%99.png\r\n\r\nPNG\r\n--b1--\r\nepilogue',
  );
  const read = parseMultipartImage(starred.body, 'multipart/form-data; boundary="b1"', LIMITS);
  assert.equal(read.filename, '写.png');
  assert.equal(read.bytes.toString(), 'PNG');
  const field = raw(
    'b2',
    '--b2\r\nContent-Disposition: form-data; name="image"; filename="x"\r\n\r\nX\r\n--b2\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nété\r\n--b2--',
  );
  assert.equal(parseMultipartImage(field.body, field.contentType, LIMITS).fields.prompt, 'été');
});

test('sizes: a file at the limit is whole, one byte over is a 413; a field over its limit is a 413 naming it', () => {
  const at = multipart([{ name: 'image', filename: 'a', data: Buffer.alloc(4096, 7) }]);
  assert.equal(parseMultipartImage(at.body, at.contentType, LIMITS).bytes.length, 4096);
  const over = multipart([{ name: 'image', filename: 'a', data: Buffer.alloc(4097, 7) }]);
  assert.match(refusal(over.body, over.contentType).detail, /over the upload limit of 4096/);
  assert.equal(refusal(over.body, over.contentType).status, 413);
  const long = multipart([
    { name: 'image', filename: 'a', data: file },
    { name: 'prompt', value: 'x'.repeat(101) },
  ]);
  assert.deepEqual(refusal(long.body, long.contentType), {
    status: 413,
    detail: 'The form field "prompt" is too long.',
  });
});

// The refusals every caller sees (extra file, unknown, repeated or misplaced fields, no file) are tested
// through the request parser (test/unit/captioning/caption-request.parser.test.ts); these are the reader's own.
test('refusals of the reader itself: prototype names, long names echoed cut, too many parts', () => {
  const image = { name: 'image', filename: 'a', data: file };
  const cases: [ReturnType<typeof multipart>, number, RegExp][] = [
    [multipart([image, { name: '__proto__', value: 'x' }]), 400, /Unexpected form field "__proto__"/],
    [multipart([image, { name: 'x'.repeat(500), value: 'x' }]), 400, /Unexpected form field "x{64}\.\.\."/],
    [
      multipart([
        image,
        { name: 'prompt', value: 'a' },
        { name: 'mode', value: 'b' },
        { name: 'prompt', value: 'c' },
      ]),
      413,
      /Too many form parts/,
    ],
  ];
  for (const [form, status, detail] of cases) {
    const r = refusal(form.body, form.contentType);
    assert.equal(r.status, status, r.detail);
    assert.match(r.detail, detail);
  }
});

test('malformed forms are 400s and oversized part headers 413s, never a server error', () => {
  const good = multipart([
    { name: 'image', filename: 'a', data: file },
    { name: 'prompt', value: 'hello' },
  ]);
  const boundary = /boundary=(.*)$/.exec(good.contentType)?.[1] ?? '';
  const bad: [Buffer, string | undefined, number][] = [
    [good.body, 'multipart/form-data', 400],
    [good.body, undefined, 400],
    [good.body, 'multipart/form-data; boundary=', 400],
    [good.body, 'multipart/form-data; boundary=other', 400],
    [Buffer.alloc(0), good.contentType, 400],
    [good.body.subarray(0, good.body.length - 10), good.contentType, 400],
    [good.body.subarray(0, 60), good.contentType, 400],
    [
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${boundary}--`),
      good.contentType,
      400,
    ],
    [
      Buffer.from(
        `--${boundary}\r\nX-Pad: ${'a'.repeat(5000)}\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\nx\r\n--${boundary}--`,
      ),
      good.contentType,
      413,
    ],
  ];
  // A filename* that is not valid percent-encoding is only a name: decoded leniently, not refused.
  const odd = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename*=UTF-8''%E5%ZZ\r\n\r\nx\r\n--${boundary}--`,
  );
  assert.equal(parseMultipartImage(odd, good.contentType, LIMITS).bytes.toString(), 'x');
  for (const [body, type, status] of bad)
    assert.equal(refusal(body, type).status, status, `${type} ${body.length}`);
});

test('any corruption of a valid form is accepted or refused with a 4xx, never thrown as anything else', () => {
  const form = multipart([
    { name: 'image', filename: 'ünï.jpg', data: file },
    { name: 'prompt', value: 'a picture of' },
    { name: 'mode', value: 'async' },
  ]);
  let seed = 12345;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const alphabet = Buffer.from('-\r\n:;="\\*%\'\x00\xff abcdeimnprt');
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const body = Buffer.from(form.body);
    for (let k = 1 + next(4); k > 0; k--) {
      const at = next(body.length);
      const op = next(3);
      if (op === 0) body[at] = alphabet[next(alphabet.length)];
      else if (op === 1) body.copyWithin(at, Math.min(body.length - 1, at + 1 + next(8)));
      else body[at] = next(256);
    }
    const cut = next(5) === 0 ? body.subarray(0, next(body.length)) : body;
    try {
      parseMultipartImage(cut, form.contentType, LIMITS);
      accepted++;
    } catch (err) {
      assert.ok(err instanceof AppError, `corruption ${i} threw ${String(err)}`);
      assert.ok(
        err.problem.status === 400 || err.problem.status === 413,
        `corruption ${i}: ${err.problem.status}`,
      );
    }
  }
  assert.ok(accepted > 0 && accepted < 3000, `accepted ${accepted} of 3000`);
});
