// Who may hold a connection. Connections that have not proved themselves (no valid hello yet) are
// "pending": they have their own small cap, at most a few per remote address, and a short deadline
// (server.ts), so idle or slow sockets from one place cannot keep a real worker out. When the pending
// cap is full, the oldest pending connection of the address holding the most is closed to make room:
// a flood ages out instead of locking the door. Proved connections count against MAX_WORKERS.

import { MAX_PENDING_CONNECTIONS, MAX_PENDING_PER_ADDRESS, MAX_WORKERS } from '@dtrain/common';

export interface AdmissionLimits {
  maxPending: number;
  maxPendingPerAddress: number;
  maxWorkers: number;
}

export const DEFAULT_ADMISSION: AdmissionLimits = {
  maxPending: MAX_PENDING_CONNECTIONS, maxPendingPerAddress: MAX_PENDING_PER_ADDRESS, maxWorkers: MAX_WORKERS,
};

export type Arrival<C> =
  | { admit: true; evict: C | null }
  | { admit: false; code: 'ERR_TOO_MANY_CONNECTIONS' | 'ERR_TOO_MANY_WORKERS'; why: string };

export class Admission<C> {
  /** Pending connections by address, oldest first. */
  private readonly pending = new Map<string, C[]>();
  private pendingCount = 0;
  private readonly proved = new Set<C>();
  private readonly addressOf = new Map<C, string>();

  constructor(private readonly limits: AdmissionLimits = DEFAULT_ADMISSION) {}

  /** A new connection from `address`: admit it (possibly closing an older pending one), or refuse it. */
  arrive(conn: C, address: string): Arrival<C> {
    if (this.proved.size >= this.limits.maxWorkers) {
      return { admit: false, code: 'ERR_TOO_MANY_WORKERS', why: `the coordinator already serves ${this.proved.size} workers` };
    }
    const mine = this.pending.get(address) ?? [];
    if (mine.length >= this.limits.maxPendingPerAddress) {
      return { admit: false, code: 'ERR_TOO_MANY_CONNECTIONS', why: `${mine.length} connections from ${address} have not finished their handshake` };
    }
    const evict = this.pendingCount >= this.limits.maxPending ? this.oldestOfBusiest() : null;
    if (evict !== null) this.left(evict);
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
