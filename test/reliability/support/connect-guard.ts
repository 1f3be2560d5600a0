/**
 * A safety net for the in-process SSRF table: while it is on, every TCP connect of this process to a
 * non-loopback address is blocked before a packet leaves (literal hosts at connect, host names at their
 * lookup) and recorded. The code under test must refuse those addresses itself; the guard only makes
 * sure a regression shows up as a recorded violation instead of traffic to 10/8 or the metadata service.
 */
import net from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
type LookupFn = (host: string, options: object, callback: LookupCallback) => void;

export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  return a.startsWith('127.') || a === '::1' || a.startsWith('::ffff:127.');
}

export interface ConnectGuard {
  violations: string[];
  restore(): void;
}

export function guardConnections(): ConnectGuard {
  const original = net.Socket.prototype.connect;
  const violations: string[] = [];
  const blocked = (address: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`test guard: connection to ${address} blocked`), { code: 'EGUARD' });
  function guarded(this: net.Socket, ...args: unknown[]): net.Socket {
    const options = args[0];
    if (typeof options === 'object' && options !== null && 'port' in options) {
      const o = options as net.TcpNetConnectOpts;
      const host = o.host ?? 'localhost';
      if (net.isIP(host) !== 0 && !isLoopback(host)) {
        violations.push(host);
        throw blocked(host);
      }
      if (net.isIP(host) === 0) {
        const inner = (o.lookup ?? dnsLookup) as unknown as LookupFn;
        const lookup: LookupFn = (name, lookupOptions, callback) =>
          inner(name, lookupOptions, (err, address, family) => {
            const all = typeof address === 'string' ? [address] : (address ?? []).map((a) => a.address);
            const outside = all.filter((a) => a !== '' && !isLoopback(a));
            if (err === null && outside.length > 0) {
              violations.push(...outside);
              callback(blocked(outside[0]), '');
              return;
            }
            callback(err, address, family);
          });
        args[0] = { ...o, lookup };
      }
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  }
  net.Socket.prototype.connect = guarded as typeof original;
  return {
    violations,
    restore: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
