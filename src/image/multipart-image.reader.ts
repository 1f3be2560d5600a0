/**
 * Reads a multipart/form-data caption request: exactly one file part named `image` plus a few short
 * text fields. Nothing is silently truncated: a file over the limit, a second file, too many fields or an
 * over-long field value is a 413; an unexpected field name or a field sent twice is a 400.
 */
import type { FastifyRequest } from 'fastify';
import type {} from '@fastify/multipart';
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

const MULTIPART_CODES: Record<string, { status: number; detail: string }> = {
  FST_FILES_LIMIT: { status: 413, detail: 'Send exactly one file, in the field "image".' },
  FST_FIELDS_LIMIT: { status: 413, detail: 'Too many form fields.' },
  FST_PARTS_LIMIT: { status: 413, detail: 'Too many form parts.' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, detail: 'The image file is over the upload limit.' },
  FST_PROTO_VIOLATION: { status: 400, detail: 'A form field name is not allowed.' },
  FST_MP_PREMATURE_CLOSE: { status: 400, detail: 'The request ended before the form was complete.' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, detail: 'The request is not multipart/form-data.' },
};

export async function readMultipartImage(
  req: FastifyRequest,
  limits: MultipartLimits,
): Promise<MultipartImage> {
  let image: MultipartImage['bytes'] | undefined;
  let filename: string | undefined;
  const fields: Record<string, string> = {};
  const parts = req.parts({
    limits: {
      fileSize: limits.maxFileBytes,
      files: 1,
      fields: limits.fieldNames.length,
      parts: limits.fieldNames.length + 1,
      fieldSize: limits.maxFieldBytes,
      fieldNameSize: 64,
      headerPairs: 20,
    },
  });
  try {
    for await (const part of parts) {
      if (part.type === 'file') {
        if (part.fieldname !== 'image') {
          part.file.resume();
          throw ImageProblem.badInput(
            `Unexpected file field "${part.fieldname}": send the image in the field "image".`,
          );
        }
        image = await readCapped(part.file, limits.maxFileBytes);
        filename = part.filename;
      } else {
        if (part.fieldname === 'image') throw ImageProblem.badInput('The field "image" must be a file.');
        if (!limits.fieldNames.includes(part.fieldname)) {
          throw ImageProblem.badInput(
            `Unexpected form field "${part.fieldname}"; allowed: image (file), ${limits.fieldNames.join(', ')}.`,
          );
        }
        if (part.valueTruncated)
          throw ImageProblem.tooLarge(`The form field "${part.fieldname}" is too long.`);
        if (part.fieldname in fields)
          throw ImageProblem.badInput(`The form field "${part.fieldname}" is repeated.`);
        fields[part.fieldname] = String(part.value);
      }
    }
  } catch (err) {
    throw asProblem(err);
  }
  if (image === undefined) throw ImageProblem.badInput('The form has no file in the field "image".');
  return { bytes: image, filename, fields };
}

async function readCapped(
  file: AsyncIterable<Buffer> & { truncated?: boolean; resume(): unknown },
  max: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of file) {
    total += chunk.length;
    if (total > max) break;
    chunks.push(chunk);
  }
  if (total > max || file.truncated === true) {
    file.resume();
    throw ImageProblem.tooLarge(`The image file is over the upload limit of ${max} bytes.`);
  }
  return Buffer.concat(chunks, total);
}

function asProblem(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string }).code;
  const known = code !== undefined ? MULTIPART_CODES[code] : undefined;
  if (known === undefined) {
    const message = err instanceof Error ? err.message : String(err);
    return ImageProblem.badInput(`The multipart form could not be read: ${message}`);
  }
  return new AppError({
    code: known.status === 413 ? 'image.too_large' : 'image.bad_input',
    status: known.status,
    title: known.status === 413 ? 'Request too large' : 'Bad multipart form',
    detail: known.detail,
  });
}
