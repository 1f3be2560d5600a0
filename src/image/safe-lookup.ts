/**
 * A DNS `lookup` for net/tls.connect that resolves the host and checks EVERY resolved address against
 * the address policy before the socket connects. Because the check runs at connect time on the very
 * addresses the socket will use, a name that re-resolves to a private address between two look-ups
 * (DNS rebinding) is still refused. The resolver is injectable so tests never send packets.
 */
import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent } from 'undici';
import { checkAddress, type AddressPolicy } from './address-policy';

export type Resolver = (host: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (host) => dns.lookup(host, { all: true, verbatim: true });

/** Thrown (through the socket) when a resolved address is refused by the policy. */
export class AddressRefusedError extends Error {
  readonly code = 'ERR_ADDRESS_REFUSED';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'AddressRefusedError';
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** Resolves and checks; resolves with the addresses only if every one of them is allowed. */
export async function resolveChecked(
  host: string,
  policy: AddressPolicy,
  resolver: Resolver,
): Promise<LookupAddress[]> {
  const addresses = await resolver(host);
  if (addresses.length === 0)
    throw new AddressRefusedError(`the host ${host} did not resolve to any address`);
  for (const { address } of addresses) {
    const verdict = checkAddress(address, policy, host);
    if (!verdict.allowed)
      throw new AddressRefusedError(`${host} resolves to a refused address: ${verdict.reason}`);
  }
  return addresses;
}

export function createSafeLookup(policy: AddressPolicy, resolver: Resolver = systemResolver) {
  return (hostname: string, options: LookupOptions | number | undefined, callback: LookupCallback): void => {
    const opts: LookupOptions = typeof options === 'object' && options !== null ? options : {};
    resolveChecked(hostname, policy, resolver).then(
      (all) => {
        const wanted =
          opts.family === 4 || opts.family === 6 ? all.filter((a) => a.family === opts.family) : all;
        if (wanted.length === 0) {
          callback(
            Object.assign(new Error(`no IPv${String(opts.family)} address for ${hostname}`), {
              code: 'ENOTFOUND',
            }),
            '',
          );
        } else if (opts.all === true) {
          callback(null, wanted);
        } else {
          callback(null, wanted[0].address, wanted[0].family);
        }
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, ''),
    );
  };
}

/**
 * An undici Agent whose every connection goes through the address policy (createSafeLookup), with one
 * deadline for connect, headers and body: the outbound client of the URL fetcher and the webhook sender.
 */
export function createGuardedAgent(o: {
  policy: AddressPolicy;
  resolver?: Resolver;
  timeoutMs: number;
  keepAliveTimeout: number;
  connections: number;
}): Agent {
  return new Agent({
    connect: { lookup: createSafeLookup(o.policy, o.resolver ?? systemResolver), timeout: o.timeoutMs },
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    keepAliveTimeout: o.keepAliveTimeout,
    connections: o.connections,
  });
}
