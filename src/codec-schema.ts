import * as z from 'zod/mini';
import type { PayloadCodec } from './frames/envelope.js';

/** Validates a `codec` option (links, the store): an object with encode and decode functions. @internal */
export const codecSchema = z.custom<PayloadCodec>(
  (v: unknown) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as PayloadCodec).encode === 'function' &&
    typeof (v as PayloadCodec).decode === 'function',
  'must have encode(value) and decode(bytes) functions'
);
