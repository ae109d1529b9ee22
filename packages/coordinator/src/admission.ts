// Who may hold a connection. Connections that have not proved themselves (no valid hello yet) are
// "pending": they have their own small cap, at most a few per remote address, and a short deadline
// (server.ts). A new connection is never refused for want of pending room: when its address already
// holds its share, that address's oldest pending connection is closed to make room, and when the whole
// pending cap is full, the oldest of the busiest address is. A flood therefore ages out instead of
// holding the door, even from a real worker's own address (a co-tenant): the worker's connection proves
// itself within one round trip, long before the flood's newer connections push it out. Proved
// connections count against MAX_WORKERS, the only refusal.

import { MAX_PENDING_CONNECTIONS, MAX_PENDING_PER_ADDRESS, MAX_WORKERS } from '@dtrain/common';

export interface AdmissionLimits {
  maxPending: number;
  maxPendingPerAddress: number;
  maxWorkers: number;
}

export const DEFAULT_ADMISSION: AdmissionLimits = {
  maxPending: MAX_PENDING_CONNECTIONS,
  maxPendingPerAddress: MAX_PENDING_PER_ADDRESS,
  maxWorkers: MAX_WORKERS,
};

export type Arrival<C> = { admit: true; evict: C | null } | { admit: false; code: 'ERR_TOO_MANY_WORKERS'; why: string };

export class Admission<C> {
  /** Pending connections by address, oldest first. */
  private readonly pending = new Map<string, C[]>();
  private pendingCount = 0;
  private readonly proved = new Set<C>();
  private readonly addressOf = new Map<C, string>();

  constructor(private readonly limits: AdmissionLimits = DEFAULT_ADMISSION) {}

  /** A new connection from `address`: admit it (possibly closing an older pending one), or refuse it (no worker room). */
  arrive(conn: C, address: string): Arrival<C> {
    if (this.proved.size >= this.limits.maxWorkers) {
      return {
        admit: false,
        code: 'ERR_TOO_MANY_WORKERS',
        why: `the coordinator already serves ${this.proved.size} workers`,
      };
    }
    const full = (this.pending.get(address)?.length ?? 0) >= this.limits.maxPendingPerAddress;
    const evict = full
      ? this.pending.get(address)![0]!
      : this.pendingCount >= this.limits.maxPending
        ? this.oldestOfBusiest()
        : null;
    if (evict !== null) this.left(evict);
    const mine = this.pending.get(address) ?? [];
    mine.push(conn);
    this.pending.set(address, mine);
    this.addressOf.set(conn, address);
    this.pendingCount++;
    return { admit: true, evict };
  }

  /** The connection proved itself (valid hello): it no longer counts as pending. */
  proven(conn: C): void {
    if (this.removePending(conn)) this.proved.add(conn);
  }

  /** The connection closed (or was evicted). */
  left(conn: C): void {
    this.removePending(conn);
    this.proved.delete(conn);
    this.addressOf.delete(conn);
  }

  get counts(): { pending: number; proved: number } {
    return { pending: this.pendingCount, proved: this.proved.size };
  }

  private removePending(conn: C): boolean {
    const address = this.addressOf.get(conn);
    const list = address === undefined ? undefined : this.pending.get(address);
    const i = list?.indexOf(conn) ?? -1;
    if (!list || i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) this.pending.delete(address!);
    this.pendingCount--;
    return true;
  }

  private oldestOfBusiest(): C | null {
    let busiest: C[] | null = null;
    for (const list of this.pending.values()) if (!busiest || list.length > busiest.length) busiest = list;
    return busiest?.[0] ?? null;
  }
}
