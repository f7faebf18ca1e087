// Shared set-up for the browser tests: the static server and headless Debian Chromium.

import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];

export const MODEL_PATH = '/models/all-MiniLM-L6-v2/';

/**
 * Starts the server and a browser; returns { url, browser, page, errors, close }. With
 * `crossOriginIsolated`, every answer carries COOP/COEP, so the page is cross-origin isolated.
 */
export async function openBrowser({ args = CHROMIUM_ARGS, crossOriginIsolated = false } = {}) {
  const { server, url } = await startServer({ crossOriginIsolated });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args });
  const context = await browser.newContext();
  const page = await context.newPage();
  // Uncaught errors and crashes are collected so tests can assert none reached the page.
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('crash', () => errors.push('page crashed'));
  await page.goto(`${url}/tests/e2e/blank.html`);
  return {
    url,
    browser,
    page,
    errors,
    async close() {
      await browser.close();
      await new Promise((done) => server.close(done));
    },
  };
}

export function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.max(Math.sqrt(na * nb), 1e-30);
}
