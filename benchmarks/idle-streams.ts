/**
 * The idle-stream measurement every memory scenario shares: open streams
 * one at a time, keep both ends, and report heap, RSS and time per stream.
 */
import { deferred, gc, hasGc, sleep } from './harness.ts'
import type { Sample } from './results.ts'

/** Streams opened (and kept) before the baseline, so that first-use costs are not counted. */
export const IDLE_WARM_UP = 200

export interface IdleStreamsRun {
  /** Opens one stream from the dialer; what it returns is kept until the end. */
  open(): Promise<unknown>
  /** Waits for `arrived`; `count` tells how many streams the listener got (a stall report may use it). */
  wait?(arrived: Promise<void>, count: () => number, what: string): Promise<void>
  /** Throws if fewer stream ends than `opened` per side are still open. */
  check?(opened: number): void
}

/** Counts the streams the listener is handed and measures `n` idle ones after a warm-up. */
export class IdleStreams {
  private readonly inbound: unknown[] = []
  private readonly outbound: unknown[] = []
  private want = IDLE_WARM_UP
  private arrived = deferred()

  constructor () {
    if (!hasGc()) { throw new Error('run node with --expose-gc') }
  }

  /** Give it each stream the listener is handed (it is kept to the end). */
  readonly onInbound = (stream: unknown): void => {
    this.inbound.push(stream)
    if (this.inbound.length >= this.want) { this.arrived.resolve() }
  }

  async measure (n: number, run: IdleStreamsRun): Promise<Sample> {
    const wait = run.wait ?? (async (arrived) => { await arrived })
    const count = (): number => this.inbound.length
    for (let i = 0; i < IDLE_WARM_UP; i++) { this.outbound.push(await run.open()) }
    await wait(this.arrived.promise, count, `${IDLE_WARM_UP} streams arrived`)
    await sleep(50)

    gc()
    const before = process.memoryUsage()
    this.want = IDLE_WARM_UP + n
    this.arrived = deferred()
    const t0 = performance.now()
    for (let i = 0; i < n; i++) { this.outbound.push(await run.open()) }
    await wait(this.arrived.promise, count, `${IDLE_WARM_UP + n} streams arrived`)
    const openMs = performance.now() - t0
    // let ACKs and window updates settle before measuring
    await sleep(100)
    gc()
    const after = process.memoryUsage()
    run.check?.(IDLE_WARM_UP + n)
    const heapDelta = after.heapUsed - before.heapUsed
    return {
      heapPerStream: heapDelta / n,
      heapExternalPerStream: (heapDelta + after.external - before.external) / n,
      openMs,
      peakRssMB: process.resourceUsage().maxRSS * 1024 / 1e6,
      rssPerStream: (after.rss - before.rss) / n,
      // keep both ends reachable until here
      held: this.inbound.length + this.outbound.length
    }
  }
}
