/**
 * Reads a multipart/form-data caption request from its whole body (received by Fastify's content-type
 * parser, bounded by the body limit): exactly one file part named `image` plus a few short text fields.
 * Synchronous, over @mjackson/multipart-parser; the image is a view of the body, not a copy. Nothing is
 * silently truncated: a file over the limit, a second file, too many fields or parts, or an over-long
 * field value is a 413; an unexpected field name, a field sent twice or a malformed form is a 400.
 *
 * Why the body is read whole first (docs/decisions.md, "Multipart bodies are received whole, then parsed"):
 * reading the form as a stream inside the handler, after the guards' Redis round trip, kept every hit's
 * request objects alive across young-generation collections; the hit path promoted ~7 KB per request and
 * its p99 under moderate load was twice the reference's.
 */
import {
  getMultipartBoundary,
  MaxHeaderSizeExceededError,
  parseMultipart,
  type MultipartPart,
} from '@mjackson/multipart-parser';
import { AppError } from '../common/app-error';
import { ImageProblem } from './image.errors';

export interface MultipartImage {
  bytes: Buffer;
  filename?: string;
  fields: Record<string, string>;
}

export interface MultipartLimits {
  maxFileBytes: number;
  /** Text field names accepted next to the file. */
  fieldNames: readonly string[];
  maxFieldBytes: number;
}

export const MULTIPART_FORM_DATA = 'multipart/form-data';

/** True when the request is multipart/form-data and Fastify received its body whole (a Buffer). */
export function isBufferedMultipart(contentType: string | undefined, body: unknown): body is Buffer {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return type === MULTIPART_FORM_DATA && Buffer.isBuffer(body);
}

/** Largest header block of one part (Content-Disposition with a long UTF-8 filename, Content-Type). */
export const MAX_PART_HEADER_BYTES = 4096;
/** Longest field name echoed back in a problem's detail. */
const ECHOED_NAME_CHARS = 64;

const fieldText = new TextDecoder('utf-8');

const badForm = ImageProblem.badInput;
const tooLarge = ImageProblem.tooLarge;

function echoed(name: string): string {
  return name.length > ECHOED_NAME_CHARS ? `${name.slice(0, ECHOED_NAME_CHARS)}...` : name;
}

/** A part's content as one Buffer: a view of the body when it arrived as one chunk (always, from a Buffer). */
function contentOf(part: MultipartPart): Buffer {
  const chunks = part.content;
  if (chunks.length === 1) return Buffer.from(chunks[0].buffer, chunks[0].byteOffset, chunks[0].byteLength);
  return Buffer.from(part.bytes);
}

/**
 * The body from its first boundary on: RFC 2046 allows a preamble before it (and an epilogue after the
 * last, which the parser ignores), which the parser would refuse.
 */
function withoutPreamble(body: Buffer, boundary: string): Buffer {
  const delimiter = `--${boundary}`;
  if (body.subarray(0, delimiter.length).toString('latin1') === delimiter) return body;
  const at = body.indexOf(`\r\n${delimiter}`, 0, 'latin1');
  return at < 0 ? body : body.subarray(at + 2);
}

/**
 * The image and fields of a multipart/form-data body. `contentType` is the request's Content-Type header
 * (its boundary parameter is required).
 */
export function parseMultipartImage(
  body: Buffer,
  contentType: string | undefined,
  limits: MultipartLimits,
): MultipartImage {
  const boundary = getMultipartBoundary(contentType ?? '');
  if (boundary === null || boundary === '')
    throw badForm('The multipart/form-data content type has no boundary parameter.');
  let image: Buffer | undefined;
  let filename: string | undefined;
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let fieldCount = 0;
  let partCount = 0;
  try {
    const parts = parseMultipart(withoutPreamble(body, boundary), {
      boundary,
      maxHeaderSize: MAX_PART_HEADER_BYTES,
      // The body is already in memory and bounded by Fastify's body limit: each part's size is checked
      // below, once its kind is known, so that the answer names what is too large.
      maxFileSize: body.length,
    });
    for (const part of parts) {
      partCount += 1;
      if (partCount > limits.fieldNames.length + 1) throw tooLarge('Too many form parts.');
      const name = part.name;
      if (name === undefined || name === '') throw badForm('A form part has no field name.');
      if (part.filename !== undefined) {
        if (image !== undefined) throw tooLarge('Send exactly one file, in the field "image".');
        if (name !== 'image')
          throw badForm(`Unexpected file field "${echoed(name)}": send the image in the field "image".`);
        if (part.size > limits.maxFileBytes)
          throw tooLarge(`The image file is over the upload limit of ${limits.maxFileBytes} bytes.`);
        image = contentOf(part);
        filename = part.filename;
        continue;
      }
      if (name === 'image') throw badForm('The field "image" must be a file.');
      if (!limits.fieldNames.includes(name)) {
        throw badForm(
          `Unexpected form field "${echoed(name)}"; allowed: image (file), ${limits.fieldNames.join(', ')}.`,
        );
      }
      fieldCount += 1;
      if (fieldCount > limits.fieldNames.length) throw tooLarge('Too many form fields.');
      if (part.size > limits.maxFieldBytes) throw tooLarge(`The form field "${name}" is too long.`);
      if (name in fields) throw badForm(`The form field "${name}" is repeated.`);
      fields[name] = fieldText.decode(contentOf(part));
    }
  } catch (err) {
    throw asProblem(err);
  }
  if (image === undefined) throw badForm('The form has no file in the field "image".');
  return { bytes: image, filename, fields: { ...fields } };
}

function asProblem(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (err instanceof MaxHeaderSizeExceededError)
    return tooLarge(`The headers of a form part are over ${MAX_PART_HEADER_BYTES} bytes.`);
  // MultipartParseError (no closing boundary, a malformed part) and anything a malformed header raises
  // while it is decoded (a bad filename* encoding): the client's form, never a server fault.
  const message = err instanceof Error ? err.message : String(err);
  return badForm(`The multipart form could not be read: ${message.slice(0, 200)}`);
}
