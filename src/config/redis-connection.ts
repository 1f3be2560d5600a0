/**
 * The one place that turns Redis settings into clients, standalone or Redis Cluster (REDIS_CLUSTER,
 * CACHE_REDIS_CLUSTER): ioredis `Redis`/`Cluster` for BullMQ, the throttler and the policy check, and the
 * Keyv store (@keyv/redis on node-redis) for the cache. In cluster mode the URL setting lists one or more
 * seed nodes (an ElastiCache configuration endpoint is enough); the rest of the topology is discovered.
 */
import KeyvRedis, { createClient, createCluster, type RedisClusterType } from '@keyv/redis';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redisUrls, type RedisSettings } from './redis.settings';

export type RedisConnection = Redis | Cluster;

interface Seed {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
}

function parseSeed(url: string): Seed {
  const u = new URL(url);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 6379 : Number(u.port),
    username: u.username === '' ? undefined : decodeURIComponent(u.username),
    password: u.password === '' ? undefined : decodeURIComponent(u.password),
    tls: u.protocol === 'rediss:',
  };
}

/**
 * A client for `url`: a `Redis`, or with `cluster` a `Cluster` seeded from the comma-separated URLs.
 * `options` are the per-connection ioredis options of the caller (fail-fast for producers,
 * `maxRetriesPerRequest: null` for BullMQ workers); for a cluster they are split as ioredis expects:
 * the offline queue, lazy connect and reconnect policy belong to the cluster, the rest to every node.
 */
export function createRedisConnection(
  url: string,
  cluster: boolean,
  options: RedisOptions = {},
): RedisConnection {
  if (!cluster) return new Redis(url, options);
  const seeds = redisUrls(url).map(parseSeed);
  const auth = seeds.find((s) => s.password !== undefined) ?? seeds[0];
  const { enableOfflineQueue, lazyConnect, retryStrategy, ...nodeOptions } = options;
  const tls = seeds.some((s) => s.tls);
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue,
    lazyConnect,
    clusterRetryStrategy: retryStrategy ?? ((times) => Math.min(100 * 2 ** times, 2000)),
    // A failover takes seconds (node timeout + election): keep refreshing the slots meanwhile.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2000,
    redisOptions: {
      username: auth?.username,
      password: auth?.password,
      ...(tls ? { tls: {} } : {}),
      ...nodeOptions,
    },
    // With TLS (ElastiCache in-transit encryption) connect by the announced host name, so the
    // certificate matches (ioredis' documented setting for ElastiCache).
    ...(tls
      ? { dnsLookup: (address: string, done: (err: null, a: string) => void) => done(null, address) }
      : {}),
  };
  return new Cluster(
    seeds.map((s) => ({ host: s.host, port: s.port })),
    clusterOptions,
  );
}

/** The queue Redis (BullMQ, throttler, policy check) of these settings; REDIS_URL must be set. */
export function createQueueRedis(settings: RedisSettings, options: RedisOptions = {}): RedisConnection {
  if (settings.REDIS_URL === undefined) throw new Error('createQueueRedis needs REDIS_URL');
  return createRedisConnection(settings.REDIS_URL, settings.REDIS_CLUSTER, options);
}

/** Every master of a connection (one for a standalone Redis), for per-node commands such as INFO. */
export function masterNodes(connection: RedisConnection): Redis[] {
  return connection instanceof Cluster ? connection.nodes('master') : [connection];
}

export interface KeyvStoreOptions {
  /** Connect timeout of one node connection. */
  connectTimeoutMs?: number;
  /** Every client error (connection refused, node lost); a listener is always attached so none crashes. */
  onError?: (err: unknown) => void;
}

/** Reconnect with backoff, capped at 2 s: a cache Redis that comes back is used again by itself. */
const reconnectStrategy = (retries: number): number => Math.min(100 * 2 ** retries, 2000);

/**
 * The cache's Keyv store on the cache Redis (CACHE_REDIS_URL, else REDIS_URL), standalone or cluster.
 * The client has no offline queue (a command while disconnected fails at once: a miss, never a wait) and
 * reconnects by itself; KeyvRedis connects it on first use. node-redis' cluster client re-reads the
 * topology only on MOVED/ASK, which a dead master never sends: the store re-reads it on node errors,
 * so the promoted replica is found after a failover.
 */
export function createKeyvRedisStore(
  settings: RedisSettings,
  options: KeyvStoreOptions = {},
): KeyvRedis<string> {
  const url = settings.cacheUrl;
  if (url === undefined) throw new Error('createKeyvRedisStore needs CACHE_REDIS_URL or REDIS_URL');
  const onError = options.onError ?? (() => undefined);
  const socket = { connectTimeout: options.connectTimeoutMs ?? 1000, reconnectStrategy };
  const storeOptions = { throwOnConnectError: false, throwOnErrors: true };
  if (!settings.cacheCluster) {
    const client = createClient({ url, disableOfflineQueue: true, socket });
    client.on('error', onError);
    return new KeyvRedis<string>(client, storeOptions);
  }
  const seeds = redisUrls(url);
  const first = parseSeed(seeds[0]);
  const cluster = createCluster({
    rootNodes: seeds.map((seed) => ({ url: seed })),
    defaults: {
      username: first.username,
      password: first.password,
      disableOfflineQueue: true,
      socket: first.tls ? { ...socket, tls: true } : socket,
    },
  });
  cluster.on('error', onError);
  cluster.on('node-error', (err: unknown, node: { host: string; port: number }) => {
    onError(err);
    rediscoverAfterNodeError(cluster, `${node.host}:${node.port}`);
  });
  return new KeyvRedis<string>(cluster, storeOptions);
}

const REDISCOVER_INTERVAL_MS = 500;
const lastRediscover = new WeakMap<object, number>();

/** Re-reads the topology from a node other than the failing one (at most every 500 ms per cluster). */
function rediscoverAfterNodeError(cluster: RedisClusterType, failing: string): void {
  const now = Date.now();
  if (!cluster.isOpen || now - (lastRediscover.get(cluster) ?? 0) < REDISCOVER_INTERVAL_MS) return;
  lastRediscover.set(cluster, now);
  const other = [...cluster.masters, ...cluster.replicas].find(
    (node) => node.client !== undefined && node.address !== failing,
  );
  const startWith = other?.client ?? cluster.masters[0]?.client;
  if (startWith === undefined) return;
  cluster._slots.rediscover(startWith).catch(() => undefined);
}
