import { ConfigError, loadSettings } from './load-settings';

/**
 * Validates several settings classes at once, so start-up names every bad variable in one message rather
 * than the first one Nest happens to instantiate.
 */
export function validateAllSettings(
  classes: (new () => object)[],
  env?: Record<string, string | undefined>,
): void {
  const variables: string[] = [];
  const lines: string[] = [];
  for (const cls of classes) {
    try {
      loadSettings(cls, env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const v of err.variables) {
        if (!variables.includes(v)) variables.push(v);
      }
      lines.push(
        ...err.message
          .split('\n')
          .slice(1)
          .map((l) => l.trim()),
      );
    }
  }
  if (variables.length > 0) {
    throw new ConfigError(variables, `Invalid settings:\n  ${[...new Set(lines)].join('\n  ')}`);
  }
}
