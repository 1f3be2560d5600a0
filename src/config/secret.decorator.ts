import 'reflect-metadata';

const SECRET_SETTINGS = Symbol('captioner:secret-settings');

/**
 * Marks a settings property as a secret: its value is never shown, not even in the start-up error that
 * names a bad variable.
 */
export function Secret(): PropertyDecorator {
  return (target: object, key: string | symbol): void => {
    const names = new Set<string | symbol>(Reflect.getMetadata(SECRET_SETTINGS, target) ?? []);
    names.add(key);
    Reflect.defineMetadata(SECRET_SETTINGS, [...names], target);
  };
}

/** True when `key` of the settings class `cls` is marked with @Secret(). */
export function isSecretSetting(cls: new () => object, key: string): boolean {
  const names: (string | symbol)[] = Reflect.getMetadata(SECRET_SETTINGS, cls.prototype) ?? [];
  return names.includes(key);
}
