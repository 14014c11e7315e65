import type { PayloadCodec } from '../../adapters/node.js';

/** Keeps Maps and Sets (JSON alone turns them into {}), as docs/network.md's example codec. */
export const mapCodec: PayloadCodec = {
  encode: (value) =>
    new TextEncoder().encode(
      JSON.stringify(
        value instanceof Map
          ? { map: [...value] }
          : value instanceof Set
            ? { set: [...value] }
            : { json: value }
      )
    ),
  decode: (bytes) => {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as {
      map?: [unknown, unknown][];
      set?: unknown[];
      json?: unknown;
    };
    return v.map !== undefined ? new Map(v.map) : v.set !== undefined ? new Set(v.set) : v.json;
  }
};
