/**
 * The pure parts of bundle pulling: MODEL_URI parsing, the version a URI names, the names a manifest may
 * list (never outside the bundle), and the pull's refusals against a scripted in-memory source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { BundleCache, bundleFiles } from '../../../src/model/bundle/bundle-cache';
import { versionInUri } from '../../../src/model/bundle/bundle-source.factory';
import { BundleSourceError, type BundleSource } from '../../../src/model/bundle/bundle-source.port';
import { isAllowedHttpBundleUri } from '../../../src/model/bundle/https-bundle-source.adapter';
import type { Manifest } from '../../../src/model/bundle/manifest';
import { parseS3Uri } from '../../../src/model/bundle/s3-location';
import { ModelError } from '../../../src/model/model.errors';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function manifestOf(files: Record<string, Buffer>, version = '0123456789abcdef'): Manifest {
  return {
    format: 2,
    exporter_version: 'test',
    source: { id: 'test', revision: 'r' },
    version,
    dims: {} as Manifest['dims'],
    special_tokens: {} as Manifest['special_tokens'],
    graphs: { fp32: { vision: 'a', decoder: 'b' } },
    files: Object.fromEntries(
      Object.entries(files).map(([n, b]) => [n, { sha256: sha(b), bytes: b.length }]),
    ),
  };
}

/** Serves `objects` by name; records what was asked; throws `failures[name]` for a name. */
function scripted(objects: Record<string, Buffer>, failures: Record<string, BundleSourceError[]> = {}) {
  const opened: string[] = [];
  const source: BundleSource = {
    uri: 'mem://bundle/',
    open: async (name) => {
      opened.push(name);
      const failure = failures[name]?.shift();
      if (failure !== undefined) throw failure;
      const body = objects[name];
      if (body === undefined) throw new BundleSourceError('not_found', `${name} does not exist`);
      return { body: Readable.from([body]), bytes: body.length };
    },
  };
  return { source, opened };
}

function withCache(fn: (root: string, cache: BundleCache) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'captioner-unit-cache-'));
  const cache = new BundleCache(root, { log: () => undefined, retryDelayMs: () => 0 });
  return fn(root, cache).finally(() => rmSync(root, { recursive: true, force: true }));
}

test('s3 URIs: bucket and a prefix ending in /', () => {
  assert.deepEqual(parseS3Uri('s3://models-bucket/blip/0123456789abcdef/'), {
    bucket: 'models-bucket',
    prefix: 'blip/0123456789abcdef/',
  });
  assert.deepEqual(parseS3Uri('s3://models-bucket/blip'), { bucket: 'models-bucket', prefix: 'blip/' });
  assert.deepEqual(parseS3Uri('s3://models-bucket'), { bucket: 'models-bucket', prefix: '' });
  for (const bad of ['s3://', 's3://UPPER/x', 'https://models-bucket/x', 's3://a/x'])
    assert.equal(parseS3Uri(bad), undefined, bad);
});

test('a URI names a version only when it ends in 16 hex', () => {
  assert.equal(versionInUri('s3://b/blip/0123456789abcdef/'), '0123456789abcdef');
  assert.equal(versionInUri('https://h/x/0123456789abcdef'), '0123456789abcdef');
  assert.equal(versionInUri('https://h/x/latest/'), undefined);
});

test('http is accepted on loopback only', () => {
  assert.ok(isAllowedHttpBundleUri('https://models.example.com/b/'));
  assert.ok(isAllowedHttpBundleUri('http://127.0.0.1:9000/b/'));
  assert.ok(!isAllowedHttpBundleUri('http://models.example.com/b/'));
  assert.ok(!isAllowedHttpBundleUri('http://169.254.169.254/latest/'));
});

test('a manifest may not list names outside the bundle, nor bad entries', () => {
  const ok = Buffer.from('x');
  for (const name of ['../evil', 'a/../../evil', '/etc/passwd', 'a//b', 'a\\b', 'manifest.json', './x']) {
    const m = manifestOf({ [name]: ok });
    assert.throws(() => bundleFiles(m, 'here'), /bad file name in manifest/, name);
  }
  const m = manifestOf({ 'x.txt': ok });
  (m.files['x.txt'] as { sha256: string }).sha256 = 'not-a-hash';
  assert.throws(() => bundleFiles(m, 'here'), /bad manifest entry for x\.txt/);
});

test('a traversal in a pulled manifest is refused before any file is asked for', () =>
  withCache(async (root, cache) => {
    const evil = Buffer.from('x');
    const { source, opened } = scripted({
      'manifest.json': Buffer.from(JSON.stringify(manifestOf({ '../../outside': evil }))),
    });
    await assert.rejects(
      cache.pull(source),
      (e: unknown) => e instanceof ModelError && /outside/.test(e.message),
    );
    assert.deepEqual(opened, ['manifest.json']);
    assert.deepEqual(readdirSync(root), []);
  }));

test('transient failures are retried; a final one stops the pull naming the file', () =>
  withCache(async (root, cache) => {
    const files = { 'a.bin': Buffer.from('aaaa'), 'b.bin': Buffer.from('bbbb') };
    const objects = { ...files, 'manifest.json': Buffer.from(JSON.stringify(manifestOf(files))) };
    const flaky = scripted(objects, {
      'manifest.json': [new BundleSourceError('unavailable', 'timeout')],
      'a.bin': [new BundleSourceError('unavailable', 'reset'), new BundleSourceError('unavailable', 'reset')],
    });
    const pulled = await cache.pull(flaky.source);
    assert.equal(pulled.downloaded, 2);
    assert.deepEqual(flaky.opened, ['manifest.json', 'manifest.json', 'a.bin', 'a.bin', 'a.bin', 'b.bin']);

    const root2 = join(root, 'other');
    const denied = scripted(objects, { 'b.bin': [new BundleSourceError('denied', 'b.bin: access denied')] });
    await assert.rejects(
      new BundleCache(root2, { log: () => undefined, retryDelayMs: () => 0 }).pull(denied.source),
      (e: unknown) =>
        e instanceof ModelError && /file b\.bin cannot be downloaded: b\.bin: access denied/.test(e.message),
    );
    assert.deepEqual(denied.opened, ['manifest.json', 'a.bin', 'b.bin'], 'a denial is not retried');
    assert.equal(existsSync(join(root2, '0123456789abcdef', 'manifest.json')), false);
  }));

test('a file larger than the manifest says is cut off and refused', () =>
  withCache(async (_root, cache) => {
    const files = { 'a.bin': Buffer.from('aaaa') };
    const { source } = scripted({
      'a.bin': Buffer.from('aaaa-and-more'),
      'manifest.json': Buffer.from(JSON.stringify(manifestOf(files))),
    });
    await assert.rejects(cache.pull(source), /a\.bin refused: larger than the manifest's 4 bytes/);
  }));
