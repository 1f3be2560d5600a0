/**
 * BundleSource over HTTPS (a CDN, a bucket website, an artifact server): GET `<base>/<name>`, redirects
 * followed. Plain http is accepted for loopback hosts only (tests, a local mirror); the manifest is the
 * root of trust, so it must not travel in clear over a network.
 */
import { Readable } from 'node:stream';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { BundleSourceError, type BundleObject, type BundleSource } from './bundle-source.port';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const CONNECT_TIMEOUT_MS = 10_000;
/** Between two chunks of a body, not for the whole file. */
const BODY_TIMEOUT_MS = 60_000;

export function isAllowedHttpBundleUri(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

export class HttpsBundleSource implements BundleSource {
  readonly uri: string;
  private readonly dispatcher: Dispatcher;

  constructor(uri: string) {
    if (!isAllowedHttpBundleUri(uri))
      throw new BundleSourceError('denied', `${uri}: only https:// (or http:// on loopback) is accepted`);
    const url = new URL(uri);
    url.username = '';
    url.password = '';
    this.uri = url.href.endsWith('/') ? url.href : `${url.href}/`;
    this.dispatcher = new Agent({
      connectTimeout: CONNECT_TIMEOUT_MS,
      headersTimeout: BODY_TIMEOUT_MS,
      bodyTimeout: BODY_TIMEOUT_MS,
    }).compose(interceptors.redirect({ maxRedirections: 5 }));
  }

  async open(name: string): Promise<BundleObject> {
    const url = new URL(name.split('/').map(encodeURIComponent).join('/'), this.uri).href;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { dispatcher: this.dispatcher });
    } catch (err) {
      throw new BundleSourceError('unavailable', `${url}: ${(err as Error).message}`, { cause: err });
    }
    if (res.statusCode !== 200) {
      res.body.resume();
      const failure =
        res.statusCode === 404 || res.statusCode === 410
          ? 'not_found'
          : res.statusCode === 401 || res.statusCode === 403
            ? 'denied'
            : 'unavailable';
      throw new BundleSourceError(failure, `${url}: HTTP ${res.statusCode}`);
    }
    const length = Number(res.headers['content-length']);
    return { body: Readable.from(res.body), bytes: Number.isFinite(length) ? length : undefined };
  }
}
