import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { HealthChecks, type HealthReport } from './health-checks.service';

const EXAMPLE_OK = {
  status: 'ok',
  info: { queue: { status: 'up' } },
  error: {},
  details: { queue: { status: 'up' } },
};
const EXAMPLE_DOWN = {
  status: 'error',
  info: {},
  error: { queue: { status: 'down', message: 'timeout of 1000ms exceeded' } },
  details: { queue: { status: 'down', message: 'timeout of 1000ms exceeded' } },
};

/** Probes for load balancers and Kubernetes (outside /api, no auth, no rate limit, not versioned). */
@ApiTags('health')
@ApiOkResponse({ description: 'Healthy', schema: { example: EXAMPLE_OK } })
@ApiServiceUnavailableResponse({ description: 'Unhealthy', schema: { example: EXAMPLE_DOWN } })
@Controller('health')
export class HealthController {
  constructor(private readonly checks: HealthChecks) {}

  /** The process is alive. Never depends on Redis or the model. */
  @Get('live')
  async live(@Res() reply: FastifyReply): Promise<void> {
    await send(reply, await this.checks.live());
  }

  /** The process can serve: its Redis, queue and (where inference runs) model answer. */
  @Get('ready')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    await send(reply, await this.checks.ready());
  }

  /** Start-up finished: the model is loaded where inference runs. */
  @Get('startup')
  async startup(@Res() reply: FastifyReply): Promise<void> {
    await send(reply, await this.checks.startup());
  }
}

async function send(reply: FastifyReply, report: HealthReport): Promise<void> {
  await reply.code(report.httpStatus).header('cache-control', 'no-store').send(report.body);
}
