/**
 * SQL fragments shared by the runtime's queries. Lists travel as one jsonb
 * parameter, which both drivers (postgres.js and PGlite) pass the same way.
 */

/** `partition = ANY(...)` for a jsonb array of partition numbers passed as `$n`. */
export function inPartitions(param: string): string {
  return `partition = ANY (SELECT (jsonb_array_elements_text(${param}::jsonb))::int)`;
}
