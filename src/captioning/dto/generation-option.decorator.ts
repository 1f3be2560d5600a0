/**
 * Request fields of the generation options, built from their one definition (GENERATION_BOUNDS): the
 * OpenAPI schema (bounds, default, example, description) and the class-validator rules come from the same
 * table the model and GET /api/v1/models use.
 */
import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';
import { DECODING_MODES, DEFAULT_DECODING, GENERATION_BOUNDS, type GenerationField } from '../../model';

export function GenerationOption(field: GenerationField): PropertyDecorator {
  const b = GENERATION_BOUNDS[field];
  const modes =
    b.modes.length === DECODING_MODES.length ? '' : ` Only with decoding ${b.modes.join(' or ')}.`;
  return applyDecorators(
    ApiPropertyOptional({
      type: b.integer ? 'integer' : 'number',
      description: `${b.description}${modes}`,
      minimum: b.min,
      maximum: b.max,
      ...(b.default !== null ? { default: b.default } : {}),
      example: b.example,
    }),
    IsOptional(),
    b.integer ? IsInt() : IsNumber({ allowNaN: false, allowInfinity: false }),
    Min(b.min),
    Max(b.max),
  );
}

export function DecodingOption(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      description:
        '`beam`: beam search, the top beams (greedy with one caption). `diverse`: diverse beam search, one group per caption with a Hamming diversity penalty. `sample`: nucleus sampling, reproducible from `seed` (docs/decoding.md).',
      enum: [...DECODING_MODES],
      default: DEFAULT_DECODING,
      example: 'diverse',
    }),
    IsOptional(),
    IsIn([...DECODING_MODES]),
  );
}
