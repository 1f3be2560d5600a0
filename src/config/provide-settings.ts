import type { Provider } from '@nestjs/common';
import { loadSettings } from './load-settings';

/** A Nest provider for a settings class, validated once from the environment (the class is the token). */
export function provideSettings<T extends object>(cls: new () => T): Provider<T> {
  return { provide: cls, useFactory: (): T => loadSettings(cls) };
}
