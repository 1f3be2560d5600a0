import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import type { DecodingMode } from '../../model';
import { WEBHOOK_EVENTS } from '../../webhooks/webhook-sender.port';
import { DecodingOption, GenerationOption } from './generation-option.decorator';

/** No control characters (C0, DEL, C1): a prompt is one line of text. */
const NO_CONTROL_CHARS = /^\P{Cc}*$/u;

/** The captioning options, as JSON members or multipart form fields. */
export class CaptionOptionsDto {
  @ApiPropertyOptional({
    description:
      'Conditional captioning: the caption starts with this text. At most 200 characters, no control characters.',
    example: 'a picture of',
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(NO_CONTROL_CHARS, { message: 'prompt must not contain control characters' })
  prompt?: string;

  // Generation options (issue 11): bounds and defaults from GENERATION_BOUNDS.
  @GenerationOption('num_captions') num_captions?: number;
  @DecodingOption() decoding?: DecodingMode;
  @GenerationOption('max_new_tokens') max_new_tokens?: number;
  @GenerationOption('min_new_tokens') min_new_tokens?: number;
  @GenerationOption('num_beams') num_beams?: number;
  @GenerationOption('repetition_penalty') repetition_penalty?: number;
  @GenerationOption('length_penalty') length_penalty?: number;
  @GenerationOption('diversity_penalty') diversity_penalty?: number;
  @GenerationOption('top_p') top_p?: number;
  @GenerationOption('temperature') temperature?: number;
  @GenerationOption('seed') seed?: number;

  @ApiPropertyOptional({
    description:
      "`sync` waits for the captions (up to the server's sync timeout, then 202); `async` answers 202 at once. `Prefer: respond-async` also selects async.",
    enum: ['sync', 'async'],
    default: 'sync',
  })
  @IsOptional()
  @IsIn(['sync', 'async'])
  mode?: 'sync' | 'async';

  @ApiPropertyOptional({
    description:
      'Where to POST the job document when the job starts or finishes (signed per Standard Webhooks). An http(s) URL under the same address policy as image_url. A request with a webhook is asynchronous (202; `Prefer: wait=N` may still wait), except a cache hit: 200 at once, no job and no webhook.',
    example: 'https://hooks.example.com/captions',
    maxLength: 2048,
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @Matches(/^https?:\/\/[^\s]+$/i, { message: 'webhook_url must be an http(s) URL' })
  webhook_url?: string;

  @ApiPropertyOptional({
    description:
      'Which events to deliver: a subset of `started`, `completed` (default `completed`). In multipart: comma-separated.',
    type: [String],
    enum: WEBHOOK_EVENTS,
    example: ['started', 'completed'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENTS.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENTS, { each: true, message: `webhook_events must be among ${WEBHOOK_EVENTS.join(', ')}` })
  webhook_events?: string[];
}

/** application/json: exactly one of image_url and image_base64, plus the options. */
export class CaptionJsonRequestDto extends CaptionOptionsDto {
  @ApiPropertyOptional({
    description: 'An http(s) URL of the image. Private, loopback and link-local addresses are refused.',
    example: 'https://images.example.com/dog.jpg',
    maxLength: 2048,
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  image_url?: string;

  @ApiPropertyOptional({
    description: 'The image bytes in standard base64 (no data: prefix, no line breaks).',
    example: '/9j/4AAQSkZJRgABAQEASABIAAD...',
  })
  @IsOptional()
  @IsString()
  image_base64?: string;
}

/** multipart/form-data: the file `image` plus the options as fields (for the OpenAPI document). */
export class CaptionMultipartRequestDto extends CaptionOptionsDto {
  @ApiProperty({
    type: 'string',
    format: 'binary',
    required: true,
    description: 'The image file (JPEG, PNG, WebP, GIF, AVIF/HEIF, TIFF). Required; no image_url here.',
  })
  image!: unknown;
}
