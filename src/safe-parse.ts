import type * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/*
 * The core validates with zod/mini (a fraction of classic zod's size in the browser build), which
 * ships no messages of its own: without a locale every issue would read "Invalid input". The
 * English one is passed per call rather than through z.config(), so an application's own zod
 * setup is left as it is.
 */
const english = en().localeError;

/** `schema.safeParse(input)` with English messages and the input recorded on each issue. */
export function safeParse<S extends z.ZodMiniType>(
  schema: S,
  input: unknown
): z.core.util.SafeParseResult<z.output<S>> {
  return schema.safeParse(input, { error: english, reportInput: true });
}
