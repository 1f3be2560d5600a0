import { Writable } from 'node:stream';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loggerOptions } from '../../../src/common/logging/logging.module';
import { redactLogObject, sanitizeUrl, serializeRequest } from '../../../src/common/logging/redaction';

test('sanitizeUrl hides credential-like query parameters only', () => {
  assert.equal(sanitizeUrl('/api/v1/caption'), '/api/v1/caption');
  assert.equal(
    sanitizeUrl('/api/v1/caption?token=abc&mode=async&access_token=def'),
    '/api/v1/caption?token=[redacted]&mode=async&access_token=[redacted]',
  );
  assert.equal(sanitizeUrl('/x?Access%5Ftoken=abc'), '/x?Access%5Ftoken=[redacted]');
});

test('the request serializer keeps a header allowlist and a sanitized URL', () => {
  const out = serializeRequest({
    method: 'POST',
    url: '/api/v1/caption?access_token=abc',
    headers: {
      authorization: 'Bearer abc',
      cookie: 'sid=1',
      'user-agent': 'curl',
      'content-type': 'application/json',
    },
    remoteAddress: '10.0.0.1',
  });
  assert.deepEqual(out, {
    method: 'POST',
    url: '/api/v1/caption?access_token=[redacted]',
    headers: { 'user-agent': 'curl', 'content-type': 'application/json' },
    remoteAddress: '10.0.0.1',
  });
});

test('byte arrays become their length', () => {
  const out = redactLogObject({ a: Buffer.alloc(10), nested: { pixels: new Uint8Array(3), keep: 'x' } });
  assert.deepEqual(out, { a: '[10 bytes]', nested: { pixels: '[3 bytes]', keep: 'x' } });
});

test('the logger redacts credentials and image fields anywhere it is given them', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const options = loggerOptions('info');
  const logger = pino({ redact: options.redact, formatters: options.formatters }, sink);
  logger.info({ image_base64: 'iVBORw0KGgoAAAA', authorization: 'Bearer xyz' }, 'top');
  logger.info({ body: { image_base64: 'iVBORw0KGgoAAAA', prompt: 'a dog' } }, 'nested');
  logger.info({ job: { data: { imageBase64: 'iVBORw0KGgoAAAA', token: 'tok' } } }, 'deeper');
  logger.info({ image: Buffer.from('raw image bytes') }, 'buffer');
  logger.info({ jobs: [{ rgb: 'AAECAwQFBgc', password: 'hunter2' }] }, 'array');
  const text = lines.join('');
  assert.doesNotMatch(text, /iVBORw0KGgo|Bearer xyz|"tok"|raw image bytes|AAECAwQFBgc|hunter2/);
  assert.match(text, /a dog/);
  assert.match(text, /\[redacted\]/);
});
