/**
 * Enforces inactivity timeouts that callers set explicitly, with one sweep
 * timer per muxer. libp2p documents a 120 s default but no muxer enforces
 * it, and long-lived idle protocol streams depend on that, so streams without
 * an explicit timeout are not watched (and cost nothing here).
 */
import { TimeoutError } from '@libp2p/interface'
import { environment } from '../environment.ts'
import type { YamuxStream } from './stream.ts'

interface Watched { timeout: number, lastActive: number }

export class IdleWatch {
  private readonly watched = new Map<YamuxStream, Watched>()
  private timer: unknown = undefined
  private stopped = false

  watch (stream: YamuxStream, timeout: number): void {
    if (this.stopped) { return }
    this.watched.set(stream, { timeout, lastActive: performance.now() })
    if (this.timer === undefined) { this.schedule() }
  }

  active (stream: YamuxStream): void {
    const entry = this.watched.get(stream)
    if (entry !== undefined) { entry.lastActive = performance.now() }
  }

  forget (stream: YamuxStream): void {
    this.watched.delete(stream)
  }

  stop (): void {
    this.stopped = true
    this.watched.clear()
    if (this.timer !== undefined) {
      environment.clearTimer(this.timer)
      this.timer = undefined
    }
  }

  private schedule (): void {
    let shortest = Infinity
    for (const entry of this.watched.values()) { shortest = Math.min(shortest, entry.timeout) }
    this.timer = shortest === Infinity
      ? undefined
      : environment.setTimer(() => { this.sweep() }, Math.max(shortest / 4, 50))
  }

  private sweep (): void {
    this.timer = undefined
    const now = performance.now()
    for (const [stream, entry] of this.watched) {
      if (stream.status !== 'open') {
        this.watched.delete(stream)
      } else if (now - entry.lastActive >= entry.timeout) {
        this.watched.delete(stream)
        stream.abort(new TimeoutError(`stream inactive for ${entry.timeout} ms`))
      }
    }
    if (!this.stopped) { this.schedule() }
  }
}
