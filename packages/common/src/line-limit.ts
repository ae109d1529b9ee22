// Lines that a peer can cause (refused connections, socket errors, reports) are rate-limited per kind:
// at most `burst` lines of one kind per window; the rest are counted and the next line that passes says
// how many were left out. Pure: the caller passes the time.

export interface LineLimits {
  windowMs: number;
  burst: number;
}

export const DEFAULT_LINE_LIMITS: LineLimits = { windowMs: 10_000, burst: 5 };

/** How many kinds are tracked at once: kinds are ours (never a peer's text), this is only a backstop. */
const MAX_KINDS = 256;

export class LineLimiter {
  private readonly kinds = new Map<string, { since: number; shown: number; dropped: number }>();

  constructor(private readonly limits: LineLimits = DEFAULT_LINE_LIMITS) {}

  /** The line to print now (with a count of lines left out before it), or null to leave it out. */
  pass(kind: string, line: string, now: number): string | null {
    let k = this.kinds.get(kind);
    if (!k || now - k.since >= this.limits.windowMs) {
      const dropped = k?.dropped ?? 0;
      if (!k && this.kinds.size >= MAX_KINDS) this.kinds.delete(this.kinds.keys().next().value!);
      k = { since: now, shown: 0, dropped: 0 };
      this.kinds.set(kind, k);
      if (dropped > 0) line = `${line} (${dropped} more like it left out)`;
    }
    if (k.shown >= this.limits.burst) {
      k.dropped++;
      return null;
    }
    k.shown++;
    return line;
  }
}

/** Whether a listen address reaches only this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

/** A peer's text made safe to print on one line: control characters (ESC, CR, LF, ...) escaped, at most `max` characters. */
export function printable(text: string, max = 300): string {
  const escape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  // eslint-disable-next-line no-control-regex
  const safe = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, escape);
  return safe.length > max ? `${safe.slice(0, max)}...` : safe;
}
