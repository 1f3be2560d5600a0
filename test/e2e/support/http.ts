/** A small client for the API under test: every call bounded in time, answers parsed. */
import { readFileSync } from 'node:fs';
import { multipart, type Part } from '../../helpers/multipart';

export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  ms: number;
}

export class ApiClient {
  constructor(readonly base: string) {}

  async request(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: string | Uint8Array } = {},
  ): Promise<Answer> {
    const started = performance.now();
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: init.headers,
      body: init.body,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      body = { raw: text };
    }
    return { status: res.status, headers: res.headers, body, ms: performance.now() - started };
  }

  /** POST /api/v1/caption as multipart: the file plus option fields. */
  upload(
    auth: Record<string, string>,
    file: Buffer | string,
    fields: Record<string, string> = {},
    extra: Part[] = [],
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const data = typeof file === 'string' ? readFileSync(file) : file;
    const form = multipart([
      { name: 'image', filename: 'image', data },
      ...Object.entries(fields).map(([name, value]) => ({ name, value })),
      ...extra,
    ]);
    return this.request('POST', '/api/v1/caption', {
      headers: { ...auth, 'content-type': form.contentType, ...headers },
      body: form.body,
    });
  }

  /** POST /api/v1/caption as JSON. */
  json(auth: Record<string, string>, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    return this.request('POST', '/api/v1/caption', {
      headers: { ...auth, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }

  job(auth: Record<string, string>, jobId: string): Promise<Answer> {
    return this.request('GET', `/api/v1/caption/${jobId}`, { headers: auth });
  }

  /** Polls a job until it is no longer processing (bounded; sleeps between polls). */
  async settle(auth: Record<string, string>, jobId: string, timeoutMs = 60_000): Promise<Answer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const a = await this.job(auth, jobId);
      if (a.status !== 200 || a.body.status !== 'processing') return a;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still processing after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
