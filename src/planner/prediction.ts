// The prediction a planned or estimated run records in its summary.json, beside what it measured:
// `prediction: { wall_s, cost_usd, platform, settings, basedOn: { profile, catalogDate, modelVersion } }`.
import { z } from 'zod';
import { profileRef } from './profile.js';
import type { Estimate, PlanEnv } from './types.js';

/** Bumped when the model's terms change, so that old predictions are read for what they were. */
export const MODEL_VERSION = 'cai-planner/1';

export const predictionSchema = z
  .object({
    wall_s: z.number().finite().nonnegative(),
    cost_usd: z.number().finite().nonnegative(),
    platform: z.enum(['local', 'lambda', 'gpu', 'ec2']),
    settings: z.record(z.union([z.number(), z.string()])),
    /** Wall time by part, seconds, as the model split it. */
    wallParts: z.record(z.number().finite()).optional(),
    basedOn: z
      .object({
        profile: z.object({ label: z.string(), measuredAt: z.string(), isDefault: z.boolean(), device: z.string(), machine: z.string() }).strict(),
        gpuProfile: z.object({ label: z.string(), measuredAt: z.string(), isDefault: z.boolean(), device: z.string(), machine: z.string() }).strict().optional(),
        catalogDate: z.string(),
        catalogFile: z.string().optional(),
        modelVersion: z.string(),
        /** The fitted orchestration terms of the serverless model. */
        timeParams: z.object({ orchestrationS: z.number(), resultReadS: z.number() }).strict().optional(),
      })
      .strict(),
  })
  .strict();

export type Prediction = z.infer<typeof predictionSchema>;

export function predictionOf(e: Estimate, env: PlanEnv): Prediction {
  return {
    wall_s: e.wall_s,
    cost_usd: e.cost_usd,
    platform: e.platform,
    settings: { ...e.settings },
    wallParts: { ...e.wallParts },
    basedOn: {
      profile: profileRef(env.cpuProfile),
      ...(env.gpuProfile && e.platform === 'gpu' ? { gpuProfile: profileRef(env.gpuProfile) } : {}),
      catalogDate: env.catalog.date,
      catalogFile: env.catalog.file,
      modelVersion: MODEL_VERSION,
      ...(e.platform === 'lambda' ? { timeParams: { ...env.timeParams } } : {}),
    },
  };
}
