// Keys and manifest paths come from untrusted files: they must be relative and unable to climb out of
// the root they are resolved against.

/** True for a '/'-separated relative path with no empty, '.', or '..' segment, no backslash, NUL or drive. */
export function isSafeRelativePath(p: string): boolean {
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0') || /^[a-zA-Z]:/.test(p)) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
