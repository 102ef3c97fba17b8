/**
 * Deadlines: a queue of streams ordered by one deadline field (open and
 * close deadlines use the same type), and the timer table that keeps the
 * session's single timer armed at the earliest entry.
 */
import type { SessionEnvironment } from './session-types.ts'
import type { StreamRecord } from './stream-record.ts'

/**
 * Streams waiting for a deadline, earliest first. Entries are dropped
 * lazily (when the timer reaches them, or skipped if no longer waiting), so
 * under heavy churn the queue would hold every stream of the last timeout
 * period: past twice the live streams it is compacted to the entries still
 * waiting, which keeps it O(live streams), amortised O(1) per push.
 */
export class DeadlineQueue {
  private items: StreamRecord[] = []
  private readonly deadlineOf: (stream: StreamRecord) => number
  private readonly waiting: (stream: StreamRecord) => boolean

  constructor (deadlineOf: (stream: StreamRecord) => number, waiting: (stream: StreamRecord) => boolean) {
    this.deadlineOf = deadlineOf
    this.waiting = waiting
  }

  /** Entries held, stale ones included. */
  get length (): number {
    return this.items.length
  }

  /** Queues `stream`, whose deadline is no earlier than any queued one. */
  push (stream: StreamRecord, liveStreams: number): void {
    this.items.push(stream)
    if (this.items.length > 2 * liveStreams + 64) { this.items = this.items.filter(this.waiting) }
  }

  /**
   * Hands each waiting stream whose deadline is past to `due`, earliest
   * first. `due` returns true if it moved the stream's deadline later (it is
   * queued again, in order). Stops at once when `stopped()` turns true (the
   * session ended). Returns the earliest deadline still queued, or Infinity.
   */
  expire (now: number, due: (stream: StreamRecord) => boolean, stopped: () => boolean): number {
    const items = this.items
    let i = 0
    let later: StreamRecord[] | undefined
    for (; i < items.length; i++) {
      const stream = items[i]
      if (!this.waiting(stream)) { continue }
      if (this.deadlineOf(stream) > now) { break }
      const moved = due(stream)
      if (stopped()) { return Infinity }
      if (moved) { (later ??= []).push(stream) }
    }
    items.splice(0, i)
    if (later !== undefined) {
      for (const stream of later) { items.push(stream) }
      items.sort((a, b) => this.deadlineOf(a) - this.deadlineOf(b))
    }
    return items.length > 0 ? this.deadlineOf(items[0]) : Infinity
  }

  clear (): void {
    this.items.length = 0
  }
}

/** What the session's single timer may be waiting for. */
export enum TimerSlot {
  KeepAlive = 0,
  Ping = 1,
  WriteStall = 2,
  StreamOpen = 3,
  StreamClose = 4
}

const SLOTS = 5

/**
 * One entry per TimerSlot; the environment's timer is armed at the earliest.
 * It is never cancelled for a later deadline: firing early is harmless, as
 * the owner's `onFire` re-checks every slot and sets each one anew.
 */
export class TimerTable {
  private readonly at: number[] = new Array<number>(SLOTS).fill(Infinity)
  private readonly env: SessionEnvironment
  private readonly onFire: (now: number) => void
  private handle: unknown = undefined
  private armedAt = Infinity
  private stopped = false
  private readonly fire = (): void => {
    this.handle = undefined
    this.armedAt = Infinity
    this.onFire(this.env.now())
    let next = Infinity
    for (let i = 0; i < SLOTS; i++) { if (this.at[i] < next) { next = this.at[i] } }
    this.arm(next)
  }

  constructor (env: SessionEnvironment, onFire: (now: number) => void) {
    this.env = env
    this.onFire = onFire
  }

  /** Sets `slot` to fire at `at` (Infinity: nothing to wait for). */
  set (slot: TimerSlot, at: number): void {
    this.at[slot] = at
    this.arm(at)
  }

  get (slot: TimerSlot): number {
    return this.at[slot]
  }

  /** Releases the timer for good. */
  stop (): void {
    this.stopped = true
    if (this.handle !== undefined) { this.env.clearTimer(this.handle) }
    this.handle = undefined
  }

  private arm (at: number): void {
    if (this.stopped || at >= this.armedAt) { return }
    if (this.handle !== undefined) { this.env.clearTimer(this.handle) }
    this.armedAt = at
    const delay = at - this.env.now()
    this.handle = this.env.setTimer(this.fire, delay > 0 ? delay : 0)
  }
}
