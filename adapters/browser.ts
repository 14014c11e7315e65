/**
 * The browser entry of ringbus (the `browser` export condition): the core with no Node
 * built-ins and no dependency injection.
 *
 * @packageDocumentation
 */
export * from '../src/index.js';
