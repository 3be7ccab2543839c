// Peak resident memory of this process: what a function instance reports as its memory use, the way Lambda
// reports "Max Memory Used". One helper for the worker processes, the Lambda instances and `cai infer`.

/** Peak resident set size of this process in bytes (Linux reports maxRSS in KiB). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
