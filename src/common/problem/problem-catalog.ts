/**
 * The one table of coded problems: every code a module throws or a job fails with, and the status and
 * title a client sees for it. Modules build problems with `codedProblem`, the global filter maps coded
 * errors through `catalogEntry`, and a failed job's code gives the synchronous answer its status, so a
 * code has the same status wherever it surfaces.
 */
import type { ProblemShape } from '../app-error';

export interface CatalogEntry {
  status: number;
  title: string;
}

export const PROBLEM_CATALOG = {
  'request.invalid': { status: 400, title: 'Invalid request' },
  'request.unsupported_media_type': { status: 415, title: 'Unsupported media type' },
  'auth.unauthorized': { status: 401, title: 'Unauthorized' },
  'auth.insufficient_scope': { status: 403, title: 'Forbidden' },
  'auth.keys_unavailable': { status: 503, title: 'Service unavailable' },
  'rate_limit.exceeded': { status: 429, title: 'Too many requests' },
  'image.bad_input': { status: 400, title: 'Bad image input' },
  'image.empty': { status: 400, title: 'Empty image' },
  'image.too_large': { status: 413, title: 'Image too large' },
  'image.unsupported_format': { status: 415, title: 'Unsupported image format' },
  'image.undecodable': { status: 422, title: 'Undecodable image' },
  'image.too_many_pixels': { status: 422, title: 'Image has too many pixels' },
  'image.too_many_frames': { status: 422, title: 'Image has too many frames' },
  'image.decode_busy': { status: 503, title: 'Server busy decoding images' },
  'image_url.refused': { status: 400, title: 'image_url refused' },
  'image_url.fetch_failed': { status: 400, title: 'image_url could not be fetched' },
  'image_url.too_large': { status: 413, title: 'Image at image_url too large' },
  'webhook_url.refused': { status: 400, title: 'webhook_url refused' },
  'model.bad_options': { status: 400, title: 'Bad captioning options' },
  'model.bundle_invalid': { status: 503, title: 'Model unavailable' },
  'model.unavailable': { status: 503, title: 'Model unavailable' },
  'model.inference_failed': { status: 500, title: 'Inference failed' },
  'caption.failed': { status: 422, title: 'Captioning failed' },
  'job.not_found': { status: 404, title: 'Not found' },
  'job.finished': { status: 409, title: 'Job already finished' },
  // Failures of a job on our side; a synchronous request answers them as caption.failed.
  'job.bad_payload': { status: 500, title: 'Captioning failed' },
  'job.processing_failed': { status: 500, title: 'Captioning failed' },
  'service.unavailable': { status: 503, title: 'Service unavailable' },
  'service.queue_unavailable': { status: 503, title: 'Service unavailable' },
  'service.busy': { status: 503, title: 'Service busy' },
  'service.shutting_down': { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, CatalogEntry>;

export type ProblemCode = keyof typeof PROBLEM_CATALOG;

export function catalogEntry(code: string): CatalogEntry | undefined {
  return Object.hasOwn(PROBLEM_CATALOG, code) ? PROBLEM_CATALOG[code as ProblemCode] : undefined;
}

/** The problem of a catalogued code, with the caller's detail and optional extras. */
export function codedProblem(
  code: ProblemCode,
  detail: string,
  more: Pick<ProblemShape, 'extra' | 'headers'> = {},
): ProblemShape {
  const { status, title } = PROBLEM_CATALOG[code];
  return { code, status, title, detail, ...more };
}
