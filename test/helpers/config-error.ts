/** The ConfigError a settings load throws (any other error, or none, fails the test). */
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/load-settings';

export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}
