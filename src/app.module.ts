/**
 * The API process: platform modules (config, logging, metrics, auth, throttling, health) and the
 * captioning feature, which picks queue or embedded mode itself from RedisSettings.
 */
import { Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { CaptioningModule } from './captioning/captioning.module';
import { LoggingModule } from './common/logging/logging.module';
import { PlatformConfigModule } from './config/platform-config.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { ThrottlingModule } from './throttling/throttling.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({
  imports: [
    PlatformConfigModule,
    LoggingModule.forRoot(),
    MetricsModule,
    AuthModule,
    ThrottlingModule,
    HealthModule,
    WebhooksModule,
    CaptioningModule,
  ],
})
export class AppModule {}
