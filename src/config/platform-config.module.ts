/** Settings every part of the API may read: HTTP/logging and the Redis URLs (global). */
import { Global, Module } from '@nestjs/common';
import { HttpSettings } from './http.settings';
import { provideSettings } from './provide-settings';
import { RedisSettings } from './redis.settings';

@Global()
@Module({
  providers: [provideSettings(HttpSettings), provideSettings(RedisSettings)],
  exports: [HttpSettings, RedisSettings],
})
export class PlatformConfigModule {}
