/** Now as Unix seconds with sub-millisecond digits, as mitmproxy's `time.time()` timestamps. */
export function unixNow(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}
