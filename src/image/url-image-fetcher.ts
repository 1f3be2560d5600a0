/**
 * SSRF-safe download of an `image_url`: http(s) only; literal IPs (in any textual form the URL parser
 * accepts) checked before connecting; host names checked at connect time by the safe lookup on every
 * resolved address; redirects followed by hand, each hop re-checked; one deadline for the whole fetch;
 * the body streamed against a byte cap and aborted as soon as it is exceeded.
 */
import { request, type Agent } from 'undici';
import type { AppError } from '../common/app-error';
import { checkAddress, checkHost, parseIp, stripBrackets, type AddressPolicy } from './address-policy';
import { ImageProblem } from './image.errors';
import { AddressRefusedError, createGuardedAgent, type Resolver } from './safe-lookup';

export interface UrlFetchOptions {
  policy: AddressPolicy;
  maxBytes: number;
  maxRedirects: number;
  timeoutMs: number;
  resolver?: Resolver;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class UrlImageFetcher {
  private readonly agent: Agent;

  constructor(private readonly options: UrlFetchOptions) {
    this.agent = createGuardedAgent({
      policy: options.policy,
      resolver: options.resolver,
      timeoutMs: options.timeoutMs,
      keepAliveTimeout: 1000,
      connections: 16,
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Downloads the image bytes or throws an AppError (400 refused/failed, 413 over the cap). */
  async fetch(raw: string): Promise<Buffer> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let url = this.check(raw);
    for (let hop = 0; ; hop++) {
      const res = await this.send(url, signal);
      if (REDIRECTS.has(res.statusCode)) {
        await res.body.dump().catch(() => undefined);
        const location = res.headers.location;
        if (typeof location !== 'string' || location === '') {
          throw ImageProblem.urlFailed(`image_url answered ${res.statusCode} without a Location header.`);
        }
        if (hop >= this.options.maxRedirects) {
          throw ImageProblem.urlRefused(`image_url redirected more than ${this.options.maxRedirects} times.`);
        }
        url = this.check(location, url);
        continue;
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        await res.body.dump().catch(() => undefined);
        throw ImageProblem.urlFailed(`image_url answered HTTP ${res.statusCode}.`);
      }
      return this.readCapped(res, signal);
    }
  }

  /** Parses and checks one URL (the first, or a redirect target relative to the current one). */
  private check(raw: string, base?: URL): URL {
    let url: URL;
    try {
      url = new URL(raw, base);
    } catch {
      throw ImageProblem.urlRefused('image_url is not a valid absolute URL.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw ImageProblem.urlRefused(
        `image_url must be http or https, not ${url.protocol.replace(/:$/, '')}.`,
      );
    }
    if (url.username !== '' || url.password !== '') {
      throw ImageProblem.urlRefused('image_url must not carry credentials.');
    }
    const host = stripBrackets(url.hostname);
    const hostVerdict = checkHost(host, this.options.policy);
    if (!hostVerdict.allowed) throw ImageProblem.urlRefused(`image_url refused: ${hostVerdict.reason}.`);
    // The socket skips `lookup` for a literal IP, so literals are checked here (already normalized by
    // the URL parser: 2130706433, 0177.0.0.1 and 0x7f.1 are all 127.0.0.1 by now; parseIp again to be sure).
    const literal = parseIp(host);
    if (literal !== undefined) {
      const verdict = checkAddress(host, this.options.policy);
      if (!verdict.allowed) throw ImageProblem.urlRefused(`image_url refused: ${verdict.reason}.`);
    }
    return url;
  }

  private async send(url: URL, signal: AbortSignal): Promise<Awaited<ReturnType<typeof request>>> {
    try {
      return await request(url, {
        dispatcher: this.agent,
        method: 'GET',
        signal,
        headers: { accept: 'image/*', 'user-agent': 'captioner-image-fetch/1' },
      });
    } catch (err) {
      throw this.describe(err, signal);
    }
  }

  private async readCapped(res: Awaited<ReturnType<typeof request>>, signal: AbortSignal): Promise<Buffer> {
    const cap = this.options.maxBytes;
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > cap) {
      res.body.destroy();
      throw ImageProblem.urlTooLarge(
        `The image at image_url is ${declared} bytes; the limit is ${cap} bytes.`,
      );
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > cap) {
          res.body.destroy();
          throw ImageProblem.urlTooLarge(`The image at image_url is over the limit of ${cap} bytes.`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      if (isAppError(err)) throw err;
      throw this.describe(err, signal);
    }
    return Buffer.concat(chunks, total);
  }

  private describe(err: unknown, signal: AbortSignal): AppError {
    const refused = findRefusal(err);
    if (refused !== undefined) return ImageProblem.urlRefused(`image_url refused: ${refused.reason}.`);
    if (signal.aborted) {
      return ImageProblem.urlFailed(`Fetching image_url took longer than ${this.options.timeoutMs} ms.`);
    }
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message : String(err);
    return ImageProblem.urlFailed(`Fetching image_url failed: ${code ?? message}.`);
  }
}

function isAppError(err: unknown): err is AppError {
  return err instanceof Error && err.name === 'AppError';
}

function findRefusal(err: unknown): AddressRefusedError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof AddressRefusedError) return e;
  }
  return undefined;
}
