// The Redis channel: a message is an RPUSH of an authenticated frame onto a list named after its route;
// a receive is a blocking pop. Each endpoint has two connections: one for commands (pushes, cleanup),
// and one that only ever blocks, so a waiting receive never delays a send. Joining is explicit: an
// endpoint writes its presence token into the run's presence hash when it opens and removes it when it
// closes, and holds a third connection subscribed to a channel of its own for as long as it lives; the
// server drops that subscription the moment the process dies. So one round trip (HGETALL and PUBSUB
// NUMSUB) tells any rank which ranks never joined, left, or went silent.
import { Redis } from 'ioredis';
import { CaiError, DataError, UnavailableError } from '../../../errors.js';
import { FmiDeadlineError } from '../../errors.js';
import type { Absence, Channel, ChannelConfig } from '../../channel.js';
import { PresenceQuestion } from '../presence-question.js';
import { BlockingReceiver } from './blocking-receiver.js';
import { checkChannelConfig, checkPeer } from '../namespace.js';
import { ReplayWindow } from './replay-window.js';
import { FrameSealer } from '../sealed-frame.js';

export interface RedisChannelOptions {
  /** redis://[[user]:password@]host:port[/db]. */
  url: string;
  /** AUTH password (overrides one in the URL). */
  password?: string;
  /** AUTH user name for Redis ACLs (overrides one in the URL). */
  username?: string;
  /** Lifetime of every message list, so a crashed run does not leave keys behind. Default 10 minutes. */
  keyTtlMs?: number;
  /** Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * A connection for non-blocking commands shared by several endpoints of one process (fewer sockets
   * when many ranks share a process). close() calls `releaseCommandConnection` instead of closing it. The
   * blocking connection is never shared.
   */
  commandConnection?: Redis;
  releaseCommandConnection?: () => void;
}

export const DEFAULT_KEY_TTL_MS = 10 * 60 * 1000;
/** Sends of frames above this size wait for Redis to take them. */
const LARGE_FRAME_BYTES = 1 << 20;

/** Key prefix of everything one run of one communicator stores. */
export function redisRunPrefix(communicator: string, runId: string): string {
  return `fmi:${communicator}:${runId}:`;
}

/** The list holding frames from `source` to `dest` with `tag`. */
export function redisMessageKey(communicator: string, runId: string, source: number, dest: number, tag: number): string {
  return `${redisRunPrefix(communicator, runId)}${source}>${dest}:${tag}`;
}

/** The hash of the run's presence tokens, field = rank. */
export function redisPresenceKey(communicator: string, runId: string): string {
  return `${redisRunPrefix(communicator, runId)}presence`;
}

/** The pub/sub channel a live endpoint of `rank` stays subscribed to. */
export function redisAliveChannel(communicator: string, runId: string, rank: number): string {
  return `${redisRunPrefix(communicator, runId)}alive:${rank}`;
}

/** Host and port for messages; never the password. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `redis ${u.hostname}:${u.port || 6379}`;
  } catch {
    return 'redis (unparsable URL)';
  }
}

/** Open a connection and wait until it is ready; failures become UnavailableError naming host and port. */
export async function connectRedis(options: Pick<RedisChannelOptions, 'url' | 'password' | 'username' | 'connectTimeoutMs'>, name: string): Promise<Redis> {
  const where = describeRedisUrl(options.url);
  const conn = new Redis(options.url, {
    lazyConnect: true,
    connectionName: name,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    // A few quick retries ride out a restart; after that, pending commands fail instead of hanging.
    retryStrategy: (times) => (times <= 3 ? 100 * times : null),
    maxRetriesPerRequest: 3,
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.username !== undefined ? { username: options.username } : {}),
  });
  let lastError: Error | undefined;
  const onError = (err: Error) => (lastError = err);
  conn.on('error', onError);
  try {
    await conn.connect();
    await conn.ping();
  } catch (err) {
    conn.disconnect();
    // "Connection is closed" hides the cause (a refused AUTH, say); the error event carries it.
    const cause = lastError ?? err;
    throw new UnavailableError(`${where}: cannot connect: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  conn.off('error', onError);
  // Errors surface through the commands that hit them; an unhandled 'error' event would crash the process.
  conn.on('error', () => undefined);
  return conn;
}

export class RedisChannel implements Channel {
  readonly kind = 'redis' as const;
  readonly rank: number;
  readonly worldSize: number;
  private readonly prefix: string;
  private readonly sealer: FrameSealer;
  /**
   * Sequence numbers count frames per destination (not per tag: collectives use a fresh tag for nearly
   * every message, and per-tag counters would grow without bound). The receiver refuses a number it has
   * seen before; frames of different tags may be consumed in any order.
   */
  private readonly sendSeq: number[];
  private readonly replay: ReplayWindow[];
  private readonly receiver: BlockingReceiver;
  private readonly ttl: number;
  private readonly where: string;
  private readonly presenceKey: string;
  /** Keeps the presence hash from expiring while this endpoint is open, however quiet the run. */
  private presenceRefresh: NodeJS.Timeout | undefined;
  private closing?: Promise<void>;
  private readonly presence = new PresenceQuestion((deadline) => this.askPresence(deadline));
  /** Settles after the latest push was answered. */
  private lastPush: Promise<void> = Promise.resolve();
  /** The first failed push; every later operation reports it. */
  private failure: CaiError | undefined;

  private constructor(
    private readonly config: ChannelConfig,
    private readonly commands: Redis,
    blocking: Redis,
    /** Subscribed to this rank's alive channel while the endpoint lives; nothing else. */
    private readonly alive: Redis,
    private readonly options: RedisChannelOptions,
  ) {
    this.rank = config.rank;
    this.worldSize = config.worldSize;
    this.prefix = redisRunPrefix(config.communicator, config.runId);
    this.sendSeq = new Array<number>(config.worldSize).fill(0);
    this.replay = Array.from({ length: config.worldSize }, () => new ReplayWindow());
    this.sealer = new FrameSealer(config.secret, 'redis', config.communicator, config.runId);
    this.ttl = options.keyTtlMs ?? DEFAULT_KEY_TTL_MS;
    this.where = describeRedisUrl(options.url);
    this.receiver = new BlockingReceiver(blocking, commands, `${this.prefix}wake:${config.rank}`, this.ttl, this.where);
    this.presenceKey = redisPresenceKey(config.communicator, config.runId);
  }

  /**
   * Subscribe to this rank's alive channel, then write its presence token (two round trips, once): from
   * now on the others can see it has joined, and that it lives.
   */
  private async join(deadline: number): Promise<void> {
    const joined = (async () => {
      await this.alive.subscribe(redisAliveChannel(this.config.communicator, this.config.runId, this.rank));
      await this.commands.multi().hset(this.presenceKey, String(this.rank), this.sealer.presenceToken(this.rank)).pexpire(this.presenceKey, this.ttl).exec();
    })();
    try {
      await withDeadline(joined, deadline, () => new FmiDeadlineError(`redis join of rank ${this.rank}`, [], [this.where]));
    } catch (err) {
      if (err instanceof CaiError) throw err;
      throw new UnavailableError(`${this.where}: rank ${this.rank} could not join: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.presenceRefresh = setInterval(() => void this.commands.pexpire(this.presenceKey, this.ttl).catch(() => undefined), Math.max(1000, this.ttl / 3));
    this.presenceRefresh.unref();
  }

  static async open(config: ChannelConfig, options: RedisChannelOptions): Promise<RedisChannel> {
    checkChannelConfig('redis', config);
    const name = `fmi-${config.communicator}-${config.rank}`;
    const [commands, blocking, alive] = await Promise.allSettled([
      options.commandConnection ? Promise.resolve(options.commandConnection) : connectRedis(options, name),
      connectRedis(options, `${name}-blocking`),
      connectRedis(options, `${name}-alive`),
    ]);
    if (commands.status === 'rejected' || blocking.status === 'rejected' || alive.status === 'rejected') {
      for (const [c, own] of [[commands, !options.commandConnection], [blocking, true], [alive, true]] as const) if (own && c.status === 'fulfilled') c.value.disconnect();
      throw ([commands, blocking, alive].find((c) => c.status === 'rejected') as PromiseRejectedResult).reason;
    }
    const channel = new RedisChannel(config, commands.value, blocking.value, alive.value, options);
    try {
      await channel.join(Date.now() + (options.connectTimeoutMs ?? 5000));
    } catch (err) {
      await channel.close();
      throw err;
    }
    return channel;
  }

  async send(dest: number, tag: number, payload: Uint8Array, deadline: number): Promise<void> {
    this.checkOpen();
    checkPeer('redis', this.worldSize, dest, tag);
    if (Date.now() >= deadline) throw new FmiDeadlineError(`redis send from rank ${this.rank} to rank ${dest} tag ${tag}`, [dest], [this.where]);
    const key = `${this.prefix}${this.rank}>${dest}:${tag}`;
    const seq = this.sendSeq[dest]!++;
    const frame = this.sealer.seal(this.rank, dest, tag, seq, payload);
    // Like a socket write, a send completes once the frame is handed to the connection; a push that
    // fails later fails this endpoint's next operation. Ordering holds because one connection carries
    // all of this endpoint's pushes, and close() waits for the last one.
    const stream = this.commands.status === 'ready' ? this.commands.stream : undefined;
    // One write for both commands; the TTL is refreshed by every push, so a live list never expires.
    stream?.cork();
    const pushed = this.commands.rpush(key, frame);
    this.commands.pexpire(key, this.ttl).catch(() => undefined);
    stream?.uncork();
    this.lastPush = pushed.then(
      () => undefined,
      (err: unknown) => {
        this.failure ??= new UnavailableError(`${this.where}: send from rank ${this.rank} to rank ${dest} tag ${tag} failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    // Backpressure: with a large frame still queued, wait for it (bounded by the deadline) instead of piling up memory.
    if (frame.length > LARGE_FRAME_BYTES || (stream?.writableLength ?? 0) > LARGE_FRAME_BYTES) {
      await withDeadline(this.lastPush, deadline, () => new FmiDeadlineError(`redis send from rank ${this.rank} to rank ${dest} tag ${tag}`, [dest], [this.where]));
      this.checkOpen();
    }
  }

  async recv(source: number, tag: number, deadline: number): Promise<Uint8Array> {
    this.checkOpen();
    checkPeer('redis', this.worldSize, source, tag);
    const key = `${this.prefix}${source}>${this.rank}:${tag}`;
    const frame = await this.receiver.pop(key, deadline, () => new FmiDeadlineError(`redis recv on rank ${this.rank} from rank ${source} tag ${tag}`, [source]));
    const refuse = (problem: string) => new DataError(`${this.where} key ${key}`, `refused a frame from rank ${source}: ${problem}`);
    const opened = this.sealer.openOr(source, this.rank, tag, frame, this.config.maxFrameBytes, refuse);
    // Checked after the MAC, so only genuine frames move the replay window.
    if (!this.replay[source]!.accept(opened.seq)) throw refuse(`sequence number ${opened.seq} was already received (replayed frame)`);
    return opened.payload;
  }

  /**
   * Ranks without a valid presence token in the run's hash (they never joined, or closed: the two look
   * alike), and ranks with one but no live subscription (their process is gone). One round trip.
   * Undefined when this rank's own token is gone too (the hash expired): nothing can be told then.
   */
  absentRanks(deadline: number): Promise<ReadonlyMap<number, Absence> | undefined> {
    return this.presence.absent(deadline);
  }

  private async askPresence(deadline: number): Promise<ReadonlyMap<number, Absence> | undefined> {
    if (this.closing) return undefined;
    const channels = Array.from({ length: this.worldSize }, (_, r) => redisAliveChannel(this.config.communicator, this.config.runId, r));
    let tokens: Record<string, string>;
    let subscribers: Map<string, number>;
    try {
      const replies = await withDeadline(this.commands.pipeline().hgetall(this.presenceKey).call('PUBSUB', 'NUMSUB', ...channels).exec(), deadline, () => new Error('late'));
      const [[tokenErr, tokenReply], [subErr, subReply]] = replies as [[Error | null, unknown], [Error | null, unknown]];
      if (tokenErr || subErr || !Array.isArray(subReply)) return undefined;
      tokens = tokenReply as Record<string, string>;
      subscribers = new Map();
      for (let i = 0; i + 1 < subReply.length; i += 2) subscribers.set(String(subReply[i]), Number(subReply[i + 1]));
    } catch {
      return undefined;
    }
    if (!this.sealer.isPresenceToken(this.rank, tokens[String(this.rank)] ?? '')) return undefined;
    const absent = new Map<number, Absence>();
    for (let r = 0; r < this.worldSize; r++) {
      if (r === this.rank) continue;
      if (!this.sealer.isPresenceToken(r, tokens[String(r)] ?? '')) absent.set(r, 'never joined or left');
      else if (!(subscribers.get(channels[r]!)! > 0)) absent.set(r, 'left');
    }
    return absent;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.receiver.stop(`redis channel of rank ${this.rank} closed`);
    clearInterval(this.presenceRefresh);
    try {
      await this.lastPush;
      // Leave first: a rank waiting on this one can tell from now on that it is gone.
      await this.commands.hdel(this.presenceKey, String(this.rank));
      // Frames sent to this endpoint that it never received: its inbound lists and its wake list.
      const inbound = await scanKeys(this.commands, `${this.prefix}*>${this.rank}:*`);
      inbound.push(this.receiver.wakeKey);
      for (let i = 0; i < inbound.length; i += 500) await this.commands.unlink(...inbound.slice(i, i + 500));
    } catch {
      // The store is gone or unreachable; the TTL removes what is left.
    } finally {
      this.alive.disconnect();
      this.receiver.disconnect();
      if (this.options.commandConnection) this.options.releaseCommandConnection?.();
      else this.commands.disconnect();
    }
  }

  private checkOpen(): void {
    if (this.closing) throw new CaiError(`redis channel of rank ${this.rank} is closed`);
    if (this.failure) throw this.failure;
  }
}

/** Open one endpoint of a Redis channel. */
export function openRedisChannel(config: ChannelConfig, options: RedisChannelOptions): Promise<RedisChannel> {
  return RedisChannel.open(config, options);
}

/** Every key matching a glob pattern (SCAN, so the server is never blocked by KEYS). */
export async function scanKeys(conn: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await conn.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** Delete everything a run of a communicator left in Redis (after a crash, or at the end of a run). */
export async function deleteRedisRun(conn: Redis, communicator: string, runId: string): Promise<number> {
  const keys = await scanKeys(conn, `${redisRunPrefix(communicator, runId)}*`);
  let deleted = 0;
  for (let i = 0; i < keys.length; i += 500) deleted += await conn.unlink(...keys.slice(i, i + 500));
  return deleted;
}

function withDeadline<T>(work: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) {
    work.catch(() => undefined);
    return Promise.reject(onTimeout());
  }
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), remaining);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
