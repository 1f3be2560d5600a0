/**
 * The IANA special-purpose address registries (IPv4: iana-ipv4-special-registry, IPv6:
 * iana-ipv6-special-registry, as of 2025), plus the ranges outside them that an `image_url` must not
 * reach (multicast, the deprecated IPv4-compatible and site-local IPv6 forms, IPv6 outside 2000::/3),
 * each with the address policy's decision:
 *
 * - `refuse`: never connected to unless allowlisted by a CIDR that covers the address itself. This
 *   includes the entries IANA marks globally reachable (protocol anycast, AS112, AMT, ORCHIDv2, DETs):
 *   none of them serves images, and a fetcher that can reach them is a probe for whoever sends URLs.
 * - `embedded`: a translation or tunnel prefix whose address is judged by the IPv4 address it embeds
 *   (NAT64 is how IPv6-only clusters reach IPv4 hosts; 6to4 is routable when its endpoint is public).
 *
 * Whatever the decision, every IPv4 address embedded in an IPv6 address (see `embeddedIPv4`) is judged
 * as that IPv4 address first, so `::a00:1`, `64:ff9b::a00:1`, `2002:a00:1::` and a Teredo address whose
 * client is 10.0.0.1 are all refused as 10.0.0.1 is.
 */
export type RangeDecision = 'refuse' | 'embedded';

export interface SpecialRange {
  cidr: string;
  name: string;
  /** IANA's "Globally Reachable" column; undefined when the range is not in the registries. */
  globallyReachable?: boolean | 'n/a';
  decision: RangeDecision;
}

export const IPV4_SPECIAL_RANGES: readonly SpecialRange[] = [
  { cidr: '0.0.0.0/8', name: '"this network"', globallyReachable: false, decision: 'refuse' },
  { cidr: '0.0.0.0/32', name: 'the unspecified address', globallyReachable: false, decision: 'refuse' },
  { cidr: '10.0.0.0/8', name: 'a private address', globallyReachable: false, decision: 'refuse' },
  {
    cidr: '100.64.0.0/10',
    name: 'a carrier-grade NAT address (100.64.0.0/10)',
    globallyReachable: false,
    decision: 'refuse',
  },
  { cidr: '127.0.0.0/8', name: 'a loopback address', globallyReachable: false, decision: 'refuse' },
  { cidr: '169.254.0.0/16', name: 'a link-local address', globallyReachable: false, decision: 'refuse' },
  { cidr: '172.16.0.0/12', name: 'a private address', globallyReachable: false, decision: 'refuse' },
  {
    cidr: '192.0.0.0/24',
    name: 'an IETF protocol assignment',
    globallyReachable: false,
    decision: 'refuse',
  },
  {
    cidr: '192.0.0.0/29',
    name: 'an IPv4 service continuity address',
    globallyReachable: false,
    decision: 'refuse',
  },
  { cidr: '192.0.0.8/32', name: 'the IPv4 dummy address', globallyReachable: false, decision: 'refuse' },
  { cidr: '192.0.0.9/32', name: 'the PCP anycast address', globallyReachable: true, decision: 'refuse' },
  { cidr: '192.0.0.10/32', name: 'the TURN anycast address', globallyReachable: true, decision: 'refuse' },
  {
    cidr: '192.0.0.170/32',
    name: 'a NAT64/DNS64 discovery address',
    globallyReachable: false,
    decision: 'refuse',
  },
  {
    cidr: '192.0.0.171/32',
    name: 'a NAT64/DNS64 discovery address',
    globallyReachable: false,
    decision: 'refuse',
  },
  {
    cidr: '192.0.2.0/24',
    name: 'a documentation address (TEST-NET-1)',
    globallyReachable: false,
    decision: 'refuse',
  },
  { cidr: '192.31.196.0/24', name: 'an AS112 address', globallyReachable: true, decision: 'refuse' },
  { cidr: '192.52.193.0/24', name: 'an AMT address', globallyReachable: true, decision: 'refuse' },
  {
    cidr: '192.88.99.0/24',
    name: 'a deprecated 6to4 relay anycast address',
    globallyReachable: false,
    decision: 'refuse',
  },
  {
    cidr: '192.88.99.2/32',
    name: 'the 6a44 relay anycast address',
    globallyReachable: true,
    decision: 'refuse',
  },
  { cidr: '192.168.0.0/16', name: 'a private address', globallyReachable: false, decision: 'refuse' },
  {
    cidr: '192.175.48.0/24',
    name: 'an AS112 direct delegation address',
    globallyReachable: true,
    decision: 'refuse',
  },
  { cidr: '198.18.0.0/15', name: 'a benchmarking address', globallyReachable: false, decision: 'refuse' },
  {
    cidr: '198.51.100.0/24',
    name: 'a documentation address (TEST-NET-2)',
    globallyReachable: false,
    decision: 'refuse',
  },
  {
    cidr: '203.0.113.0/24',
    name: 'a documentation address (TEST-NET-3)',
    globallyReachable: false,
    decision: 'refuse',
  },
  { cidr: '240.0.0.0/4', name: 'a reserved address', globallyReachable: false, decision: 'refuse' },
  {
    cidr: '255.255.255.255/32',
    name: 'the broadcast address',
    globallyReachable: false,
    decision: 'refuse',
  },
  // Not in the special-purpose registry (the multicast registry has it).
  { cidr: '224.0.0.0/4', name: 'a multicast address', decision: 'refuse' },
];

export const IPV6_SPECIAL_RANGES: readonly SpecialRange[] = [
  { cidr: '::1/128', name: 'a loopback address', globallyReachable: false, decision: 'refuse' },
  { cidr: '::/128', name: 'an unspecified address', globallyReachable: false, decision: 'refuse' },
  {
    cidr: '::ffff:0:0/96',
    name: 'an IPv4-mapped address',
    globallyReachable: false,
    // Never reached: a mapped address IS its IPv4 address (a dual-stack socket connects there), so it
    // is normalized to it before any range is looked up.
    decision: 'embedded',
  },
  {
    cidr: '64:ff9b::/96',
    name: 'a NAT64 address (well-known prefix)',
    globallyReachable: true,
    decision: 'embedded',
  },
  {
    cidr: '64:ff9b:1::/48',
    name: 'a local-use NAT64 address',
    globallyReachable: false,
    decision: 'refuse',
  },
  { cidr: '100::/64', name: 'a discard-only address', globallyReachable: false, decision: 'refuse' },
  { cidr: '100:0:0:1::/64', name: 'a dummy IPv6 address', globallyReachable: false, decision: 'refuse' },
  {
    cidr: '2001::/23',
    name: 'an IETF protocol assignment',
    globallyReachable: false,
    decision: 'refuse',
  },
  { cidr: '2001::/32', name: 'a Teredo address', globallyReachable: 'n/a', decision: 'refuse' },
  { cidr: '2001:1::1/128', name: 'the PCP anycast address', globallyReachable: true, decision: 'refuse' },
  { cidr: '2001:1::2/128', name: 'the TURN anycast address', globallyReachable: true, decision: 'refuse' },
  {
    cidr: '2001:1::3/128',
    name: 'the DNS-SD SRP anycast address',
    globallyReachable: true,
    decision: 'refuse',
  },
  { cidr: '2001:2::/48', name: 'a benchmarking address', globallyReachable: false, decision: 'refuse' },
  { cidr: '2001:3::/32', name: 'an AMT address', globallyReachable: true, decision: 'refuse' },
  { cidr: '2001:4:112::/48', name: 'an AS112 address', globallyReachable: true, decision: 'refuse' },
  {
    cidr: '2001:10::/28',
    name: 'a deprecated ORCHID address',
    globallyReachable: 'n/a',
    decision: 'refuse',
  },
  { cidr: '2001:20::/28', name: 'an ORCHIDv2 address', globallyReachable: true, decision: 'refuse' },
  {
    cidr: '2001:30::/28',
    name: 'a drone remote ID (DET) address',
    globallyReachable: true,
    decision: 'refuse',
  },
  { cidr: '2001:db8::/32', name: 'a documentation address', globallyReachable: false, decision: 'refuse' },
  { cidr: '2002::/16', name: 'a 6to4 address', globallyReachable: 'n/a', decision: 'embedded' },
  {
    cidr: '2620:4f:8000::/48',
    name: 'an AS112 direct delegation address',
    globallyReachable: true,
    decision: 'refuse',
  },
  { cidr: '3fff::/20', name: 'a documentation address', globallyReachable: false, decision: 'refuse' },
  { cidr: '5f00::/16', name: 'a segment routing (SRv6) SID', globallyReachable: false, decision: 'refuse' },
  {
    cidr: 'fc00::/7',
    name: 'a unique-local (private) IPv6 address',
    globallyReachable: false,
    decision: 'refuse',
  },
  { cidr: 'fe80::/10', name: 'a link-local address', globallyReachable: false, decision: 'refuse' },
  // Not in the special-purpose registry.
  {
    cidr: '::/96',
    name: 'a deprecated IPv4-compatible address',
    decision: 'refuse',
  },
  { cidr: '::ffff:0:0:0/96', name: 'an IPv4-translated (SIIT) address', decision: 'refuse' },
  { cidr: 'fec0::/10', name: 'a deprecated site-local address', decision: 'refuse' },
  { cidr: 'ff00::/8', name: 'a multicast address', decision: 'refuse' },
];

/** Only 2000::/3 is allocated as global unicast; the rest of the IPv6 space is reserved by the IETF. */
export const IPV6_GLOBAL_UNICAST = '2000::/3';
