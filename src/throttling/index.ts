export { ThrottlingModule, THROTTLER_BACKEND } from './throttling.module';
export { RateLimitSettings } from './rate-limit.settings';
export { RedisThrottlerStorage } from './redis-throttler.storage';
export { SubjectThrottlerGuard } from './subject-throttler.guard';
