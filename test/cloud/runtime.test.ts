// Runtime support: the Lambda image is built on a Node.js runtime Lambda supports, its default is stated
// once (the Dockerfile repeats it, checked here), and the sources use no API that Node.js 22 or 24 removed
// or warns about at runtime, so CI on one Node.js line says something about the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LAMBDA_NODE_IMAGE } from '../../src/compute/lambda/config.js';

const root = join(import.meta.dirname, '../..');

/** Lambda's Node.js runtimes still in standard support (docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html). */
const SUPPORTED_LAMBDA_NODE = [22, 24];

test('the Lambda image defaults to a supported Node.js runtime, the same in the Dockerfile and in code', () => {
  const m = /^public\.ecr\.aws\/lambda\/nodejs:(\d+)$/.exec(LAMBDA_NODE_IMAGE);
  assert.ok(m, LAMBDA_NODE_IMAGE);
  assert.ok(SUPPORTED_LAMBDA_NODE.includes(Number(m[1])), `nodejs:${m[1]} is not among ${SUPPORTED_LAMBDA_NODE.join(', ')}`);
  const dockerfile = readFileSync(join(root, 'deploy/aws/Dockerfile'), 'utf8');
  assert.equal(/^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1], LAMBDA_NODE_IMAGE);
});

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : /\.(ts|mjs)$/.test(name) ? [p] : [];
  });
}

/** What Node.js 22/24 removed, or deprecate at runtime with a warning, as it appears in code. */
const REMOVED_OR_WARNED: [RegExp, string][] = [
  [/\bimport\b[^;\n]*\bassert\s*\{\s*type\s*:/, 'import assertions (removed in Node.js 22; use `with { type: ... }`)'],
  [/\bfrom\s+['"](node:)?punycode['"]|require\(['"](node:)?punycode['"]\)/, 'the punycode module (runtime-deprecated since Node.js 21)'],
  [/\burl\.parse\(|\bparse\s+as\s+urlParse\b/, 'url.parse() (runtime-deprecated in Node.js 24)'],
  [/\bprocess\.binding\(/, 'process.binding() (deprecated)'],
  [/\bnew\s+Buffer\(/, 'new Buffer() (deprecated; Buffer.from / Buffer.alloc)'],
  [/\butil\.(isArray|isBoolean|isNull|isNumber|isString|isObject|isFunction|isError|isDate|isRegExp|isPrimitive|log|_extend)\b/, 'util.is*/util.log/util._extend (removed in Node.js 23)'],
  [/\bfs\.rmdir\([^)]*recursive/, 'fs.rmdir recursive (removed; fs.rm)'],
  [/\bdirent\.path\b/, 'Dirent.path (deprecated; parentPath)'],
];

test('no source uses an API that Node.js 22 or 24 removed or warns about', () => {
  const hits: string[] = [];
  for (const file of [...sources(join(root, 'src')), ...sources(join(root, 'scripts'))]) {
    const text = readFileSync(file, 'utf8');
    for (const [re, what] of REMOVED_OR_WARNED) if (re.test(text)) hits.push(`${relative(root, file)}: ${what}`);
  }
  assert.deepEqual(hits, []);
});
