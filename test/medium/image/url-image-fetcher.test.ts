/**
 * The image_url fetcher against listeners on loopback. Other address ranges and names are exercised
 * through an injected resolver: no packet leaves the machine.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LookupAddress } from 'node:dns';
import { AppError } from '../../../src/common/app-error';
import { emptyPolicy, parseAddressRules, type AddressPolicy } from '../../../src/image/address-policy';
import type { Resolver } from '../../../src/image/safe-lookup';
import { UrlImageFetcher } from '../../../src/image/url-image-fetcher';
import { imagesDir } from '../../helpers/paths';

const png = readFileSync(join(imagesDir, 'formats', 'tbgn2c16.png'));
let server: Server;
let port: number;
let connections = 0;

/** Names used in these tests; anything else does not resolve. */
const names: Record<string, string[]> = {
  'img.test': ['127.0.0.1'],
  'private.test': ['10.0.0.1'],
  'metadata.test': ['169.254.169.254'],
  'rebind.test': ['93.184.216.34', '127.0.0.1'],
};
const resolver: Resolver = async (host) => {
  const addrs = names[host];
  if (addrs === undefined) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return addrs.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
};

before(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/img.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
    } else if (path === '/redirect') {
      res.writeHead(302, { location: '/img.png' }).end();
    } else if (path.startsWith('/chain/')) {
      const n = Number(path.slice('/chain/'.length));
      res.writeHead(301, { location: n > 0 ? `/chain/${n - 1}` : '/img.png' }).end();
    } else if (path === '/to-private') {
      res.writeHead(307, { location: 'http://private.test/x.png' }).end();
    } else if (path === '/to-literal') {
      res.writeHead(302, { location: 'http://0x0a.0.0.1/x.png' }).end();
    } else if (path === '/to-file') {
      res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    } else if (path === '/big') {
      res.writeHead(200, { 'content-type': 'image/png' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const pump = (): void => {
        while (sent < 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    } else if (path === '/big-declared') {
      res.writeHead(200, { 'content-length': 50 * 1024 * 1024 }).write('x');
    } else if (path === '/slow') {
      setTimeout(() => res.writeHead(200).end(png), 3000).unref();
    } else if (path === '/missing') {
      res.writeHead(404).end('no');
    } else {
      res.writeHead(500).end();
    }
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function fetcher(policy: AddressPolicy, overrides: Partial<{ maxBytes: number; timeoutMs: number }> = {}) {
  return new UrlImageFetcher({
    policy,
    maxBytes: overrides.maxBytes ?? 1024 * 1024,
    maxRedirects: 3,
    timeoutMs: overrides.timeoutMs ?? 2000,
    resolver,
  });
}

function allowLoopback(): AddressPolicy {
  const p = emptyPolicy();
  p.allow = parseAddressRules('127.0.0.1/32, img.test');
  return p;
}

async function problem(promise: Promise<unknown>): Promise<{ status: number; detail: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return { status: err.problem.status, detail: err.problem.detail };
    throw err;
  }
  return { status: 200, detail: '' };
}

test('an allowlisted loopback URL is fetched, redirects are followed', async () => {
  const f = fetcher(allowLoopback());
  try {
    assert.deepEqual(await f.fetch(`http://127.0.0.1:${port}/img.png`), png);
    assert.deepEqual(await f.fetch(`http://127.0.0.1:${port}/redirect`), png);
    assert.deepEqual(await f.fetch(`http://img.test:${port}/chain/2`), png);
  } finally {
    await f.close();
  }
});

test('refusals: too many redirects, redirect to private names and literals, non-http schemes, HTTP errors', async () => {
  const f = fetcher(allowLoopback());
  try {
    const cases: [string, number, RegExp][] = [
      [`http://127.0.0.1:${port}/chain/3`, 400, /redirected more than 3 times/],
      [
        `http://img.test:${port}/to-private`,
        400,
        /private\.test resolves to a refused address: .*10\.0\.0\.1 is a private/,
      ],
      [`http://img.test:${port}/to-literal`, 400, /10\.0\.0\.1 is a private/],
      [`http://img.test:${port}/to-file`, 400, /http or https, not file/],
      [`http://127.0.0.1:${port}/missing`, 400, /HTTP 404/],
      ['file:///etc/passwd', 400, /not file/],
      ['gopher://127.0.0.1:70/x', 400, /not gopher/],
      ['data:image/png;base64,iVBORw0KGgo=', 400, /not data/],
      ['ftp://example.com/x.png', 400, /not ftp/],
      ['not a url', 400, /not a valid absolute URL/],
      [`http://user:pw@127.0.0.1:${port}/img.png`, 400, /credentials/],
    ];
    for (const [url, status, detail] of cases) {
      const p = await problem(f.fetch(url));
      assert.equal(p.status, status, url);
      assert.match(p.detail, detail, url);
    }
  } finally {
    await f.close();
  }
});

test('byte cap: a streamed body over the limit and an over-large Content-Length are 413', async () => {
  const f = fetcher(allowLoopback(), { maxBytes: 256 * 1024 });
  try {
    assert.equal((await problem(f.fetch(`http://127.0.0.1:${port}/big`))).status, 413);
    assert.equal((await problem(f.fetch(`http://127.0.0.1:${port}/big-declared`))).status, 413);
  } finally {
    await f.close();
  }
});

test('timeout: a server that does not answer in time is a 400 naming the timeout', async () => {
  const f = fetcher(allowLoopback(), { timeoutMs: 300 });
  try {
    const started = Date.now();
    const p = await problem(f.fetch(`http://127.0.0.1:${port}/slow`));
    assert.equal(p.status, 400);
    assert.match(p.detail, /longer than 300 ms/);
    assert.ok(Date.now() - started < 2000);
  } finally {
    await f.close();
  }
});

test('without an allowlist, loopback in every textual form is refused and the listener sees no connection', async () => {
  const f = new UrlImageFetcher({
    policy: emptyPolicy(),
    maxBytes: 1 << 20,
    maxRedirects: 3,
    timeoutMs: 2000,
  });
  const before = connections;
  try {
    const hosts = [
      '127.0.0.1',
      'localhost',
      '2130706433',
      '0177.0.0.1',
      '0x7f.0.0.1',
      '127.1',
      '[::1]',
      '[::ffff:127.0.0.1]',
      '0.0.0.0',
      '[::]',
    ];
    for (const host of hosts) {
      const p = await problem(f.fetch(`http://${host}:${port}/img.png`));
      assert.equal(p.status, 400, host);
      assert.match(p.detail, /refused/, host);
    }
    assert.equal(connections, before, 'no connection reached the loopback listener');
  } finally {
    await f.close();
  }
});

test('names resolving to private or metadata addresses are refused at connect time (injected resolver)', async () => {
  const f = fetcher(emptyPolicy());
  try {
    for (const host of ['private.test', 'metadata.test', 'rebind.test', 'img.test']) {
      const p = await problem(f.fetch(`http://${host}:${port}/img.png`));
      assert.equal(p.status, 400, host);
      assert.match(p.detail, /resolves to a refused address/, host);
    }
    const literal = await problem(f.fetch('http://169.254.169.254/latest/meta-data/'));
    assert.match(literal.detail, /metadata endpoint/);
    const v6meta = await problem(f.fetch('http://[fd00:ec2::254]/latest/meta-data/'));
    assert.match(v6meta.detail, /metadata endpoint/);
  } finally {
    await f.close();
  }
});

test('the denylist wins over the allowlist', async () => {
  const p = allowLoopback();
  p.deny = parseAddressRules('img.test');
  const f = fetcher(p);
  try {
    assert.match((await problem(f.fetch(`http://img.test:${port}/img.png`))).detail, /denylisted/);
  } finally {
    await f.close();
  }
});
