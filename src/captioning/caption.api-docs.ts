/** OpenAPI documentation of the captioning routes, kept out of the controllers so they stay thin. */
import { applyDecorators } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiExtension,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  getSchemaPath,
} from '@nestjs/swagger';
import { REQUEST_CONTENT_EXTENSION } from '../common/openapi/request-content';
import { ApiProblemResponse } from '../common/problem/api-problem.decorator';
import { CaptionJsonRequestDto, CaptionMultipartRequestDto } from './dto/caption-request.dto';
import { CaptionAcceptedDto, CaptionSuccessDto, JobStatusDto, ModelsDto } from './dto/caption-response.dto';

const unavailable = ApiProblemResponse(503, 'The job queue (Redis) is not reachable, or no model is loaded', {
  code: 'service.queue_unavailable',
  title: 'Service unavailable',
  detail: 'The job queue is not reachable; retry shortly.',
});

const CACHE_STATUS = {
  description:
    'RFC 9211: how the cache took part. `captioner; hit`, `captioner; fwd=miss; stored` (computed and cached), ' +
    '`captioner; fwd=miss` (202: still computing), `captioner; fwd=bypass; stored` (the request sent ' +
    '`Cache-Control: no-cache`: recomputed and overwritten), `captioner; fwd=bypass` (no model version known yet).',
  schema: { type: 'string', example: 'captioner; fwd=miss; stored' },
};

const REPLAYED = {
  description: '`true` when this is the kept answer of an earlier request with the same Idempotency-Key.',
  schema: { type: 'string', enum: ['true'], example: 'true' },
};

/**
 * One schema per media type (a multipart form has a file `image` and no image_url; JSON has exactly one
 * of image_url and image_base64), applied to the document by setupDocs.
 */
const CAPTION_REQUEST_CONTENT = {
  'multipart/form-data': {
    schema: { $ref: getSchemaPath(CaptionMultipartRequestDto) },
    encoding: { image: { contentType: 'image/*' } },
  },
  'application/json': {
    schema: {
      allOf: [
        { $ref: getSchemaPath(CaptionJsonRequestDto) },
        { oneOf: [{ required: ['image_url'] }, { required: ['image_base64'] }] },
      ],
    },
    examples: {
      url: { value: { image_url: 'https://images.example.com/dog.jpg', num_captions: 3 } },
      conditional: { value: { image_base64: '/9j/4AAQSkZJRgABAQEASABIAAD...', prompt: 'a picture of' } },
      async: { value: { image_url: 'https://images.example.com/dog.jpg', mode: 'async' } },
      diverse: {
        summary: 'Three different captions (diverse beam search)',
        value: {
          image_url: 'https://images.example.com/dog.jpg',
          num_captions: 3,
          decoding: 'diverse',
          diversity_penalty: 1,
        },
      },
      sample: {
        summary: 'Sampled captions, reproducible from the seed',
        value: {
          image_url: 'https://images.example.com/dog.jpg',
          num_captions: 3,
          decoding: 'sample',
          top_p: 0.9,
          temperature: 0.8,
          seed: 42,
          max_new_tokens: 30,
        },
      },
    },
  },
};

export function ApiCaptionCreate(): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary: 'Caption an image',
      description:
        'Send the image as multipart/form-data (file field `image`) or as JSON with exactly one of `image_url` and `image_base64`. ' +
        'Answers 200 with the captions (sync, or a cache hit in any mode) or 202 with a job id (async, or a sync request that waited longer than the sync timeout).',
    }),
    ApiExtraModels(CaptionJsonRequestDto, CaptionMultipartRequestDto),
    ApiExtension(REQUEST_CONTENT_EXTENSION, CAPTION_REQUEST_CONTENT),
    ApiHeader({
      name: 'Prefer',
      required: false,
      description:
        '`respond-async` selects the asynchronous mode; `wait=N` (RFC 7240) waits up to N seconds (at most the sync timeout) before answering 202. Echoed in `Preference-Applied`.',
      example: 'respond-async, wait=5',
    }),
    ApiHeader({
      name: 'Cache-Control',
      required: false,
      description:
        '`no-cache` (or `max-age=0`): skip the cache look-up, recompute, and overwrite the cached answer.',
      schema: { type: 'string', example: 'no-cache' },
    }),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'IETF httpapi draft: 1-255 printable ASCII characters, as a quoted string or a bare token. A retry with ' +
        'the same key and the same request (image, options, mode) gets the first answer again (same job_id or ' +
        'the same 200 body) with `Idempotent-Replayed: true`, for IDEMPOTENCY_TTL_SECONDS; keys are per subject.',
      schema: { type: 'string', maxLength: 255, example: '"8e03978e-40d5-43e8-bc93-6894a57f9324"' },
    }),
    ApiOkResponse({
      type: CaptionSuccessDto,
      description: 'Captions, best first',
      headers: { 'Cache-Status': CACHE_STATUS, 'Idempotent-Replayed': REPLAYED },
    }),
    ApiAcceptedResponse({
      type: CaptionAcceptedDto,
      description: 'Accepted: poll the job at the Location header after Retry-After seconds',
      headers: {
        Location: { description: '/api/v1/caption/{job_id}', schema: { type: 'string' } },
        'Cache-Status': { ...CACHE_STATUS, schema: { type: 'string', example: 'captioner; fwd=miss' } },
        'Idempotent-Replayed': REPLAYED,
        'Retry-After': {
          description: 'Seconds before the first poll (1-10)',
          schema: { type: 'integer', example: 2 },
        },
        'Preference-Applied': {
          description: 'The Prefer preferences honoured',
          schema: { type: 'string', example: 'respond-async, wait=5' },
        },
      },
    }),
    ApiProblemResponse(
      400,
      'Bad options (the failing fields in `errors`), bad base64, or an image_url that is refused or cannot be fetched',
      {
        code: 'request.invalid',
        title: 'Invalid request',
        detail: 'num_captions must not be greater than 5',
        extra: { errors: [{ field: 'num_captions', messages: ['num_captions must not be greater than 5'] }] },
      },
      {
        code: 'image_url.refused',
        title: 'image_url refused',
        detail: 'image_url refused: the address 10.0.0.7 is a private address.',
      },
      {
        code: 'idempotency.invalid_key',
        title: 'Invalid Idempotency-Key',
        detail: 'An Idempotency-Key is 1-255 printable ASCII characters (e.g. a UUID).',
      },
      {
        code: 'request.invalid',
        title: 'Invalid request',
        detail: 'Prefer: wait must be a non-negative integer number of seconds, not "soon".',
      },
    ),
    ApiProblemResponse(409, 'The first request with this Idempotency-Key is still being answered', {
      code: 'idempotency.in_progress',
      title: 'Request in progress',
      detail: 'The first request with this Idempotency-Key is still being answered; retry shortly.',
    }),
    ApiProblemResponse(413, 'The image is over MAX_UPLOAD_BYTES (or URL_FETCH_MAX_BYTES)', {
      code: 'image.too_large',
      title: 'Image too large',
      detail: 'The image file is over the upload limit of 10485760 bytes.',
    }),
    ApiProblemResponse(415, 'Not a supported image (SVG, PDF, anything not a raster image)', {
      code: 'image.unsupported_format',
      title: 'Unsupported image format',
      detail:
        'Unsupported image format: the upload is an SVG image. Send JPEG, PNG, WebP, GIF, AVIF/HEIF or TIFF.',
    }),
    ApiProblemResponse(
      422,
      'The image cannot be decoded, or has too many pixels or frames, or the Idempotency-Key was used for another request',
      {
        code: 'image.undecodable',
        title: 'Undecodable image',
        detail: 'The image could not be decoded: VipsJpeg: premature end of JPEG image',
      },
      {
        code: 'image.too_many_pixels',
        title: 'Image has too many pixels',
        detail: 'The image is 20000x14000 (280000000 pixels); the limit is 50000000 pixels.',
      },
      {
        code: 'idempotency.key_reused',
        title: 'Idempotency-Key reused',
        detail:
          'This Idempotency-Key was already used for a different request (another image, options or mode). ' +
          'Use a new key for a new request.',
      },
    ),
    unavailable,
  );
}

const notFoundProblem = ApiProblemResponse(404, 'Unknown job, or a job of another subject', {
  code: 'job.not_found',
  title: 'Not found',
  detail: 'No such job.',
});

const jobExamples = {
  processing: {
    summary: 'Waiting in the queue',
    value: {
      status: 'processing',
      job_id: '2b1f9c3e-7a4d-4f0e-9c1b-5d8e2a6f3b71',
      estimated_time_seconds: 12,
      queue_position: 3,
      created_at: '2026-12-05T12:00:00.000Z',
    },
  },
  success: {
    summary: 'Done',
    value: {
      status: 'success',
      job_id: '2b1f9c3e-7a4d-4f0e-9c1b-5d8e2a6f3b71',
      captions: [{ text: 'a dog running on a beach', confidence: 0.83 }],
      model: { id: 'Salesforce/blip-image-captioning-base', version: '3c7f5b0e1a2d4c69' },
      cached: false,
      image: {
        sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
        width: 640,
        height: 480,
      },
      created_at: '2026-12-05T12:00:00.000Z',
      started_at: '2026-12-05T12:00:00.412Z',
      completed_at: '2026-12-05T12:00:02.282Z',
      metrics: { queue_seconds: 0.412, inference_seconds: 1.87 },
    },
  },
  failed: {
    summary: 'Failed on its input',
    value: {
      status: 'failed',
      job_id: '2b1f9c3e-7a4d-4f0e-9c1b-5d8e2a6f3b71',
      error: { code: 'image.undecodable', message: 'The image could not be decoded.' },
      created_at: '2026-12-05T12:00:00.000Z',
      started_at: '2026-12-05T12:00:00.412Z',
      completed_at: '2026-12-05T12:00:00.530Z',
      metrics: { queue_seconds: 0.412, inference_seconds: 0.118 },
    },
  },
  canceled: {
    summary: 'Canceled by its owner',
    value: {
      status: 'canceled',
      job_id: '2b1f9c3e-7a4d-4f0e-9c1b-5d8e2a6f3b71',
      created_at: '2026-12-05T12:00:00.000Z',
      completed_at: '2026-12-05T12:00:01.020Z',
      metrics: { queue_seconds: 1.02 },
    },
  },
};

export function ApiJobStatus(): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary: 'Status of a caption job',
      description:
        'The job document: the same body as the synchronous 200 once the job succeeded, with its lifecycle times. While processing, a `Retry-After` header says when to poll again.',
    }),
    ApiParam({ name: 'job_id', example: '2b1f9c3e-7a4d-4f0e-9c1b-5d8e2a6f3b71' }),
    ApiOkResponse({
      type: JobStatusDto,
      headers: {
        'Retry-After': {
          description: 'While processing: seconds before the next poll',
          schema: { type: 'integer' },
        },
      },
      examples: jobExamples,
    }),
    notFoundProblem,
    unavailable,
  );
}

export function ApiJobCancel(): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary: 'Cancel a caption job',
      description:
        "A waiting job leaves the queue; a running one finishes its batch (its captions still fill the cache) but the job reads `canceled`. Only the job's owner can cancel it.",
    }),
    ApiParam({ name: 'job_id', example: '2b1f9c3e-7a4d-4f0e-9c1b-5d8e2a6f3b71' }),
    ApiOkResponse({
      type: JobStatusDto,
      description: 'The job document, now canceled',
      examples: { canceled: jobExamples.canceled },
    }),
    notFoundProblem,
    ApiProblemResponse(409, 'The job already finished (its state is in job_status)', {
      code: 'job.finished',
      title: 'Job already finished',
      detail: 'The job is success: only a waiting or running job can be canceled.',
    }),
    unavailable,
  );
}

export function ApiModels(): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary: 'The loaded model',
      description: 'Id, version, preprocessing and generation defaults.',
    }),
    ApiOkResponse({ type: ModelsDto }),
    ApiProblemResponse(503, 'No model loaded yet', {
      code: 'model.unavailable',
      title: 'Model unavailable',
      detail: 'No model is loaded yet (in queue mode: no worker has announced one).',
    }),
  );
}
