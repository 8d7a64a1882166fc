/** Polling helpers of the tests. */

/** Polls `check` every 200 ms until it returns a value (not undefined); errors count as "not yet". */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, detail?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}${detail ? `\n${detail()}` : ''}`);
    await sleep(200);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
