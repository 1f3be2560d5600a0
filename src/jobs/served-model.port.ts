/**
 * Which model the inference side serves (the version goes into cache keys; GET /api/v1/models shows it).
 * In queue mode workers announce it (ModelAnnouncer writes, AnnouncedModel reads); in embedded mode it is
 * the model loaded in this process (LocalModel).
 */
import type { ModelInfo } from '../model/caption-model.port';

export const SERVED_MODEL = Symbol('SERVED_MODEL');

export interface ServedModel {
  /** The model the inference side runs; undefined while none is loaded or announced. */
  current(): Promise<ModelInfo | undefined>;
}
