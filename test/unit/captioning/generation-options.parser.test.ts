/** Issue 11: every generation option through the request parser, JSON and multipart, good and bad values. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { AppError } from '../../../src/common/app-error';
import { CaptionRequestParser } from '../../../src/captioning/caption-request.parser';
import { useBufferedMultipartParser } from '../../../src/bootstrap/multipart-body.parser';
import { ImageIntake } from '../../../src/image/image-intake.service';
import { ImageSettings } from '../../../src/image/image.settings';
import { GENERATION_BOUNDS, generationOptionsDescription } from '../../../src/model/caption-model.port';
import { multipart } from '../../helpers/multipart';

let app: FastifyInstance;

before(async () => {
  const parser = new CaptionRequestParser(
    new ImageIntake(Object.assign(new ImageSettings(), { MAX_UPLOAD_BYTES: 4096 })),
  );
  app = Fastify();
  useBufferedMultipartParser(app, 1024 * 1024);
  app.post('/parse', async (req, reply) => {
    try {
      return { options: (await parser.parse(req)).options };
    } catch (err) {
      if (err instanceof AppError) return reply.status(err.problem.status).send(err.problem);
      throw err;
    }
  });
  await app.ready();
});

after(async () => {
  await app.close();
});

interface Answer {
  status: number;
  body: { options?: Record<string, unknown>; detail?: string; extra?: { errors?: { field: string }[] } };
}

async function json(options: object): Promise<Answer> {
  const res = await app.inject({
    method: 'POST',
    url: '/parse',
    payload: { image_base64: 'QUJD', ...options },
  });
  return { status: res.statusCode, body: res.json() };
}

async function form(fields: Record<string, string>): Promise<Answer> {
  const f = multipart([
    { name: 'image', filename: 'a.jpg', data: Buffer.alloc(100, 1) },
    ...Object.entries(fields).map(([name, value]) => ({ name, value })),
  ]);
  const res = await app.inject({
    method: 'POST',
    url: '/parse',
    payload: f.body,
    headers: { 'content-type': f.contentType },
  });
  return { status: res.statusCode, body: res.json() };
}

test('accepted: every option at its bounds, in JSON and as multipart text', async () => {
  const cases: [Record<string, string | number>, Record<string, unknown>][] = [
    [
      {
        decoding: 'beam',
        num_beams: 8,
        max_new_tokens: 60,
        min_new_tokens: 60,
        repetition_penalty: 2,
        length_penalty: -1,
      },
      {
        decoding: 'beam',
        numBeams: 8,
        maxNewTokens: 60,
        minNewTokens: 60,
        repetitionPenalty: 2,
        lengthPenalty: -1,
      },
    ],
    [
      { decoding: 'diverse', num_captions: 3, num_beams: 6, diversity_penalty: 0.1 },
      { decoding: 'diverse', numCaptions: 3, numBeams: 6, diversityPenalty: 0.1 },
    ],
    [
      {
        decoding: 'sample',
        num_captions: 5,
        top_p: 0.05,
        temperature: 2,
        seed: 4294967295,
        max_new_tokens: 1,
      },
      { decoding: 'sample', numCaptions: 5, topP: 0.05, temperature: 2, seed: 4294967295, maxNewTokens: 1 },
    ],
    [
      { decoding: 'sample', top_p: 1, temperature: 0.1, seed: 0 },
      { decoding: 'sample', topP: 1, temperature: 0.1, seed: 0 },
    ],
  ];
  for (const [options, expected] of cases) {
    const a = await json(options);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual(a.body.options, { numCaptions: 1, ...expected });
    const b = await form(Object.fromEntries(Object.entries(options).map(([k, v]) => [k, String(v)])));
    assert.equal(b.status, 200, JSON.stringify(b.body));
    assert.deepEqual(b.body.options, { numCaptions: 1, ...expected });
  }
});

test('refused with 400 naming the field: out of bounds, wrong type, wrong mode, rules between fields', async () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ decoding: 'greedy' }, 'decoding', /decoding must be one of/],
    [{ max_new_tokens: 0 }, 'max_new_tokens', /max_new_tokens must not be less than 1/],
    [{ max_new_tokens: 61 }, 'max_new_tokens', /max_new_tokens must not be greater than 60/],
    [{ max_new_tokens: 2.5 }, 'max_new_tokens', /max_new_tokens must be an integer/],
    [{ max_new_tokens: '20' }, 'max_new_tokens', /max_new_tokens must be an integer/],
    [{ min_new_tokens: -1 }, 'min_new_tokens', /min_new_tokens must not be less than 0/],
    [{ min_new_tokens: 30, max_new_tokens: 10 }, 'min_new_tokens', /must not be greater than max_new_tokens/],
    [{ num_beams: 9 }, 'num_beams', /num_beams must not be greater than 8/],
    [{ num_beams: 0 }, 'num_beams', /num_beams must not be less than 1/],
    [{ num_beams: 2, num_captions: 3 }, 'num_beams', /at least num_captions/],
    [{ decoding: 'diverse', num_beams: 5, num_captions: 2 }, 'num_beams', /multiple of num_captions/],
    [{ decoding: 'sample', num_beams: 2 }, 'num_beams', /applies only when decoding is beam or diverse/],
    [{ repetition_penalty: 0.9 }, 'repetition_penalty', /must not be less than 1/],
    [{ repetition_penalty: 2.01 }, 'repetition_penalty', /must not be greater than 2/],
    [{ repetition_penalty: 'x' }, 'repetition_penalty', /must be a number/],
    [{ length_penalty: 3 }, 'length_penalty', /must not be greater than 2/],
    [
      { decoding: 'sample', length_penalty: 1.5 },
      'length_penalty',
      /applies only when decoding is beam or diverse/,
    ],
    [{ decoding: 'diverse', diversity_penalty: 0 }, 'diversity_penalty', /must not be less than 0.1/],
    [{ decoding: 'diverse', diversity_penalty: 6 }, 'diversity_penalty', /must not be greater than 5/],
    [
      { diversity_penalty: 1 },
      'diversity_penalty',
      /applies only when decoding is diverse \(decoding is beam\)/,
    ],
    [{ decoding: 'sample', top_p: 0 }, 'top_p', /top_p must not be less than 0.05/],
    [{ decoding: 'sample', top_p: 1.1 }, 'top_p', /top_p must not be greater than 1/],
    [{ top_p: 0.9 }, 'top_p', /applies only when decoding is sample/],
    [{ decoding: 'sample', temperature: 0 }, 'temperature', /must not be less than 0.1/],
    [{ decoding: 'sample', temperature: 2.5 }, 'temperature', /must not be greater than 2/],
    [{ decoding: 'diverse', temperature: 1 }, 'temperature', /applies only when decoding is sample/],
    [{ decoding: 'sample', seed: -1 }, 'seed', /seed must not be less than 0/],
    [{ decoding: 'sample', seed: 2 ** 32 }, 'seed', /seed must not be greater than 4294967295/],
    [{ decoding: 'sample', seed: 1.5 }, 'seed', /seed must be an integer/],
    [{ seed: 7 }, 'seed', /applies only when decoding is sample/],
  ];
  for (const [options, field, detail] of cases) {
    const a = await json(options);
    assert.equal(a.status, 400, JSON.stringify(options));
    assert.match(String(a.body.detail), detail, JSON.stringify(options));
    assert.ok(
      a.body.extra?.errors?.some((e) => e.field === field),
      `${JSON.stringify(options)} names ${field}`,
    );
  }
  for (const [fields, field, detail] of [
    [{ max_new_tokens: 'lots' }, 'max_new_tokens', /max_new_tokens must be an integer/],
    [{ top_p: '0.5' }, 'top_p', /applies only when decoding is sample/],
    [{ decoding: 'sample', temperature: '1e9' }, 'temperature', /must not be greater than 2/],
    [{ decoding: 'sample', seed: 'NaN' }, 'seed', /seed must be an integer/],
  ] as [Record<string, string>, string, RegExp][]) {
    const b = await form(fields);
    assert.equal(b.status, 400, JSON.stringify(fields));
    assert.match(String(b.body.detail), detail);
    assert.ok(b.body.extra?.errors?.some((e) => e.field === field));
  }
});

test('GET /models description: every option with the defaults and bounds of the one table', () => {
  const d = generationOptionsDescription() as Record<
    string,
    { default: unknown; min?: number; max?: number }
  >;
  assert.deepEqual(d.decoding, { default: 'beam', values: ['beam', 'diverse', 'sample'] });
  for (const [field, b] of Object.entries(GENERATION_BOUNDS)) {
    assert.equal(d[field].min, b.min);
    assert.equal(d[field].max, b.max);
    assert.equal(d[field].default, b.default);
  }
  assert.equal(d.max_new_tokens.default, 20);
  assert.equal(d.max_new_tokens.max, 60);
  assert.equal(d.num_beams.max, 8);
});
