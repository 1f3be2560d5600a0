import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OpenAPIObject } from '@nestjs/swagger';
import { REQUEST_CONTENT_EXTENSION, withRequestContent } from '../../../src/common/openapi/request-content';

test('withRequestContent puts each media type its own schema and drops the extension', () => {
  const own = {
    'multipart/form-data': { schema: { $ref: '#/components/schemas/Multipart' } },
    'application/json': { schema: { $ref: '#/components/schemas/Json' } },
  };
  const doc = {
    openapi: '3.0.0',
    info: { title: 't', version: '1' },
    paths: {
      '/a': {
        post: {
          [REQUEST_CONTENT_EXTENSION]: own,
          requestBody: { required: true, content: { 'multipart/form-data': {}, 'application/json': {} } },
          responses: {},
        },
      },
      '/b': { get: { responses: {} } },
    },
  } as unknown as OpenAPIObject;
  const out = withRequestContent(doc) as unknown as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  assert.deepEqual((out.paths['/a'].post.requestBody as { content: unknown }).content, own);
  assert.equal(REQUEST_CONTENT_EXTENSION in out.paths['/a'].post, false);
  assert.deepEqual(out.paths['/b'].get, { responses: {} });
});
