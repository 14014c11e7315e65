import type { DemoOptions } from '../../demo/hub/demo.js';

/** The demo on free loopback ports, reading its pages from the repository. */
export function demoOptions(extra: Partial<DemoOptions> = {}): DemoOptions {
  return {
    httpPort: 0,
    tcpPort: 0,
    entities: 20,
    assets: {
      pages: new URL('../../../demo/hub/pages/', import.meta.url),
      bundle: new URL('../../ringbus.browser.js', import.meta.url)
    },
    ...extra
  };
}
