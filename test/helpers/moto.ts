/**
 * A real S3 API on loopback for the bundle publish/pull tests: moto's server mode from the test tools'
 * venv (scripts/test-tools-setup.sh), started by the test on a free port with IAM authentication on and
 * three users whose policies tools/test-tools/moto_users.py defines (publisher, reader, nomanifest).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { repoRoot } from './paths';
import { freePort } from './redis';
import { sleep, waitFor } from './time';

const venv = join(repoRoot, 'tools', 'test-tools', '.venv', 'bin');
const motoServer = join(venv, 'moto_server');

export interface MotoUser {
  accessKeyId: string;
  secretAccessKey: string;
}

type UserName = 'publisher' | 'reader' | 'nomanifest';

/** Undefined when moto is installed; else a skip reason, or a failure when CI is set. */
export function motoOrSkip(): string | undefined {
  if (existsSync(motoServer)) return undefined;
  const why = `moto is not installed (${motoServer}): run bash scripts/test-tools-setup.sh`;
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false')
    throw new Error(`${why}; CI is set: the S3 suites must run`);
  return why;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class MotoS3 {
  private log = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly endpoint: string,
    readonly bucket: string,
    readonly users: Record<UserName, MotoUser>,
  ) {}

  static async start(bucket = 'captioner-models'): Promise<MotoS3> {
    const port = await freePort();
    const child = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], {
      // The nine IAM calls of moto_users.py go unauthenticated; every request after them is checked.
      env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: '9', PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const keep = (chunk: Buffer): void => {
      log += chunk.toString();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    process.once('exit', () => child.kill('SIGKILL'));
    const deadline = Date.now() + 60_000;
    while (!(await portAnswers(port))) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`moto_server did not start on port ${port}:\n${log}`);
      await sleep(100);
    }
    const endpoint = `http://127.0.0.1:${port}`;
    const { stdout } = await promisify(execFile)(join(venv, 'python'), [
      join(repoRoot, 'tools', 'test-tools', 'moto_users.py'),
      endpoint,
      bucket,
    ]);
    const made = JSON.parse(stdout) as Record<UserName, MotoUser>;
    const moto = new MotoS3(child, endpoint, bucket, made);
    child.stdout?.off('data', keep);
    child.stderr?.off('data', keep);
    const append = (chunk: Buffer): void => {
      moto.log += chunk.toString();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    return moto;
  }

  /** An S3 client as `user` (or with the given keys), path-style at the loopback endpoint. */
  client(user: UserName | MotoUser): S3Client {
    const credentials = typeof user === 'string' ? this.users[user] : user;
    return new S3Client({ endpoint: this.endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  }

  /** The request lines moto logged so far that touch `path` (e.g. "GET /bucket/prefix/"). */
  requests(method: string, pathPrefix: string): string[] {
    return this.log.split('\n').filter((l) => l.includes(`"${method} ${pathPrefix}`));
  }

  /** Waits until every request made before this call is in the log (a marker request is logged last). */
  async settle(): Promise<void> {
    const marker = `settle-${randomUUID()}`;
    const client = this.client('reader');
    try {
      await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: marker })).catch(() => undefined);
    } finally {
      client.destroy();
    }
    await waitFor('moto to log its requests', () => (this.log.includes(marker) ? true : undefined), 30_000);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}
