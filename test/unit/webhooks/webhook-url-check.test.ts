import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { AppError } from '../../../src/common/app-error';
import { loadSettings } from '../../../src/config/load-settings';
import { webhookPolicy, checkWebhookUrl } from '../../../src/webhooks/webhook-address-policy';
import { WebhookUrlChecker } from '../../../src/webhooks/webhook-url-check.adapter';
import { WebhookSettings } from '../../../src/webhooks/webhook.settings';

const dns: Record<string, LookupAddress[]> = {
  'hooks.example.com': [{ address: '93.184.216.34', family: 4 }],
  'internal.example.com': [{ address: '10.1.2.3', family: 4 }],
  'mixed.example.com': [
    { address: '93.184.216.34', family: 4 },
    { address: '169.254.169.254', family: 4 },
  ],
};
const resolver = async (host: string): Promise<LookupAddress[]> => {
  const found = dns[host];
  if (found === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return found;
};

async function refusal(check: WebhookUrlChecker, url: string): Promise<string> {
  try {
    await check.check(url);
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.problem.status, 400);
    assert.equal(err.problem.code, 'webhook_url.refused');
    return err.problem.detail;
  }
  throw new Error(`${url} was accepted`);
}

test('webhook URL check at submission: form, scheme, length, policy and DNS', async () => {
  const check = new WebhookUrlChecker(webhookPolicy('', 'evil.example.com'), true, resolver);
  await check.check('https://hooks.example.com/captioner?x=1');
  await check.check('http://93.184.216.34:8080/hook');
  assert.match(await refusal(check, 'ftp://hooks.example.com/x'), /http or https, not ftp/);
  assert.match(await refusal(check, 'not a url'), /not a valid absolute URL/);
  assert.match(await refusal(check, `https://hooks.example.com/${'a'.repeat(2100)}`), /longer than 2048/);
  assert.match(await refusal(check, 'https://user:pw@hooks.example.com/'), /credentials/);
  assert.match(await refusal(check, 'http://127.0.0.1:9000/'), /loopback/);
  assert.match(await refusal(check, 'http://[::ffff:10.0.0.1]/'), /private/);
  assert.match(await refusal(check, 'http://169.254.169.254/latest'), /metadata/);
  assert.match(await refusal(check, 'https://internal.example.com/'), /private/);
  assert.match(await refusal(check, 'https://mixed.example.com/'), /metadata/);
  assert.match(await refusal(check, 'https://nowhere.example.com/'), /does not resolve \(ENOTFOUND\)/);
  assert.match(await refusal(check, 'https://evil.example.com/'), /denylisted/);
});

test('WEBHOOK_ALLOWLIST lets a private receiver through; without WEBHOOK_SECRET every URL is refused', async () => {
  const check = new WebhookUrlChecker(webhookPolicy('10.0.0.0/8,127.0.0.1', ''), true, resolver);
  await check.check('https://internal.example.com/hook');
  await check.check('http://127.0.0.1:9000/hook');
  const off = new WebhookUrlChecker(webhookPolicy('', ''), false, resolver);
  assert.match(await refusal(off, 'https://hooks.example.com/'), /not enabled/);
  assert.equal(checkWebhookUrl('https://hooks.example.com/', webhookPolicy('', '')).ok, true);
});

test('WebhookSettings: a whsec_ secret, bounds, and the secret never shown in the error', () => {
  const ok = loadSettings(WebhookSettings, { WEBHOOK_SECRET: `whsec_${'A'.repeat(43)}=` });
  assert.equal(ok.WEBHOOK_TIMEOUT_MS, 10_000);
  assert.equal(loadSettings(WebhookSettings, {}).WEBHOOK_SECRET, undefined);
  for (const env of [
    { WEBHOOK_SECRET: 'hunter2hunter2hunter2hunter2hunter2' },
    { WEBHOOK_SECRET: 'whsec_short' },
  ]) {
    assert.throws(
      () => loadSettings(WebhookSettings, env),
      (err: Error) => /WEBHOOK_SECRET/.test(err.message) && !err.message.includes(env.WEBHOOK_SECRET),
    );
  }
  assert.throws(() => loadSettings(WebhookSettings, { WEBHOOK_TIMEOUT_MS: '10' }), /WEBHOOK_TIMEOUT_MS/);
});
