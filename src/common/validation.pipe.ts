/** The global ValidationPipe, with failures as 400 problem+json listing the failing fields. */
import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { AppError } from './app-error';

export interface FieldProblem {
  field: string;
  messages: string[];
}

/** Flattens nested validation errors into `a.b.c` field paths. */
export function fieldProblems(errors: ValidationError[], parent = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const messages = Object.values(error.constraints ?? {});
    if (messages.length > 0) out.push({ field, messages });
    if (error.children?.length) out.push(...fieldProblems(error.children, field));
  }
  return out;
}

export function validationProblem(errors: ValidationError[]): AppError {
  const fields = fieldProblems(errors);
  return new AppError({
    code: 'request.invalid',
    status: 400,
    title: 'Invalid request',
    detail: fields.map((f) => `${f.field}: ${f.messages.join(', ')}`).join('; ') || 'The request is invalid.',
    extra: { errors: fields },
  });
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // Never echo rejected values back (they may be image bytes or secrets).
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationProblem(errors),
  });
}
