/** When the process's performance clock started, in Unix milliseconds (read once: the getter is not free). */
const origin = performance.timeOrigin;

/** Now as Unix seconds with sub-millisecond digits, as mitmproxy's `time.time()` timestamps. */
export function unixNow(): number {
  return (origin + performance.now()) / 1000;
}
