/**
 * A private Redis Cluster for tests: three masters with one replica each, on free loopback ports, in
 * temporary directories, created with `redis-cli --cluster create`. `failover()` kills a master (SIGKILL,
 * an outage) and waits until its replica has been promoted and the cluster is whole again.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './redis';
import { waitFor } from './time';

const run = promisify(execFile);
/** Short, so a failover takes seconds, not the default 15 s before a master is marked failed. */
const NODE_TIMEOUT_MS = 2000;
const START_TIMEOUT_MS = 60_000;

interface ClusterNode {
  port: number;
  dir: string;
  child?: ChildProcess;
}

/** Runs one command on one node with a fresh, short-lived connection; undefined when it does not answer. */
async function ask(port: number, ...args: string[]): Promise<string | undefined> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    connectTimeout: 2000,
    commandTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return String(await client.call(args[0], ...args.slice(1)));
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

export class RedisCluster {
  private constructor(private readonly nodes: ClusterNode[]) {}

  /** Starts six nodes, joins them as three masters with a replica each, and waits for cluster_state:ok. */
  static async start(): Promise<RedisCluster> {
    await RedisCluster.requireClusterSupport();
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < 6; i++) {
      nodes.push({ port: await freePort(), dir: mkdtempSync(join(tmpdir(), 'captioner-cluster-')) });
    }
    const cluster = new RedisCluster(nodes);
    try {
      for (const node of nodes) cluster.spawn(node);
      for (const node of nodes) {
        await waitFor(
          `cluster node ${node.port} to answer`,
          async () => ((await ask(node.port, 'PING')) === 'PONG' ? true : undefined),
          START_TIMEOUT_MS,
          100,
        );
      }
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...nodes.map((n) => `127.0.0.1:${n.port}`),
          '--cluster-replicas',
          '1',
          '--cluster-yes',
        ],
        { timeout: START_TIMEOUT_MS },
      );
      await cluster.waitHealthy();
      await cluster.waitReplicasSynced();
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** Fails with a clear message (never a skip) when this redis-server cannot run a cluster. */
  private static async requireClusterSupport(): Promise<void> {
    const { stdout } = await run('redis-server', ['--version']).catch((err: Error) => {
      throw new Error(`redis-server is needed for the Redis Cluster tests: ${err.message}`);
    });
    const major = Number(/v=(\d+)\./.exec(stdout)?.[1] ?? 0);
    if (major < 6) {
      throw new Error(
        `the Redis Cluster tests need redis-server >= 6 with cluster support (found: ${stdout.trim()})`,
      );
    }
  }

  /** Seed URLs of the masters and replicas that are running, comma-separated (the REDIS_URL format). */
  get url(): string {
    return this.running()
      .map((n) => `redis://127.0.0.1:${n.port}`)
      .join(',');
  }

  /** Ports of the nodes currently running. */
  get ports(): number[] {
    return this.running().map((n) => n.port);
  }

  /** Port of the master serving `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    const probe = this.running()[0];
    const slot = Number(await ask(probe.port, 'CLUSTER', 'KEYSLOT', key));
    const masters = await this.masters();
    const owner = masters.find((m) => m.slots.some(([lo, hi]) => slot >= lo && slot <= hi));
    if (owner === undefined) throw new Error(`no master serves slot ${slot}`);
    return owner.port;
  }

  /**
   * Kills (SIGKILL) the master serving `key` (default: the first master) and waits until its replica
   * has taken over and every node still running reports cluster_state:ok. Returns the killed port.
   */
  async failover(key?: string): Promise<number> {
    const port = key === undefined ? (await this.masters())[0].port : await this.masterOf(key);
    const node = this.nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no node on port ${port}`);
    await this.kill(node);
    await waitFor(
      `a replica to replace the master on ${port}`,
      async () => {
        const masters = await this.masters();
        const covered = masters.reduce(
          (sum, m) => sum + m.slots.reduce((s, [lo, hi]) => s + hi - lo + 1, 0),
          0,
        );
        return covered === 16384 && !masters.some((m) => m.port === port) ? true : undefined;
      },
      START_TIMEOUT_MS,
      200,
    );
    await this.waitHealthy();
    return port;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n)));
    for (const n of this.nodes) rmSync(n.dir, { recursive: true, force: true });
  }

  private running(): ClusterNode[] {
    return this.nodes.filter((n) => n.child !== undefined);
  }

  private spawn(node: ClusterNode): void {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(node.port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(node.dir, 'nodes.conf'),
        '--cluster-node-timeout',
        String(NODE_TIMEOUT_MS),
        '--dir',
        node.dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    node.child = child;
    child.once('exit', () => {
      if (node.child === child) node.child = undefined;
    });
  }

  private async kill(node: ClusterNode): Promise<void> {
    const child = node.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    node.child = undefined;
  }

  /** The masters serving slots, from CLUSTER SLOTS of a running node. */
  private async masters(): Promise<Array<{ port: number; slots: Array<[number, number]> }>> {
    for (const node of this.running()) {
      const client = new Redis({
        port: node.port,
        host: '127.0.0.1',
        lazyConnect: true,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const ranges = await client.cluster('SLOTS');
        const byPort = new Map<number, Array<[number, number]>>();
        for (const [lo, hi, master] of ranges) {
          const port = master[1];
          byPort.set(port, [...(byPort.get(port) ?? []), [lo, hi]]);
        }
        return [...byPort].map(([port, slots]) => ({ port, slots }));
      } catch {
        // try the next node
      } finally {
        client.disconnect();
      }
    }
    throw new Error('no cluster node answers CLUSTER SLOTS');
  }

  /**
   * Every master has a replica that finished its first sync: a replica that never synced is not allowed
   * to take over (its data would be too old), so a failover right after start-up would never happen.
   */
  private async waitReplicasSynced(): Promise<void> {
    await waitFor(
      'three replicas in sync with their masters',
      async () => {
        let synced = 0;
        for (const node of this.running()) {
          const info = (await ask(node.port, 'INFO', 'replication')) ?? '';
          if (/^role:slave/m.test(info) && /^master_link_status:up/m.test(info)) synced++;
        }
        return synced === 3 ? true : undefined;
      },
      START_TIMEOUT_MS,
      200,
    );
  }

  /** Every running node says cluster_state:ok and knows all 16384 slots. */
  private async waitHealthy(): Promise<void> {
    await waitFor(
      'cluster_state:ok on every node',
      async () => {
        for (const node of this.running()) {
          const info = await ask(node.port, 'CLUSTER', 'INFO');
          if (
            info === undefined ||
            !info.includes('cluster_state:ok') ||
            !info.includes('cluster_slots_ok:16384')
          ) {
            return undefined;
          }
        }
        return true;
      },
      START_TIMEOUT_MS,
      200,
    );
  }
}
