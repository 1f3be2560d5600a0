/** GET /api/v1/models: the model the inference side runs. */
import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Auth } from '../auth';
import { ApiModels } from './caption.api-docs';
import { CaptionService } from './caption.service';
import type { ModelsDto } from './dto/caption-response.dto';

@ApiTags('captioning')
@Controller({ path: 'models', version: '1' })
export class ModelsController {
  constructor(private readonly captioning: CaptionService) {}

  @Get()
  @Auth('caption:read')
  @ApiModels()
  models(): Promise<ModelsDto> {
    return this.captioning.models();
  }
}
