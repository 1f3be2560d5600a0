/**
 * config: the one place that reads process.env. Each module declares a settings class whose property
 * names are the environment variables (UPPER_SNAKE) with class-validator rules and defaults; loadSettings
 * validates it once at start-up and throws a ConfigError naming every bad variable.
 */
import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { isSecretSetting } from './secret.decorator';

export class ConfigError extends Error {
  constructor(
    readonly variables: string[],
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Converts a variable by the type of its default; a value that does not convert stays a string. */
function convert(fallback: unknown, value: string): unknown {
  if (typeof fallback === 'number') return value.trim() === '' ? value : Number(value);
  if (typeof fallback === 'boolean') {
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no'].includes(v)) return false;
  }
  return value;
}

/** Builds and validates a settings object from the environment (empty strings count as unset). */
export function loadSettings<T extends object>(cls: new () => T, env: Env = process.env): T {
  const defaults = new cls();
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(defaults)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const converted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    converted[key] = convert((defaults as Record<string, unknown>)[key], value as string);
  }
  const settings = plainToInstance(cls, converted, { exposeDefaultValues: true });
  const errors = validateSync(settings, { whitelist: false, forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const shown =
        raw[e.property] === undefined
          ? '(unset)'
          : isSecretSetting(cls, e.property)
            ? '(set, value hidden)'
            : JSON.stringify(raw[e.property]);
      return `${e.property}=${shown}: ${Object.values(e.constraints ?? {}).join('; ')}`;
    });
    throw new ConfigError(
      errors.map((e) => e.property),
      `Invalid settings:\n  ${lines.join('\n  ')}`,
    );
  }
  return settings;
}
