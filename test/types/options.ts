// The hand-written option interfaces (which carry the docs) and the zod schemas must not drift.
import type * as z from 'zod';
import type { BusOptions, SubscribeOptions } from '../../src/index.js';
import type { busOptionsSchema, subscribeOptionsSchema } from '../../src/options.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const busOptionsMatch: Same<z.input<typeof busOptionsSchema>, BusOptions> = true;
const subscribeOptionsMatch: Same<z.input<typeof subscribeOptionsSchema>, SubscribeOptions> = true;
void busOptionsMatch;
void subscribeOptionsMatch;
