/**
 * Type-level topics: `new Bus<{ 'player.move': { x: number; y: number } }>()` types the payloads of
 * `publish`, `topic()`, `request` and `subscribe`, and a wildcard subscription receives the union
 * of the payloads of the topics its pattern matches.
 */

/**
 * A map of topic → payload type, declared as an interface or type literal. The default,
 * `Record<string, unknown>`, is an untyped bus.
 */
export type TopicMap = object;

/** The topic names of a map. */
export type TopicName<T extends TopicMap> = keyof T & string;

type Tokens<S extends string> = S extends `${infer Head}.${infer Rest}`
  ? [Head, ...Tokens<Rest>]
  : [S];

type MatchTokens<P extends string[], S extends string[]> = P extends [
  infer PH extends string,
  ...infer PR extends string[]
]
  ? PH extends '>'
    ? S extends [string, ...string[]]
      ? true
      : false
    : S extends [infer SH extends string, ...infer SR extends string[]]
      ? PH extends '*'
        ? MatchTokens<PR, SR>
        : PH extends SH
          ? MatchTokens<PR, SR>
          : false
      : false
  : S extends []
    ? true
    : false;

/** `true` when pattern `P` matches topic `S` (`*` one token, `>` one or more). */
export type PatternMatches<P extends string, S extends string> = MatchTokens<Tokens<P>, Tokens<S>>;

type Matching<T extends TopicMap, P extends string> = {
  [K in TopicName<T>]: PatternMatches<P, K> extends true ? K : never;
}[TopicName<T>];

type OrUnknown<X> = [X] extends [never] ? unknown : X;

/** The payload a subscription on `P` receives: the union over the topics it matches. */
export type PayloadOf<T extends TopicMap, P extends string> = string extends keyof T
  ? T[keyof T]
  : OrUnknown<T[Matching<T, P>]>;

/**
 * `P` itself when it is a usable pattern for the map: on a typed bus it must match at least one
 * declared topic, or be a system pattern (`$…`); otherwise `never`, so a typo fails to compile.
 */
export type PatternFor<T extends TopicMap, P extends string> = string extends keyof T
  ? P
  : [Matching<T, P>] extends [never]
    ? P extends `$${string}`
      ? P
      : never
    : P;
