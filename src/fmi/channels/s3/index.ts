export { openS3Channel, S3Channel, deleteS3Prefix, deleteS3Run, s3MessageKey, s3RunPrefix, S3_POLL_DEFAULTS } from './s3-channel.js';
export type { S3ChannelOptions } from './s3-channel.js';
