import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BadRequestException,
  HttpException,
  NotFoundException,
  PayloadTooLargeException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { AppError } from '../../../src/common/app-error';
import { toProblem } from '../../../src/common/problem/to-problem';
import { PROBLEM_CATALOG } from '../../../src/common/problem/problem-catalog';
import { failedProblem } from '../../../src/captioning/caption.service';
import { ImageError, ImageErrorCode, ImageProblem } from '../../../src/image/image.errors';
import { ModelError, ModelErrorCode } from '../../../src/model/model.errors';

function fastifyError(code: string, statusCode: number, message = code): Error {
  return Object.assign(new Error(message), { name: 'FastifyError', code, statusCode });
}

test('AppError passes through as is', () => {
  const problem = { code: 'x.y', status: 418, title: 'T', detail: 'D', extra: { a: 1 } };
  assert.deepEqual(toProblem(new AppError(problem)), { problem, unexpected: false });
});

test('coded errors map to the contract statuses through the one catalog', () => {
  const expected: Record<ModelErrorCode | ImageErrorCode, number> = {
    [ImageErrorCode.Empty]: 400,
    [ImageErrorCode.UnsupportedFormat]: 415,
    [ImageErrorCode.Undecodable]: 422,
    [ImageErrorCode.TooManyPixels]: 422,
    [ImageErrorCode.TooManyFrames]: 422,
    [ModelErrorCode.BadOptions]: 400,
    [ModelErrorCode.BundleInvalid]: 503,
    [ModelErrorCode.InferenceFailed]: 500,
  };
  for (const [code, status] of Object.entries(expected)) {
    const err = code.startsWith('image.')
      ? new ImageError(code as ImageErrorCode, 'internal detail')
      : new ModelError(code as ModelErrorCode, 'internal detail');
    const { problem, unexpected } = toProblem(err);
    assert.equal(problem.status, status, code);
    assert.equal(problem.code, code);
    assert.equal(unexpected, status === 500, code);
    if (status === 500) assert.doesNotMatch(problem.detail, /internal detail/);
  }
});

test('every coded error has one status wherever it surfaces: thrown, as an intake problem, as a failed job', () => {
  for (const code of Object.values(ImageErrorCode)) {
    const err = new ImageError(code, 'why');
    const thrown = toProblem(err).problem;
    const intake = ImageProblem.fromImageError(err).problem;
    const job = failedProblem({ code, message: 'why' }).problem;
    assert.equal(thrown.status, PROBLEM_CATALOG[code].status, code);
    assert.deepEqual([intake.status, intake.code, intake.title], [thrown.status, code, thrown.title], code);
    assert.deepEqual([job.status, job.code, job.title], [thrown.status, code, thrown.title], code);
  }
  for (const code of Object.values(ModelErrorCode)) {
    assert.ok(Object.hasOwn(PROBLEM_CATALOG, code), `${code} is catalogued`);
  }
  // Failures on our side answer a synchronous request as caption.failed, 422.
  for (const code of ['job.processing_failed', 'model.inference_failed', 'something.unknown']) {
    const p = failedProblem({ code, message: 'x' }).problem;
    assert.deepEqual([p.status, p.code], [422, 'caption.failed'], code);
  }
  assert.equal(failedProblem({ code: 'model.bundle_invalid', message: 'x' }).problem.status, 503);
});

test('catalog entries are well-formed: 4xx/5xx statuses and titles', () => {
  for (const [code, { status, title }] of Object.entries(PROBLEM_CATALOG)) {
    assert.match(code, /^[a-z_]+\.[a-z_]+$/, code);
    assert.ok(status >= 400 && status <= 599, code);
    assert.ok(title.length > 0, code);
  }
});

test('Nest HTTP exceptions keep their status; router 404s do not echo the URL', () => {
  assert.equal(toProblem(new BadRequestException('bad prompt')).problem.detail, 'bad prompt');
  assert.equal(toProblem(new PayloadTooLargeException()).problem.code, 'request.too_large');
  const notFound = toProblem(new NotFoundException('Cannot GET /api/v1/x?token=abc')).problem;
  assert.equal(notFound.status, 404);
  assert.doesNotMatch(notFound.detail, /token/);
  assert.equal(toProblem(new NotFoundException('Job not found')).problem.detail, 'Job not found');
  assert.equal(toProblem(new ServiceUnavailableException('queue down')).problem.status, 503);
  const internal = toProblem(new HttpException('secret stuff', 500));
  assert.equal(internal.unexpected, true);
  assert.doesNotMatch(internal.problem.detail, /secret/);
});

test('ThrottlerException is a 429 rate_limit.exceeded', () => {
  const { problem } = toProblem(new ThrottlerException());
  assert.equal(problem.status, 429);
  assert.equal(problem.code, 'rate_limit.exceeded');
});

test('Fastify errors, raw or wrapped by the adapter, map by code', () => {
  const cases: [string, number, number, string][] = [
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 413, 'request.too_large'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 415, 'request.unsupported_media_type'],
    ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 400, 'request.malformed_json'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 400, 'request.malformed_json'],
    ['FST_ERR_SOMETHING_NEW', 431, 431, 'request.headers_too_large'],
  ];
  for (const [code, native, status, problemCode] of cases) {
    const raw = fastifyError(code, native);
    const wrapped = new HttpException(raw.message, native, { cause: raw });
    for (const error of [raw, wrapped]) {
      const { problem, unexpected } = toProblem(error);
      assert.equal(problem.status, status, code);
      assert.equal(problem.code, problemCode, code);
      assert.equal(unexpected, false, code);
    }
  }
});

test('anything else is an unexpected 500 with a generic detail', () => {
  for (const thrown of [new Error('db password hunter2'), 'a string', { weird: true }, null, undefined]) {
    const { problem, unexpected } = toProblem(thrown);
    assert.equal(problem.status, 500);
    assert.equal(unexpected, true);
    assert.equal(problem.detail, 'An unexpected error occurred.');
  }
  // A 5xx Fastify error is a server fault too.
  assert.equal(toProblem(fastifyError('FST_ERR_HANDLER_TIMEOUT', 503)).unexpected, true);
});
