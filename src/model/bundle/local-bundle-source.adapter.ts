/**
 * BundleSource on a directory (`file:///mnt/bundles/<version>/`): a bundle on a slow shared volume (EFS,
 * NFS) copied and verified onto fast local disk, and the reference adapter of the contract tests.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BundleSourceError, type BundleObject, type BundleSource } from './bundle-source.port';

export class LocalBundleSource implements BundleSource {
  readonly uri: string;
  private readonly root: string;

  constructor(uri: string) {
    this.root = resolve(fileURLToPath(uri));
    this.uri = `file://${this.root}/`;
  }

  async open(name: string): Promise<BundleObject> {
    const path = resolve(this.root, name);
    if (!path.startsWith(this.root + sep))
      throw new BundleSourceError('denied', `${name} is outside ${this.uri}`);
    let bytes: number;
    try {
      bytes = (await stat(path)).size;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new BundleSourceError(
        code === 'ENOENT' ? 'not_found' : code === 'EACCES' ? 'denied' : 'unavailable',
        `${this.uri}${name}: ${code ?? String(err)}`,
        { cause: err },
      );
    }
    return { body: createReadStream(path), bytes };
  }
}
