/** POST /api/v1/caption and GET /api/v1/caption/:job_id. Thin: parse, one use-case call, status code. */
import { Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Auth, CurrentSubject } from '../auth';
import { ApiCaptionCreate, ApiJobStatus } from './caption.api-docs';
import { CaptionRequestParser } from './caption-request.parser';
import { CaptionService } from './caption.service';
import type { CaptionAcceptedDto, CaptionSuccessDto, JobStatusDto } from './dto/caption-response.dto';

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
    if (answer.statusCode === 202 && command.async && req.headers.prefer !== undefined)
      void reply.header('preference-applied', 'respond-async');
    return answer.body;
  }

  @Get(':job_id')
  @Auth('caption:read')
  @ApiJobStatus()
  status(@Param('job_id') jobId: string, @CurrentSubject() subject: string): Promise<JobStatusDto> {
    return this.captioning.status(jobId, subject);
  }
}
