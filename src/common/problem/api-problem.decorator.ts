/** OpenAPI documentation of problem+json answers, for any controller. */
import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { problemType } from './problem';

/** The shape of every error answer (RFC 9457). For the OpenAPI document only. */
export class ProblemDto {
  @ApiProperty({ example: 'urn:captioner:problem:auth.unauthorized' }) type!: string;
  @ApiProperty({ example: 'Unauthorized' }) title!: string;
  @ApiProperty({ example: 401 }) status!: number;
  @ApiProperty({ example: 'A Bearer access token is required.' }) detail!: string;
  @ApiPropertyOptional({ example: '/api/v1/caption' }) instance?: string;
  @ApiProperty({ example: '7f1c7a62-5f43-4a4e-9a5e-2d0c3a9b1c11' }) request_id!: string;
}

export interface ProblemExample {
  code: string;
  title: string;
  detail: string;
  extra?: Record<string, unknown>;
}

/** Documents one error status with problem+json examples. */
export function ApiProblemResponse(
  status: number,
  description: string,
  ...examples: ProblemExample[]
): MethodDecorator & ClassDecorator {
  const named = Object.fromEntries(
    examples.map((e) => [
      e.code,
      {
        value: {
          type: problemType(e.code),
          title: e.title,
          status,
          detail: e.detail,
          instance: '/api/v1/caption',
          request_id: '7f1c7a62-5f43-4a4e-9a5e-2d0c3a9b1c11',
          ...e.extra,
        },
      },
    ]),
  );
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ApiResponse({
      status,
      description,
      content: {
        'application/problem+json': {
          schema: { $ref: getSchemaPath(ProblemDto) },
          ...(examples.length > 0 ? { examples: named } : {}),
        },
      },
    }),
  );
}
