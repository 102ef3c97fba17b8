/**
 * Transport back-pressure: whether the transport has asked us to wait, and
 * whether it still takes our bytes (connectionWriteTimeout counts time
 * without progress, so a slow but healthy link never stalls).
 */
import type { SessionConfig } from './config.ts'
import type { SessionHandler } from './session-types.ts'

export class WriteStall {
  private readonly handler: SessionHandler
  private readonly config: SessionConfig
  /** The transport refused a write and has not drained since. */
  blocked = false
  /** When the transport last made progress while blocked (refusal, or fewer bytes held). */
  private since = 0
  /** What `handler.queuedBytes()` said at `since`. */
  private queued = 0

  constructor (handler: SessionHandler, config: SessionConfig) {
    this.handler = handler
    this.config = config
  }

  /** The transport refused a write at `now`; returns when to look at it next. */
  refused (now: number): number {
    this.blocked = true
    this.since = now
    this.queued = this.handler.queuedBytes?.() ?? 0
    return this.nextCheck(now)
  }

  /**
   * Looks at a blocked transport at `now`: returns true if it took none of
   * our bytes for connectionWriteTimeout. Bytes leaving (the owner reports
   * what the transport holds) count as progress.
   */
  stalled (now: number): boolean {
    if (!this.blocked) { return false }
    const queued = this.handler.queuedBytes?.()
    if (queued !== undefined && queued < this.queued) {
      this.since = now
      this.queued = queued
      return false
    }
    return now - this.since >= this.config.connectionWriteTimeout
  }

  /**
   * When to look at the transport next (Infinity if not blocked): at the
   * write timeout, or every quarter of it if the owner reports progress.
   */
  nextCheck (now: number): number {
    if (!this.blocked) { return Infinity }
    const timeout = this.config.connectionWriteTimeout
    const deadline = this.since + timeout
    return this.handler.queuedBytes === undefined ? deadline : Math.min(deadline, now + timeout / 4)
  }
}
