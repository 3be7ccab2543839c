// The platform registry: the planner asks it for models by name and never imports a platform itself.
import type { PlatformModel, PlatformName } from '../types.js';
import { ec2Platform } from './ec2.js';
import { gpuPlatform } from './gpu.js';
import { lambdaPlatform } from './lambda.js';
import { localPlatform } from './local.js';

export const PLATFORMS: Readonly<Record<PlatformName, PlatformModel>> = Object.freeze({
  local: localPlatform as unknown as PlatformModel,
  lambda: lambdaPlatform as unknown as PlatformModel,
  gpu: gpuPlatform as unknown as PlatformModel,
  ec2: ec2Platform as unknown as PlatformModel,
});

export const PLATFORM_NAMES = Object.keys(PLATFORMS) as PlatformName[];

export function platformOf(name: string): PlatformModel {
  if (!Object.hasOwn(PLATFORMS, name)) throw new Error(`unknown platform "${name}"`);
  return PLATFORMS[name as PlatformName];
}
