/**
 * The SSRF address policy as pure functions: which resolved addresses an `image_url` fetch may connect
 * to. Only globally routable unicast addresses pass, unless a configured allowlist says otherwise; the
 * denylist always wins. Addresses are normalized with ipaddr.js first, so an IPv4-mapped IPv6 address
 * is judged as the IPv4 address it carries.
 */
import ipaddr from 'ipaddr.js';

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

/** Cloud metadata endpoints, named explicitly so the refusal says what they are. */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254']);

const RANGE_NAMES: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  private: 'a private address',
  uniqueLocal: 'a unique-local (private) IPv6 address',
  reserved: 'a reserved address',
  ipv4Mapped: 'an IPv4-mapped address',
  rfc6052: 'a NAT64 address',
  rfc6145: 'an IPv4-translated address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
};

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
    } else if (ipaddr.isValid(stripBrackets(item))) {
      const addr = normalize(ipaddr.parse(stripBrackets(item)));
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

/** Parses any textual IP form ipaddr.js knows (dotted, decimal, octal, hex, IPv6); undefined if none. */
export function parseIp(text: string): Address | undefined {
  const bare = stripBrackets(text.trim());
  if (!ipaddr.isValid(bare)) return undefined;
  try {
    return normalize(ipaddr.parse(bare));
  } catch {
    return undefined;
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

/**
 * May a connection go to `address` (resolved from `host`)? Denylist first, then the allowlist (by CIDR,
 * or by host name), then only globally routable unicast addresses.
 */
export function checkAddress(address: string, policy: AddressPolicy, host?: string): Verdict {
  const addr = parseIp(address);
  if (addr === undefined) return { allowed: false, reason: `${address} is not an IP address` };
  const shown = addr.toString();
  if (inCidrs(addr, policy.deny)) return { allowed: false, reason: `the address ${shown} is denylisted` };
  if (host !== undefined && hostMatches(host, policy.deny)) {
    return { allowed: false, reason: `the host ${host} is denylisted` };
  }
  if (inCidrs(addr, policy.allow)) return { allowed: true };
  if (host !== undefined && hostMatches(host, policy.allow)) return { allowed: true };
  if (METADATA.has(shown)) {
    return { allowed: false, reason: `the address ${shown} is the cloud metadata endpoint` };
  }
  const range = addr.range();
  if (range !== 'unicast') {
    return {
      allowed: false,
      reason: `the address ${shown} is ${RANGE_NAMES[range] ?? `not public (${range})`}`,
    };
  }
  return { allowed: true };
}
