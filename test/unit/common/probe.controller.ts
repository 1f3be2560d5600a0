/** A test-only controller that exercises the platform over real HTTP (never part of src/). */
import { setTimeout as sleep } from 'node:timers/promises';
import { Body, Controller, Get, Param, Post, Req } from '@nestjs/common';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { FastifyRequest } from 'fastify';
import { Auth, CurrentSubject } from '../../../src/auth';
import { AppError } from '../../../src/common/app-error';
import { isBufferedMultipart, parseMultipartImage } from '../../../src/image/multipart-image.reader';
import { ModelError, type ModelErrorCode } from '../../../src/model/model.errors';

export class ProbeBody {
  @IsOptional() @IsString() @MaxLength(200) prompt?: string;
  @IsOptional() @IsInt() @Min(1) @Max(5) num_captions?: number;
  @IsOptional() @IsIn(['sync', 'async']) mode?: string;
  @IsOptional() @IsString() image_base64?: string;
}

/** X-Request-Id of every request that reached the `count` handler (the pipelining tests look for theirs). */
export const countedRequestIds = new Set<string>();

@Controller({ path: 'probe', version: '1' })
export class ProbeController {
  @Post('count')
  @Auth('caption:write')
  count(@Req() req: FastifyRequest): { counted: string } {
    countedRequestIds.add(req.id);
    return { counted: req.id };
  }

  @Get('open')
  open(): { ok: true } {
    return { ok: true };
  }

  @Get('read')
  @Auth('caption:read')
  read(@CurrentSubject() sub: string): { sub: string } {
    return { sub };
  }

  @Post('write')
  @Auth('caption:write')
  write(@CurrentSubject() sub: string, @Body() body: ProbeBody): { sub: string; body: ProbeBody } {
    return { sub, body };
  }

  @Post('validate')
  validate(@Body() body: ProbeBody): ProbeBody {
    return body;
  }

  @Get('boom')
  boom(): never {
    throw new Error('database password is hunter2');
  }

  @Get('app-error')
  appError(): never {
    throw new AppError({
      code: 'captioning.queue_unavailable',
      status: 503,
      title: 'Queue unavailable',
      detail: 'The job queue is not reachable.',
      headers: { 'Retry-After': '3' },
      extra: { retry_after: 3 },
    });
  }

  @Get('model-error/:code')
  modelError(@Param('code') code: string): never {
    throw new ModelError(code as ModelErrorCode, `model says ${code}`);
  }

  @Get('slow/:ms')
  async slow(@Param('ms') ms: string): Promise<{ waited: number }> {
    await sleep(Number(ms));
    return { waited: Number(ms) };
  }

  @Get('whoami-ip')
  ip(@Req() req: FastifyRequest): { ip: string } {
    return { ip: req.ip };
  }

  @Post('upload')
  upload(@Req() req: FastifyRequest): { bytes: number; fields: string[] } {
    if (!isBufferedMultipart(req.headers['content-type'], req.body))
      throw new AppError({ code: 'request.unsupported_media_type', status: 415, title: 'x', detail: 'x' });
    const form = parseMultipartImage(req.body, req.headers['content-type'], {
      maxFileBytes: 4096,
      fieldNames: ['prompt', 'mode'],
      maxFieldBytes: 4096,
    });
    return { bytes: form.bytes.length, fields: Object.keys(form.fields) };
  }
}
