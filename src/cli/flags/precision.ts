// The --precision flag of the commands that build or measure a model: fp32, or the int8 quantized model.
import { InvalidArgumentError } from 'commander';

export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

export function parsePrecision(v: string): Precision {
  if (!(PRECISIONS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--precision must be ${PRECISIONS.join(' or ')}, got "${v}"`);
  return v as Precision;
}
