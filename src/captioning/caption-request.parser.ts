/**
 * HTTP request -> CaptionCommand: multipart (file `image` + option fields) or JSON (exactly one of
 * image_url / image_base64 + options), validated with the DTO rules; async from `mode` or
 * `Prefer: respond-async`; how long to wait from `Prefer: wait=N` (RFC 7240); `webhook_url` and
 * `webhook_events`; `Cache-Control: no-cache` and `Idempotency-Key` from the headers.
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validate } from 'class-validator';
import type { FastifyRequest } from 'fastify';
import { requestsRevalidation } from '../cache/cache-status';
import { AppError } from '../common/app-error';
import { codedProblem } from '../common/problem/problem-catalog';
import { parseIdempotencyKey } from '../idempotency/idempotency-key';
import { ImageIntake, type ImageSource } from '../image/image-intake.service';
import { isBufferedMultipart } from '../image/multipart-image.reader';
import { fieldProblems, type FieldProblem } from '../common/validation.pipe';
import {
  GENERATION_BOUNDS,
  GENERATION_FIELDS,
  generationOptionProblems,
  type DecodeOptions,
  type GenerationField,
} from '../model';
import type { WebhookSubscription } from '../jobs/webhook-job.types';
import { WEBHOOK_URL_CHECK, type WebhookEvent, type WebhookUrlCheck } from '../webhooks/webhook-sender.port';
import { CaptionJsonRequestDto, CaptionOptionsDto } from './dto/caption-request.dto';

export interface CaptionCommand {
  image: ImageSource | { kind: 'bytes'; bytes: Buffer };
  options: DecodeOptions;
  async: boolean;
  /** `Prefer: wait=N`: seconds the client is willing to wait before a 202. */
  waitSeconds?: number;
  /** `webhook_url` + `webhook_events` (checked against the address policy); makes the request async. */
  webhook?: WebhookSubscription;
  /** Not part of the request's identity (the Idempotency-Key fingerprint leaves them out). */
  http: CaptionHttpOptions;
}

export interface CaptionHttpOptions {
  /** `Cache-Control: no-cache`: skip the look-up, recompute and overwrite the cache entry. */
  noCache?: boolean;
  idempotencyKey?: string;
}

function httpOptions(req: FastifyRequest): CaptionHttpOptions {
  const idempotencyKey = parseIdempotencyKey(req.headers['idempotency-key']);
  const noCache = requestsRevalidation(req.headers['cache-control'], req.headers.pragma);
  return { ...(noCache ? { noCache } : {}), ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) };
}

// Generation options (issue 11): the numeric fields arrive as text in multipart forms.
const GENERATION_FORM_FIELDS = Object.keys(GENERATION_BOUNDS) as GenerationField[];
const NUMBER_TEXT = /^-?\d{1,10}(\.\d{1,17})?([eE][-+]?\d{1,3})?$/;

const FORM_FIELDS = [
  'prompt',
  'mode',
  'decoding',
  ...GENERATION_FORM_FIELDS,
  'webhook_url',
  'webhook_events',
] as const;

export function badRequest(detail: string, errors?: FieldProblem[]): AppError {
  return new AppError({
    code: 'request.invalid',
    status: 400,
    title: 'Invalid request',
    detail,
    ...(errors !== undefined ? { extra: { errors } } : {}),
  });
}

const knownKeysByClass = new WeakMap<object, ReadonlySet<string>>();

/** The members a DTO class declares (those with validation rules). */
function knownKeys(cls: new () => object): ReadonlySet<string> {
  let keys = knownKeysByClass.get(cls);
  if (keys === undefined) {
    const rules = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
    keys = new Set(rules.map((rule) => rule.propertyName));
    knownKeysByClass.set(cls, keys);
  }
  return keys;
}

/**
 * DTO classes an empty object was found valid for: the outcome depends on the class alone, so most
 * requests (a form with no option field) need not run the validators again.
 */
const validWhenEmpty = new WeakSet<object>();

/**
 * Validates a plain object against a DTO class. Unknown members are refused before class-transformer
 * sees the object, so it only ever walks the members the DTO declares.
 */
export async function validated<T extends object>(cls: new () => T, plain: unknown): Promise<T> {
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    throw badRequest('The body must be a JSON object.');
  }
  const known = knownKeys(cls);
  const unknown = Object.keys(plain).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    // Names only (class-validator's wording), bounded: never values, never an unbounded list.
    const shown = unknown.slice(0, 5).map((key) => `property ${key.slice(0, 64)} should not exist`);
    throw badRequest(`${shown.join('; ')}${unknown.length > 5 ? '; ...' : ''}`);
  }
  const dto = plainToInstance(cls, plain);
  const empty = Object.keys(plain).length === 0;
  if (empty && validWhenEmpty.has(cls)) return dto;
  const errors = await validate(dto, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  if (errors.length > 0) {
    const messages = errors.flatMap((e) =>
      Object.values(e.constraints ?? { [e.property]: `${e.property} is invalid` }),
    );
    throw badRequest(messages.join('; '), fieldProblems(errors));
  }
  if (empty) validWhenEmpty.add(cls);
  return dto;
}

export interface Preferences {
  respondAsync: boolean;
  waitSeconds?: number;
}

/**
 * The Prefer header (RFC 7240): `respond-async` and `wait=N` (seconds, a non-negative integer, quoted or
 * not); other preferences are ignored, and only the first `wait` counts. A malformed wait is a 400.
 */
export function parsePrefer(header: string | string[] | undefined): Preferences {
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  const prefs: Preferences = { respondAsync: false };
  for (const pref of values.flatMap((v) => v.split(','))) {
    const [head] = pref.split(';');
    const eq = head.indexOf('=');
    const name = (eq < 0 ? head : head.slice(0, eq)).trim().toLowerCase();
    if (name === 'respond-async') prefs.respondAsync = true;
    if (name !== 'wait' || prefs.waitSeconds !== undefined) continue;
    const raw =
      eq < 0
        ? ''
        : head
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    if (!/^\d{1,9}$/.test(raw)) {
      throw badRequest(
        `Prefer: wait must be a non-negative integer number of seconds, not "${raw.slice(0, 20)}".`,
      );
    }
    prefs.waitSeconds = Number(raw);
  }
  return prefs;
}

export function prefersAsync(header: string | string[] | undefined): boolean {
  return parsePrefer(header).respondAsync;
}

@Injectable()
export class CaptionRequestParser {
  constructor(
    private readonly intake: ImageIntake,
    @Optional() @Inject(WEBHOOK_URL_CHECK) private readonly webhookUrls?: WebhookUrlCheck,
  ) {}

  async parse(req: FastifyRequest): Promise<CaptionCommand> {
    const prefer = parsePrefer(req.headers.prefer);
    const preferAsync = prefer.respondAsync;
    const waitSeconds = prefer.waitSeconds;
    const http = httpOptions(req);
    if (isBufferedMultipart(req.headers['content-type'], req.body)) {
      const form = this.intake.readMultipart(req.body, req.headers['content-type'], FORM_FIELDS);
      const fields: Record<string, unknown> = { ...form.fields };
      for (const name of GENERATION_FORM_FIELDS) {
        const text = fields[name];
        if (typeof text === 'string' && NUMBER_TEXT.test(text.trim())) fields[name] = Number(text);
      }
      if (typeof fields.webhook_events === 'string') {
        fields.webhook_events = fields.webhook_events.split(',').map((e) => e.trim());
      }
      const options = await validated(CaptionOptionsDto, fields);
      const decodeOptions = toDecodeOptions(options);
      const webhook = await this.webhook(options);
      return {
        image: { kind: 'bytes', bytes: form.bytes },
        options: decodeOptions,
        async: isAsync(options, preferAsync) || webhook !== undefined,
        waitSeconds,
        webhook,
        http,
      };
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      throw new AppError({
        code: 'request.unsupported_media_type',
        status: 415,
        title: 'Unsupported media type',
        detail: `Send multipart/form-data (file field "image") or application/json, not ${type === '' ? 'no content type' : type}.`,
      });
    }
    if (req.body === undefined || req.body === null) {
      throw badRequest(
        'Send the image as multipart/form-data (file field "image") or as JSON with image_url or image_base64.',
      );
    }
    const dto = await validated(CaptionJsonRequestDto, req.body);
    const sources = [dto.image_url, dto.image_base64].filter((s) => s !== undefined);
    if (sources.length !== 1) throw badRequest('Send exactly one of image_url and image_base64.');
    const image: ImageSource =
      dto.image_url !== undefined
        ? { kind: 'url', url: dto.image_url }
        : { kind: 'base64', text: dto.image_base64 ?? '' };
    const options = toDecodeOptions(dto);
    const webhook = await this.webhook(dto);
    return {
      image,
      options,
      async: isAsync(dto, preferAsync) || webhook !== undefined,
      waitSeconds,
      webhook,
      http,
    };
  }
  /** The webhook subscription, its URL checked by the webhooks module's address policy. */
  private async webhook(dto: CaptionOptionsDto): Promise<WebhookSubscription | undefined> {
    if (dto.webhook_url === undefined) {
      if (dto.webhook_events !== undefined) throw badRequest('webhook_events needs a webhook_url.');
      return undefined;
    }
    if (this.webhookUrls === undefined) {
      throw new AppError(codedProblem('webhook_url.refused', 'This server does not deliver webhooks.'));
    }
    await this.webhookUrls.check(dto.webhook_url);
    const events = (dto.webhook_events ?? ['completed']) as WebhookEvent[];
    return { url: dto.webhook_url, events };
  }
}

/** DTO -> options; the rules between fields (generationOptionProblems) are checked here, naming the field. */
function toDecodeOptions(dto: CaptionOptionsDto): DecodeOptions {
  const options: DecodeOptions = { prompt: dto.prompt, numCaptions: dto.num_captions ?? 1 };
  if (dto.decoding !== undefined) options.decoding = dto.decoding;
  for (const field of GENERATION_FORM_FIELDS) {
    const value = dto[field];
    if (field !== 'num_captions' && value !== undefined) options[GENERATION_FIELDS[field]] = value;
  }
  const problems = generationOptionProblems(options);
  if (problems.length > 0) {
    throw badRequest(
      problems.map((p) => p.message).join('; '),
      problems.map((p) => ({ field: p.field, messages: [p.message] })),
    );
  }
  return options;
}

function isAsync(dto: CaptionOptionsDto, preferAsync: boolean): boolean {
  return dto.mode === 'async' || preferAsync;
}
