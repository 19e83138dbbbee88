import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureChromium } from '../../scripts/browser/ensure-chromium';

/**
 * Headless Debian Chromium driven by playwright-core (Playwright's own browser download cannot work here).
 * Installs the `chromium` package if it is missing and the process may; otherwise fails with the reason,
 * so a test that needs a browser fails instead of being skipped.
 */
export async function launchBrowser(): Promise<Browser> {
  let executablePath: string;
  try {
    executablePath = ensureChromium({ log: (line) => console.log(line) });
  } catch (error) {
    throw new Error(
      `Chromium is required for the Web UI tests and is not available: ${
        error instanceof Error ? error.message : String(error)
      } (install it with: npx tsx scripts/browser/ensure-chromium.ts)`,
    );
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
}

/** A page with a desktop-sized viewport, so screenshots show the Web UI as people see it. */
export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  return context.newPage();
}
