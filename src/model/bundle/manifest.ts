/** manifest.json of a model bundle (docs/bundle-format.md) and its verification against the files. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { ModelError, ModelErrorCode } from '../model.errors';

export interface BundleDims {
  vision_hidden: number;
  image_size: number;
  patch_size: number;
  image_tokens: number;
  text_hidden: number;
  text_layers: number;
  text_heads: number;
  head_dim: number;
  vocab_size: number;
}

export interface SpecialTokens {
  bos: number;
  sep: number;
  pad: number;
  cls: number;
}

export interface GraphPair {
  vision: string;
  decoder: string;
}

export interface Manifest {
  /** 1; 2 = the decoder takes cross-attention K/V per image for groups of rows (sharedCrossAttention). */
  format: number;
  exporter_version: string;
  source: { id: string; revision: string };
  version: string;
  dims: BundleDims;
  special_tokens: SpecialTokens;
  graphs: { fp32: GraphPair; int8?: GraphPair };
  files: Record<string, { sha256: string; bytes: number }>;
}

function invalid(dir: string, message: string, cause?: unknown): ModelError {
  return new ModelError(ModelErrorCode.BundleInvalid, `Model bundle ${dir}: ${message}`, { cause });
}

export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch (err) {
    throw invalid(dir, 'manifest.json is missing (is MODEL_PATH a bundle made by the exporter?)', err);
  }
  return parseManifest(text, dir);
}

/** Parses and checks the shape of manifest.json; `where` (a directory or a URI) names it in errors. */
export function parseManifest(text: string, where: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (err) {
    throw invalid(where, 'manifest.json is not valid JSON', err);
  }
  if (typeof manifest !== 'object' || manifest === null)
    throw invalid(where, 'manifest.json is not an object');
  if (manifest.format !== 1 && manifest.format !== 2)
    throw invalid(where, `unsupported manifest format ${String(manifest.format)}`);
  for (const key of ['source', 'version', 'dims', 'special_tokens', 'graphs', 'files'] as const) {
    if (manifest[key] === undefined) throw invalid(where, `manifest.json has no "${key}"`);
  }
  return manifest;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Checks every listed file exists with its size and sha256; throws naming the first bad file. */
export async function verifyBundleFiles(dir: string, manifest: Manifest): Promise<void> {
  const root = resolve(dir);
  for (const [name, expected] of Object.entries(manifest.files)) {
    const path = resolve(root, name);
    if (!path.startsWith(root + sep)) throw invalid(dir, `manifest lists a path outside the bundle: ${name}`);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      throw invalid(dir, `file ${name} is missing`, err);
    }
    if (size !== expected.bytes) {
      throw invalid(dir, `file ${name} was altered: ${size} bytes, manifest says ${expected.bytes}`);
    }
    const actual = await sha256File(path);
    if (actual !== expected.sha256) {
      throw invalid(dir, `file ${name} was altered: sha256 ${actual} does not match the manifest`);
    }
  }
}

/** Format 2 decoders read each image's cross-attention K/V once for all the rows (beams) on it. */
export function sharedCrossAttention(manifest: Manifest): boolean {
  return manifest.format >= 2;
}
