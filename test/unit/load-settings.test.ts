import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IsInt, Max, Min } from 'class-validator';
import { ConfigError, loadSettings } from '../../src/config/load-settings';

class Sample {
  @IsInt() @Min(1) @Max(65535) PORT = 3000;
}

test('loadSettings applies defaults, converts and names a bad variable', () => {
  assert.equal(loadSettings(Sample, {}).PORT, 3000);
  assert.equal(loadSettings(Sample, { PORT: '8080' }).PORT, 8080);
  assert.throws(
    () => loadSettings(Sample, { PORT: 'abc' }),
    (e: unknown) => e instanceof ConfigError && e.variables.includes('PORT') && /PORT="abc"/.test(e.message),
  );
});

test('RedisSettings: unset REDIS_URL means embedded mode; a bad URL is named', async () => {
  const { RedisSettings } = await import('../../src/config/redis.settings');
  assert.equal(loadSettings(RedisSettings, {}).queueMode, false);
  const s = loadSettings(RedisSettings, { REDIS_URL: 'redis://127.0.0.1:6379' });
  assert.equal(s.queueMode, true);
  assert.equal(s.cacheUrl, 'redis://127.0.0.1:6379');
  assert.throws(() => loadSettings(RedisSettings, { REDIS_URL: 'http://x' }), /REDIS_URL/);
});
