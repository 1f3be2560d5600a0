/** The OpenAPI document of POST /api/v1/caption: one schema per media type, the headers and statuses. */
/* eslint-disable @typescript-eslint/no-explicit-any -- walking the untyped OpenAPI JSON */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptionController } from '../../../src/captioning/caption.controller';
import { CaptionRequestParser } from '../../../src/captioning/caption-request.parser';
import { CaptionService } from '../../../src/captioning/caption.service';
import { createTestApp, type TestApp } from '../common/test-app';

interface Doc {
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, any> };
}

let t: TestApp;
let doc: Doc;

before(async () => {
  t = await createTestApp({
    controllers: [CaptionController],
    providers: [
      { provide: CaptionRequestParser, useValue: {} },
      { provide: CaptionService, useValue: {} },
    ],
  });
  doc = (await t.app.inject({ url: '/docs-json' })).json<Doc>();
});

after(async () => {
  await t.close();
});

const resolve = (ref: string): any => doc.components.schemas[ref.replace('#/components/schemas/', '')];

test('multipart and JSON bodies have their own schemas; multipart requires image and has no image_url', () => {
  const op = doc.paths['/api/v1/caption'].post;
  assert.equal(op['x-request-content'], undefined);
  const content = op.requestBody.content;
  assert.deepEqual(Object.keys(content).sort(), ['application/json', 'multipart/form-data']);
  const form = resolve(content['multipart/form-data'].schema.$ref);
  assert.ok(form.required.includes('image'));
  assert.equal(form.properties.image_url, undefined);
  assert.equal(form.properties.num_captions.type, 'integer');
  assert.equal(content['multipart/form-data'].examples, undefined, 'no JSON examples on multipart');
  const json = content['application/json'];
  const jsonSchema = resolve(json.schema.allOf[0].$ref);
  assert.ok(jsonSchema.properties.image_url);
  assert.equal(jsonSchema.properties.image, undefined);
  assert.equal(jsonSchema.properties.num_captions.type, 'integer');
  assert.deepEqual(json.schema.allOf[1].oneOf, [{ required: ['image_url'] }, { required: ['image_base64'] }]);
  assert.ok(json.examples.url.value.image_url);
});

test('Cache-Control, Idempotency-Key, Cache-Status, Idempotent-Replayed, 409 and 422 are documented', () => {
  const op = doc.paths['/api/v1/caption'].post;
  const headers = op.parameters.filter((p: any) => p.in === 'header').map((p: any) => p.name);
  for (const h of ['Prefer', 'Cache-Control', 'Idempotency-Key']) assert.ok(headers.includes(h), h);
  for (const status of ['200', '202']) {
    assert.match(op.responses[status].headers['Cache-Status'].schema.example, /^captioner; /);
    assert.ok(op.responses[status].headers['Idempotent-Replayed'], status);
  }
  const examples = (status: string): string[] =>
    Object.keys(op.responses[status].content['application/problem+json'].examples ?? {});
  assert.ok(examples('409').includes('idempotency.in_progress'));
  assert.ok(examples('422').includes('idempotency.key_reused'));
  assert.ok(examples('400').includes('idempotency.invalid_key'));
});
