// Headless Chromium for the page tests: a fresh profile per launch, the flags that keep it off the
// network, and one call that opens a page from disk and reports what a person would notice: requests it
// made, console errors, plots that did not render, images that did not load.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  open(file: string): Promise<Opened>;
  /** A full-page screenshot kept after the test (its path is printed). */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export interface Opened {
  page: Page;
  url: string;
  requests: string[];
  errors: string[];
}

export interface PlotCheck {
  id: string;
  width: number;
  height: number;
  /** Drawn marks (paths, texts) inside the plot's SVG. */
  marks: number;
}

/** Launch Chromium with a fresh --user-data-dir; screenshots go to a folder that outlives the test. */
export async function launch(label: string): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/provision.mjs`);
  const profile = mkdtempSync(join(tmpdir(), 'cai-chromium-'));
  const shots = join(tmpdir(), 'cai-page-screenshots', label);
  mkdirSync(shots, { recursive: true });
  const ctx: BrowserContext = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
  return {
    async open(file) {
      const page = await ctx.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      const url = pathToFileURL(file).href;
      await page.goto(url, { waitUntil: 'load' });
      return { page, url, requests, errors };
    },
    async screenshot(page, name) {
      const path = join(shots, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      process.stdout.write(`# screenshot: ${path}\n`);
      return path;
    },
    async close() {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Every figure's SVG as laid out on the page: its size and its drawn marks; and every image, loaded. */
export async function renderedPlots(page: Page): Promise<PlotCheck[]> {
  const images = await page.locator('img').evaluateAll((els) => els.map((e) => ({ src: (e as HTMLImageElement).src, ok: (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0 })));
  for (const i of images) assert.ok(i.ok, `image ${i.src} did not load`);
  return page.locator('figure').evaluateAll((figs) =>
    figs.map((f) => {
      const svg = f.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      return { id: f.id, width: box?.width ?? 0, height: box?.height ?? 0, marks: svg ? svg.querySelectorAll('path, text').length : 0 };
    }),
  );
}

/** Open a page and check what every page must be: it loads nothing else, logs no error, draws every plot. */
export async function openChecked(b: Browser, file: string): Promise<Opened & { plots: PlotCheck[] }> {
  const o = await b.open(file);
  assert.deepEqual(o.requests, [o.url], 'the page loads nothing but itself');
  assert.equal(await o.page.evaluate(() => document.scripts.length), 0, 'no scripts');
  const plots = await renderedPlots(o.page);
  assert.ok(plots.length > 0, 'the page has plots');
  for (const p of plots) assert.ok(p.width > 100 && p.height > 50 && p.marks > 5, `plot ${p.id} rendered: ${JSON.stringify(p)}`);
  assert.deepEqual(o.errors, [], 'no console errors');
  return { ...o, plots };
}
