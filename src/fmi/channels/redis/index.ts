export { openRedisChannel, RedisChannel, deleteRedisRun, redisMessageKey, redisRunPrefix, connectRedis, describeRedisUrl, scanKeys, DEFAULT_KEY_TTL_MS } from './redis-channel.js';
export type { RedisChannelOptions } from './redis-channel.js';
export { FrameSealer, FrameRejected, FRAME_HEADER_BYTES } from './sealed-frame.js';
