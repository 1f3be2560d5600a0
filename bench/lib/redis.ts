/** The benchmark's own redis-server on a free loopback port (never the shared one on 6379). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { freePort, startProcess, stopProcess, waitUntil, type Managed } from './proc';

export interface BenchRedis {
  port: number;
  process: Managed;
  stop(): Promise<void>;
}

/** One RESP command over a fresh connection; resolves with the raw reply. */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const payload = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('redis timeout')));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.endsWith('\r\n')) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
    socket.write(payload);
  });
}

export async function startRedis(logDir: string): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'captioner-bench-redis-'));
  const p = startProcess(
    'redis:server',
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--dir',
      dir,
      '--databases',
      '16',
    ],
    { env: { PATH: process.env.PATH }, cwd: dir, log: join(logDir, 'redis.log') },
  );
  await waitUntil('redis', async () => (await redisCommand(port, 'PING')).startsWith('+PONG'), 10_000, [p]);
  return {
    port,
    process: p,
    async stop() {
      await stopProcess(p, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
