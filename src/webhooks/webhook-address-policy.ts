/**
 * Webhook URLs obey image_url's address policy (src/image/address-policy.ts): only public unicast
 * addresses, URL_FETCH_DENYLIST always refused, and WEBHOOK_ALLOWLIST (not image_url's allowlist) for
 * private receivers. One URL check is shared by the submission check and every delivery attempt.
 */
import {
  checkAddress,
  checkHost,
  parseAddressRules,
  parseIp,
  stripBrackets,
  type AddressPolicy,
} from '../image/address-policy';

/** Longest accepted webhook URL. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

export function webhookPolicy(allowlist: string, denylist: string): AddressPolicy {
  try {
    return { allow: parseAddressRules(allowlist), deny: parseAddressRules(denylist) };
  } catch (err) {
    throw new Error(
      `WEBHOOK_ALLOWLIST or URL_FETCH_DENYLIST is not a list of hosts and CIDRs: ${String(err)}`,
    );
  }
}

export type UrlVerdict =
  { ok: true; url: URL; host: string; literal: boolean } | { ok: false; reason: string };

/** Everything that can be judged without DNS: form, scheme, length, credentials, host and literal IPs. */
export function checkWebhookUrl(raw: string, policy: AddressPolicy): UrlVerdict {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) {
    return { ok: false, reason: `it is longer than ${MAX_WEBHOOK_URL_LENGTH} characters` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'it is not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `it must be http or https, not ${url.protocol.replace(/:$/, '')}` };
  }
  if (url.username !== '' || url.password !== '')
    return { ok: false, reason: 'it must not carry credentials' };
  const host = stripBrackets(url.hostname);
  const hostVerdict = checkHost(host, policy);
  if (!hostVerdict.allowed) return { ok: false, reason: hostVerdict.reason };
  // A socket skips `lookup` for a literal IP: literals are judged here.
  const literal = parseIp(host);
  if (literal !== undefined) {
    const verdict = checkAddress(literal.toString(), policy);
    if (!verdict.allowed) return { ok: false, reason: verdict.reason };
  }
  return { ok: true, url, host, literal: literal !== undefined };
}
