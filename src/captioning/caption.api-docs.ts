/** OpenAPI documentation of the captioning routes, kept out of the controllers so they stay thin. */
import { applyDecorators } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiExtension,
  ApiExtraModels,
  ApiHeader,
  ApiNotFoundResponse,
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

export function ApiCaptionCreate(): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary: 'Caption an image',
      description:
        'Send the image as multipart/form-data (file field `image`) or as JSON with exactly one of `image_url` and `image_base64`. ' +
        'Answers 200 with the captions (sync, or a cache hit in any mode) or 202 with a job id (async, or a sync request that waited longer than the sync timeout).',
    }),
    ApiExtraModels(CaptionJsonRequestDto, CaptionMultipartRequestDto),
    ApiConsumes('multipart/form-data', 'application/json'),
    ApiBody({ schema: { $ref: getSchemaPath(CaptionJsonRequestDto) } }),
    // One schema per media type: nestjs/swagger gives every consumed type the same schema, so a
    // generated client or fuzzer would send a binary file as JSON. docs.ts puts this in its place.
    ApiExtension(REQUEST_CONTENT_EXTENSION, {
      'multipart/form-data': {
        schema: { $ref: getSchemaPath(CaptionMultipartRequestDto) },
        encoding: { image: { contentType: 'image/*' } },
      },
      'application/json': {
        schema: { $ref: getSchemaPath(CaptionJsonRequestDto) },
        examples: {
          url: { value: { image_url: 'https://images.example.com/dog.jpg', num_captions: 3 } },
          conditional: {
            value: { image_base64: '/9j/4AAQSkZJRgABAQEASABIAAD...', prompt: 'a picture of' },
          },
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
    }),
    ApiHeader({
      name: 'Prefer',
      required: false,
      description: '`respond-async` selects the asynchronous mode.',
    }),
    ApiOkResponse({ type: CaptionSuccessDto, description: 'Captions, best first' }),
    ApiAcceptedResponse({
      type: CaptionAcceptedDto,
      description: 'Accepted: poll the job at the Location header',
      headers: { Location: { description: '/api/v1/caption/{job_id}', schema: { type: 'string' } } },
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
    ),
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
      'The image cannot be decoded, or has too many pixels or frames',
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
    ),
    unavailable,
  );
}

export function ApiJobStatus(): MethodDecorator {
  return applyDecorators(
    ApiOperation({
      summary: 'Status of a caption job',
      description: 'The same body as the synchronous 200 once the job succeeded.',
    }),
    ApiParam({ name: 'job_id', example: '2b1f9c3e-7a4d-4f0e-9c1b-5d8e2a6f3b71' }),
    ApiOkResponse({ type: JobStatusDto }),
    ApiNotFoundResponse({ description: 'Unknown job, or a job of another subject' }),
    ApiProblemResponse(404, 'Unknown job, or a job of another subject', {
      code: 'job.not_found',
      title: 'Not found',
      detail: 'No such job.',
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
