/**
 * The one way notify talks to the outside: a POST with a time limit, combined
 * with the effect attempt's own signal. Failures to reach the other side
 * (timeouts, refused connections, resets) are plain, retryable errors that name
 * the host only: webhook URLs carry their secret in the path.
 */

/** What came back. */
export interface HttpAnswer {
  status: number;
  /** The body as text, at most 2000 characters (for error messages). */
  text: string;
}

/** The host (and port) of a URL, never its path or query; `(invalid URL)` if it is not one. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * POSTs `body` as JSON. Resolves with any HTTP answer; rejects, retryably, when no
 * answer came within `timeoutMs` or the host could not be reached, and with the
 * signal's reason when `signal` aborted (the runtime stopping, the attempt's limit).
 * @example const a = await postJson(url, { text: 'hi' }, { timeoutMs: 10_000, signal, what: 'the webhook' });
 */
export async function postJson(
  url: string,
  body: unknown,
  opts: { timeoutMs: number; signal?: AbortSignal; headers?: Record<string, string>; what: string },
): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const where = `${opts.what} (${hostOf(url)})`;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...opts.headers },
      body: JSON.stringify(body),
      signal,
      redirect: 'manual',
    });
    const text = await res.text();
    return { status: res.status, text: text.length > 2000 ? `${text.slice(0, 2000)}…` : text };
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    if (timeout.aborted) throw new Error(`${where} did not answer within ${opts.timeoutMs} ms`, { cause: err });
    throw new Error(`could not reach ${where}: ${causeOf(err)}`, { cause: err });
  }
}

/** The innermost reason of a fetch failure: `ECONNREFUSED`, `ECONNRESET`, … */
function causeOf(err: unknown): string {
  let e = err as { cause?: unknown; code?: unknown; message?: unknown } | undefined;
  for (let i = 0; i < 5 && e?.cause; i++) e = e.cause as typeof e;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.message === 'string' ? e.message : String(err);
}
