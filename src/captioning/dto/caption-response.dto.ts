import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class CaptionDto {
  @ApiProperty({ example: 'a dog running on a beach' }) text!: string;
  @ApiProperty({
    example: 0.83,
    description: 'exp(mean log-probability of the generated tokens), in (0, 1].',
  })
  confidence!: number;
}

export class ModelRefDto {
  @ApiProperty({ example: 'Salesforce/blip-image-captioning-base' }) id!: string;
  @ApiProperty({ example: '3c7f5b0e1a2d4c69' }) version!: string;
}

export class ImageInfoDto {
  @ApiProperty({ example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' })
  sha256!: string;
  @ApiProperty({ example: 640 }) width!: number;
  @ApiProperty({ example: 480 }) height!: number;
}

export class CaptionSuccessDto {
  @ApiProperty({ enum: ['success'], example: 'success' }) status!: 'success';
  @ApiProperty({ type: [CaptionDto] }) captions!: CaptionDto[];
  @ApiProperty({ type: ModelRefDto }) model!: ModelRefDto;
  @ApiProperty({ example: false, description: 'True when answered from the cache.' }) cached!: boolean;
  @ApiProperty({ type: ImageInfoDto }) image!: ImageInfoDto;
}

export class CaptionAcceptedDto {
  @ApiProperty({ enum: ['processing'], example: 'processing' }) status!: 'processing';
  @ApiProperty({ example: '2b1f9c3e-7a4d-4f0e-9c1b-5d8e2a6f3b71' }) job_id!: string;
  @ApiProperty({ example: 2 }) estimated_time_seconds!: number;
}

export class JobErrorDto {
  @ApiProperty({ example: 'job.processing_failed' }) code!: string;
  @ApiProperty({ example: 'Captioning failed after 3 attempts.' }) message!: string;
}

export class JobMetricsDto {
  @ApiPropertyOptional({ example: 0.412, description: 'Seconds from acceptance to the start of inference.' })
  queue_seconds?: number;
  @ApiPropertyOptional({ example: 1.87, description: 'Seconds the worker spent on the job (its batch).' })
  inference_seconds?: number;
}

export class JobWebhookDto {
  @ApiProperty({ enum: ['pending', 'delivered', 'failed'], example: 'delivered' }) status!:
    'pending' | 'delivered' | 'failed';
  @ApiProperty({ example: 1, description: 'Delivery attempts so far.' }) attempts!: number;
  @ApiPropertyOptional({ example: 200, description: "The receiver's last HTTP status." })
  last_status_code?: number;
}

export class JobStatusDto {
  @ApiProperty({
    enum: ['processing', 'success', 'failed', 'canceled'],
    example: 'success',
    description:
      '`processing` until the job finishes (then `success` or `failed`); `canceled` after POST .../cancel.',
  })
  status!: 'processing' | 'success' | 'failed' | 'canceled';
  @ApiProperty({ example: '2b1f9c3e-7a4d-4f0e-9c1b-5d8e2a6f3b71' }) job_id!: string;
  @ApiPropertyOptional({ type: [CaptionDto] }) captions?: CaptionDto[];
  @ApiPropertyOptional({ type: ModelRefDto }) model?: ModelRefDto;
  @ApiPropertyOptional({ example: false }) cached?: boolean;
  @ApiPropertyOptional({ type: ImageInfoDto }) image?: ImageInfoDto;
  @ApiPropertyOptional({ type: JobErrorDto }) error?: JobErrorDto;
  @ApiPropertyOptional({
    example: 2,
    description:
      'While processing: seconds until done, from the measured recent batch durations and the live workers.',
  })
  estimated_time_seconds?: number;
  @ApiPropertyOptional({ example: '2026-12-05T12:00:00.000Z', description: 'Accepted at (RFC 3339, UTC).' })
  created_at?: string;
  @ApiPropertyOptional({ example: '2026-12-05T12:00:00.412Z', description: 'Inference started at.' })
  started_at?: string;
  @ApiPropertyOptional({
    example: '2026-12-05T12:00:02.282Z',
    description: 'Finished (or canceled) at.',
  })
  completed_at?: string;
  @ApiPropertyOptional({ type: JobMetricsDto }) metrics?: JobMetricsDto;
  @ApiPropertyOptional({ example: 3, description: 'While waiting: jobs ahead of this one in the queue.' })
  queue_position?: number;
  @ApiPropertyOptional({ type: JobWebhookDto, description: 'With webhook_url: the delivery state.' })
  webhook?: JobWebhookDto;
}

export class ModelDescriptionDto {
  @ApiProperty({ example: 'Salesforce/blip-image-captioning-base' }) id!: string;
  @ApiProperty({ example: '3c7f5b0e1a2d4c69' }) version!: string;
  @ApiProperty({ example: '82a1d8f7c3e4b5a6d7e8f9a0b1c2d3e4f5a6b7c8' }) revision!: string;
  @ApiProperty({ enum: ['fp32', 'int8'], example: 'fp32' }) variant!: string;
  @ApiProperty({ example: 'cpu' }) execution_provider!: string;
  @ApiProperty({ example: 384 }) image_size!: number;
  @ApiProperty({ example: { size: 384, resample: 'bicubic', rescale_factor: 0.00392156862745098 } })
  preprocessing!: Record<string, unknown>;
  @ApiProperty({ example: { max_new_tokens: 20, num_beams: 1 } }) generation!: Record<string, unknown>;
  @ApiProperty({
    description:
      'The request options of POST /api/v1/caption: each default (null = derived) and bounds, and the decoding modes it applies to.',
    example: {
      decoding: { default: 'beam', values: ['beam', 'diverse', 'sample'] },
      max_new_tokens: { default: 20, min: 1, max: 60, integer: true, modes: ['beam', 'diverse', 'sample'] },
      top_p: { default: 0.9, min: 0.05, max: 1, integer: false, modes: ['sample'] },
    },
  })
  options!: Record<string, unknown>;
}

export class ModelsDto {
  @ApiProperty({ type: [ModelDescriptionDto] }) models!: ModelDescriptionDto[];
}
