// Order statistics for measurements (step times, benchmark rounds): nearest-rank, no interpolation.

/** The value at fraction p (0..1) of the sorted values (nearest rank, rounding down); 0 for none. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
}

/** percentile(xs, 0.5): the upper median for an even count. */
export function median(xs: readonly number[]): number {
  return percentile(xs, 0.5);
}
