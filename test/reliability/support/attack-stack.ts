/**
 * The stack the hostile-input and access suites attack: two API processes sharing a private Redis (so
 * rate limits must hold across them), one worker, RS256 tokens (so algorithm confusion can be tried),
 * one trusted proxy hop, small upload and rate limits, and loopback listeners for image_url: a "trap"
 * on 127.0.0.1 that counts connections (it must count none) and an allowlisted 127.0.0.2 that serves
 * images and redirects wherever it is told.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LoopbackServer } from '../../helpers/image-server';
import { imagesDir } from '../../helpers/paths';
import type { ServiceProcess } from '../../helpers/processes';
import { signWith, type TokenOptions } from '../../unit/common/tokens';
import { AUDIENCE, ISSUER } from '../../unit/common/test-app';
import { CheckedClient } from './client';
import { apisAndWorker, queueEnv, TestRedis } from './stack';

export const MAX_UPLOAD_BYTES = 2 * 1024 * 1024;
export const RATE_LIMIT = 40;

export interface AttackStack {
  redis: TestRedis;
  apis: ServiceProcess[];
  worker: ServiceProcess;
  clients: CheckedClient[];
  privateKey: KeyObject;
  publicPem: string;
  trap: LoopbackServer;
  /** http://127.0.0.2:port: serves shared/images and /redirect?to=<url>. */
  allowedBase: string;
  /** Every public job id answered in a 202 by any suite. */
  jobIds: string[];
  /** base64 slices of images sent, for the log grep. */
  imageFragments: string[];
  token(o?: TokenOptions): Promise<string>;
  auth(sub: string, scope?: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/** An allowlisted loopback server: the shared images, and a redirect to any URL (`/redirect?to=`). */
async function redirector(): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
      return;
    }
    readFile(join(imagesDir, decodeURIComponent(url.pathname).replace(/\.\./g, ''))).then(
      (data) => res.writeHead(200, { 'content-length': data.length }).end(data),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  return { server, base: `http://127.0.0.2:${(server.address() as AddressInfo).port}` };
}

export async function startAttackStack(): Promise<AttackStack> {
  const redis = await TestRedis.start();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const env = await queueEnv(redis.url, {
    JWT_SECRET: undefined,
    JWT_PUBLIC_KEY: publicPem,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    TRUST_PROXY_HOPS: '1',
    RATE_LIMIT_LIMIT: String(RATE_LIMIT),
    RATE_LIMIT_TTL_SECONDS: '60',
    MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
    URL_FETCH_ALLOWLIST: '127.0.0.2/32',
    URL_FETCH_TIMEOUT_MS: '3000',
    SYNC_TIMEOUT_MS: '60000',
  });
  const [trap, allowed, processes] = await Promise.all([
    LoopbackServer.start('127.0.0.1'),
    redirector(),
    apisAndWorker(env, 2),
  ]);
  const [a, b] = processes.apis;
  const w = processes.worker;
  const token = (o: TokenOptions = {}): Promise<string> =>
    signWith(privateKey, 'RS256', { ...o, scope: o.scope ?? 'caption:write caption:read' });
  return {
    redis,
    apis: [a, b],
    worker: w,
    clients: [new CheckedClient(a.url), new CheckedClient(b.url)],
    privateKey,
    publicPem,
    trap,
    allowedBase: allowed.base,
    jobIds: [],
    imageFragments: [],
    token,
    auth: async (sub, scope) => ({ authorization: `Bearer ${await token({ sub, scope })}` }),
    close: async () => {
      await trap.close();
      allowed.server.closeAllConnections();
      await new Promise((r) => allowed.server.close(r));
    },
  };
}
