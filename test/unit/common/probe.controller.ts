/** A test-only controller that exercises the platform over real HTTP (never part of src/). */
import { setTimeout as sleep } from 'node:timers/promises';
import { Body, Controller, Get, Param, Post, Req } from '@nestjs/common';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { FastifyRequest } from 'fastify';
import { Auth, CurrentSubject } from '../../../src/auth';
import { AppError } from '../../../src/common/app-error';
import { ModelError, type ModelErrorCode } from '../../../src/model/model.errors';

export class ProbeBody {
  @IsOptional() @IsString() @MaxLength(200) prompt?: string;
  @IsOptional() @IsInt() @Min(1) @Max(5) num_captions?: number;
  @IsOptional() @IsIn(['sync', 'async']) mode?: string;
  @IsOptional() @IsString() image_base64?: string;
}

@Controller({ path: 'probe', version: '1' })
export class ProbeController {
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
  async upload(@Req() req: FastifyRequest): Promise<{ bytes: number; fields: string[] }> {
    let bytes = 0;
    const fields: string[] = [];
    for await (const part of req.parts()) {
      if (part.type === 'file') bytes += (await part.toBuffer()).length;
      else fields.push(part.fieldname);
    }
    return { bytes, fields };
  }
}
