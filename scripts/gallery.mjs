#!/usr/bin/env node
// Screenshots of report pages for the README gallery, with the headless Chromium the tests use (fresh
// profile, no network): the top of each page at a reduced scale, so the committed PNGs stay small.
// Usage: node scripts/gallery.mjs PAGE.html OUT.png [--width 1180] [--height 1250] [--scale 0.6]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { width: { type: 'string', default: '1180' }, height: { type: 'string', default: '1250' }, scale: { type: 'string', default: '0.6' } } });
if (positionals.length !== 2) {
  process.stderr.write('usage: node scripts/gallery.mjs PAGE.html OUT.png [--width W] [--height H] [--scale S]\n');
  process.exit(2);
}
const [page, out] = positionals.map((p) => resolve(p));
const profile = mkdtempSync(join(tmpdir(), 'cai-gallery-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: Number(values.width), height: Number(values.height) },
  deviceScaleFactor: Number(values.scale),
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const tab = await ctx.newPage();
  await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' });
  await tab.screenshot({ path: out });
  process.stdout.write(`${out}: ${statSync(out).size} bytes\n`);
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
