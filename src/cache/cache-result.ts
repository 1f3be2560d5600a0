/** What the adapters report for each operation; the module wires it to the Prometheus counter. */
export type CacheResult = 'hit' | 'miss' | 'error';

export type CacheResultObserver = (result: CacheResult) => void;

export const noopObserver: CacheResultObserver = () => undefined;
