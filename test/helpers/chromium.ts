import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium, which .ci/run installs. */
const CHROMIUM = '/usr/bin/chromium';

/**
 * Why a real-browser test file cannot run here (chromium missing), printed loudly, or false. Pass
 * it as the suite's `skip` option.
 */
export function chromiumMissing(file: string): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `SKIPPED LOUDLY: ${CHROMIUM} is not installed (apt-get install chromium); CI installs it`;
  console.warn(`\n*** ${file} ${reason} ***\n`);
  return reason;
}

/** Headless chromium with background networking and updates off. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run'
    ]
  });
}

/** Where tests save screenshots: build/artifacts/. */
export const ARTIFACTS = new URL('../../artifacts/', import.meta.url);
