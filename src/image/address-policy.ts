/**
 * The SSRF address policy as pure functions: which resolved addresses an `image_url` fetch may connect
 * to. Only globally routable unicast addresses outside every special-purpose range (special-addresses.ts)
 * pass, unless a configured allowlist says otherwise; the denylist always wins. Text is parsed by the
 * WHATWG URL host parser (the one that parses the URL itself), so every IPv4 spelling (decimal, octal,
 * hex, short) means what a URL means by it; an IPv4-mapped IPv6 address is its IPv4 address, and every
 * other IPv4 address embedded in an IPv6 one (compatible, translated, NAT64, 6to4, Teredo, ISATAP) is
 * judged as that IPv4 address as well.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import {
  IPV4_SPECIAL_RANGES,
  IPV6_GLOBAL_UNICAST,
  IPV6_SPECIAL_RANGES,
  type SpecialRange,
} from './special-addresses';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface AddressRules {
  /** Lower-case host names; a leading dot (".example.com") matches every subdomain. */
  hosts: string[];
  cidrs: [Address, number][];
}

export interface AddressPolicy {
  allow: AddressRules;
  deny: AddressRules;
}

export type Verdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Cloud metadata endpoints, named explicitly so the refusal says what they are. 168.63.129.16 is Azure's
 * host endpoint (WireServer, IMDS proxy): a public address that only the platform answers on.
 */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '168.63.129.16']);

interface CompiledRange {
  net: Address;
  bits: number;
  range: SpecialRange;
}

let compiled: CompiledRange[] | undefined;

function specialRanges(): CompiledRange[] {
  compiled ??= [...IPV4_SPECIAL_RANGES, ...IPV6_SPECIAL_RANGES].map((range) => {
    const [net, bits] = ipaddr.parseCIDR(range.cidr);
    return { net, bits, range };
  });
  return compiled;
}

/** The most specific special-purpose range holding `addr`, if any. */
export function specialRangeOf(addr: Address): SpecialRange | undefined {
  let best: CompiledRange | undefined;
  for (const c of specialRanges()) {
    if (
      c.net.kind() === addr.kind() &&
      addr.match(c.net, c.bits) &&
      (best === undefined || c.bits > best.bits)
    )
      best = c;
  }
  return best?.range;
}

export interface EmbeddedIPv4 {
  /** How the IPv4 address is carried: compatible, translated, NAT64, 6to4, Teredo server/client, ISATAP. */
  form: string;
  address: ipaddr.IPv4;
}

const v4 = (b: number[]): ipaddr.IPv4 => new ipaddr.IPv4(b);

/**
 * Every IPv4 address an IPv6 address carries, in each form a router or tunnel would act on: the
 * deprecated IPv4-compatible ::/96 (RFC 4291), SIIT ::ffff:0:0:0/96 (RFC 2765), NAT64 64:ff9b::/96 and
 * the local-use 64:ff9b:1::/48 (RFC 6052 and 8215, the /48 layout skipping the "u" octet), 6to4
 * 2002::/16 (RFC 3056), Teredo 2001::/32 (RFC 4380: the server, and the client stored inverted) and an
 * ISATAP interface id (RFC 5214: ::0:5efe:a.b.c.d, ::200:5efe:a.b.c.d, any prefix). IPv4-mapped
 * addresses are not listed: they are normalized to their IPv4 address before this is asked.
 */
export function embeddedIPv4(addr: ipaddr.IPv6): EmbeddedIPv4[] {
  const b = addr.toByteArray();
  const zero = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  const found: EmbeddedIPv4[] = [];
  if (zero(0, 12) && !zero(12, 15)) found.push({ form: 'IPv4-compatible', address: v4(b.slice(12)) });
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && zero(10, 12))
    found.push({ form: 'IPv4-translated', address: v4(b.slice(12)) });
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zero(4, 12)) found.push({ form: 'NAT64', address: v4(b.slice(12)) });
    else if (b[4] === 0 && b[5] === 1)
      found.push({ form: 'local-use NAT64', address: v4([b[6], b[7], b[9], b[10]]) });
  }
  if (b[0] === 0x20 && b[1] === 0x02) found.push({ form: '6to4', address: v4(b.slice(2, 6)) });
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) {
    found.push({ form: 'Teredo server', address: v4(b.slice(4, 8)) });
    found.push({ form: 'Teredo client', address: v4(b.slice(12).map((x) => x ^ 0xff)) });
  }
  if ((b[8] & 0xfc) === 0 && b[9] === 0 && b[10] === 0x5e && b[11] === 0xfe)
    found.push({ form: 'ISATAP', address: v4(b.slice(12)) });
  return found;
}

/** Parses a comma-separated list of hosts and CIDRs (a bare IP counts as a /32 or /128). */
export function parseAddressRules(list: string): AddressRules {
  const rules: AddressRules = { hosts: [], cidrs: [] };
  for (const raw of list.split(',')) {
    const item = raw.trim().toLowerCase();
    if (item === '') continue;
    if (item.includes('/')) {
      const [addr, bits] = ipaddr.parseCIDR(item);
      const v4 = normalize(addr);
      // ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8.
      rules.cidrs.push(v4 === addr ? [addr, bits] : [v4, Math.max(0, bits - 96)]);
    } else if (parseIp(item) !== undefined) {
      const addr = parseIp(item) as Address;
      rules.cidrs.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
    } else {
      rules.hosts.push(item);
    }
  }
  return rules;
}

export function emptyPolicy(): AddressPolicy {
  return { allow: { hosts: [], cidrs: [] }, deny: { hosts: [], cidrs: [] } };
}

export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Characters an IP literal can hold (digits, hex, x for 0x, dots, colons); anything else is a name. */
const IP_TEXT = /^[0-9a-fx.:]+$/i;

/**
 * Parses any textual IP form (dotted, decimal, octal, hex, short IPv4; IPv6 with or without brackets,
 * a dotted tail or a zone id) to the address it means; undefined if the text is not an IP address.
 * An IPv4-mapped IPv6 address comes back as its IPv4 address.
 */
export function parseIp(text: string): Address | undefined {
  return parseIpWithZone(text)?.addr;
}

function parseIpWithZone(text: string): { addr: Address; zone?: string } | undefined {
  let bare = stripBrackets(text.trim());
  let zone: string | undefined;
  const percent = bare.indexOf('%');
  if (percent >= 0 && bare.includes(':')) {
    zone = decodeZone(bare.slice(percent + 1));
    bare = bare.slice(0, percent);
  }
  if (!IP_TEXT.test(bare)) return undefined;
  let host: string;
  try {
    // ipaddr.js reads "::1.2.3.4" as IPv4-mapped; the URL parser gets it (and every IPv4 form) right.
    host = stripBrackets(new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`).hostname);
  } catch {
    return undefined;
  }
  if (isIP(host) === 0) return undefined;
  return { addr: normalize(ipaddr.parse(host)), zone };
}

function decodeZone(zone: string): string {
  try {
    return decodeURIComponent(zone);
  } catch {
    return zone;
  }
}

function normalize(addr: Address): Address {
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()
    ? (addr as ipaddr.IPv6).toIPv4Address()
    : addr;
}

export function hostMatches(host: string, rules: AddressRules): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return rules.hosts.some((rule) =>
    rule.startsWith('.') ? h.endsWith(rule) || h === rule.slice(1) : h === rule,
  );
}

function inCidrs(addr: Address, rules: AddressRules): boolean {
  return rules.cidrs.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
}

/** Is the host name itself refused (denylisted)? Checked before any resolution. */
export function checkHost(host: string, policy: AddressPolicy): Verdict {
  if (hostMatches(host, policy.deny)) return { allowed: false, reason: `the host ${host} is denylisted` };
  return { allowed: true };
}

const refused = (reason: string): Verdict => ({ allowed: false, reason });

/**
 * May a connection go to `address` (resolved from `host`)? In order: a zone id refuses; the denylist
 * (the address, any IPv4 address it embeds, the host name); the allowlist (a CIDR holding the address,
 * or the host name); the metadata endpoints; every embedded IPv4 address judged as itself; the most
 * specific special-purpose range; IPv6 outside 2000::/3. What is left is global unicast.
 */
export function checkAddress(address: string, policy: AddressPolicy, host?: string): Verdict {
  const parsed = parseIpWithZone(address);
  if (parsed === undefined) return refused(`${address} is not an IP address`);
  const { addr, zone } = parsed;
  const shown = addr.toString();
  if (zone !== undefined) return refused(`the address ${shown}%${zone} has a zone id (a local interface)`);
  const embedded = addr.kind() === 'ipv6' ? embeddedIPv4(addr as ipaddr.IPv6) : [];
  if (inCidrs(addr, policy.deny)) return refused(`the address ${shown} is denylisted`);
  for (const e of embedded) {
    if (inCidrs(e.address, policy.deny))
      return refused(`the address ${shown} embeds ${e.address.toString()} (${e.form}), which is denylisted`);
  }
  if (host !== undefined && hostMatches(host, policy.deny)) return refused(`the host ${host} is denylisted`);
  if (inCidrs(addr, policy.allow)) return { allowed: true };
  if (host !== undefined && hostMatches(host, policy.allow)) return { allowed: true };
  if (METADATA.has(shown)) return refused(`the address ${shown} is the cloud metadata endpoint`);
  for (const e of embedded) {
    const inner = rangeVerdict(e.address);
    if (!inner.allowed)
      return refused(`the address ${shown} embeds ${e.address.toString()} (${e.form}): ${inner.reason}`);
  }
  const own = rangeVerdict(addr);
  return own.allowed ? own : refused(`the address ${shown} is ${own.reason}`);
}

/** The range decision alone; the reason names the range ("a private address"). */
function rangeVerdict(addr: Address): Verdict {
  if (METADATA.has(addr.toString())) return refused('the cloud metadata endpoint');
  const range = specialRangeOf(addr);
  if (range !== undefined && range.decision === 'refuse') return refused(range.name);
  if (range === undefined && addr.kind() === 'ipv6' && !addr.match(ipaddr.parseCIDR(IPV6_GLOBAL_UNICAST)))
    return refused('outside the global unicast space (2000::/3), reserved by the IETF');
  return { allowed: true };
}
