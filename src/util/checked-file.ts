// Reading a small file that a user names (a model, weights, a price catalog, a profile, a manifest): the
// checks every such read makes before it allocates, in one place, so that each refusal reads the same.
// A FIFO or a device in place of the file would block the read (or never end), so only regular files pass.
import { stat } from 'node:fs/promises';
import type { ZodType, ZodTypeDef } from 'zod';
import { DataError } from '../errors.js';

/**
 * The size of the regular file at `path`, or the error `fail` makes of one line naming what is wrong:
 * "<what> not found", "<what> is not a regular file", "cannot read <what> (<code>)".
 */
export async function regularFileSize(path: string, what: string, fail: (why: string) => Error): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw fail(e.code === 'ENOENT' ? `${what} not found` : `cannot read ${what} (${e.code ?? e.message})`);
  }
  if (!info.isFile()) throw fail(`${what} is not a regular file`);
  return info.size;
}

/**
 * JSON text checked against a zod schema; any problem is one DataError naming `file` and the first
 * offending field: "not valid JSON (...)" or "invalid <what> at <field path>: <message>".
 */
export function parseJsonAs<T>(schema: ZodType<T, ZodTypeDef, unknown>, text: string, file: string, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DataError(file, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DataError(file, `invalid ${what} at ${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  }
  return parsed.data;
}
