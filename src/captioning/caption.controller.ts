/**
 * POST /api/v1/caption, GET /api/v1/caption/:job_id and POST /api/v1/caption/:job_id/cancel. Thin:
 * parse, one use-case call, a status code and the lifecycle headers (Location, Retry-After,
 * Preference-Applied).
 */
import { Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Auth, CurrentSubject } from '../auth';
import { ApiCaptionCreate, ApiJobCancel, ApiJobStatus } from './caption.api-docs';
import { CaptionRequestParser } from './caption-request.parser';
import { CaptionService } from './caption.service';
import type { CaptionAcceptedDto, CaptionSuccessDto, JobStatusDto } from './dto/caption-response.dto';
import { retryAfterSeconds } from '../jobs/job-document';

@ApiTags('captioning')
@Controller({ path: 'caption', version: '1' })
export class CaptionController {
  constructor(
    private readonly parser: CaptionRequestParser,
    private readonly captioning: CaptionService,
  ) {}

  @Post()
  @HttpCode(200)
  @Auth('caption:write')
  @ApiCaptionCreate()
  async create(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentSubject() subject: string,
  ): Promise<CaptionSuccessDto | CaptionAcceptedDto> {
    const command = await this.parser.parse(req);
    const answer = await this.captioning.caption(command, subject, String(req.id));
    void reply.status(answer.statusCode).headers(answer.headers);
    const applied: string[] = [];
    if (command.waitSeconds !== undefined)
      applied.push(`wait=${Math.floor(this.captioning.waitMs(command) / 1000)}`);
    if (answer.statusCode === 202 && command.async && /respond-async/i.test(String(req.headers.prefer ?? '')))
      applied.unshift('respond-async');
    if (applied.length > 0) void reply.header('preference-applied', applied.join(', '));
    return answer.body;
  }

  @Get(':job_id')
  @Auth('caption:read')
  @ApiJobStatus()
  async status(
    @Param('job_id') jobId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentSubject() subject: string,
  ): Promise<JobStatusDto> {
    const doc = await this.captioning.status(jobId, subject);
    if (doc.status === 'processing')
      void reply.header('retry-after', String(retryAfterSeconds(doc.estimated_time_seconds ?? 1)));
    return doc;
  }

  @Post(':job_id/cancel')
  @HttpCode(200)
  @Auth('caption:write')
  @ApiJobCancel()
  cancel(@Param('job_id') jobId: string, @CurrentSubject() subject: string): Promise<JobStatusDto> {
    return this.captioning.cancel(jobId, subject);
  }
}
