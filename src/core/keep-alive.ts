/**
 * Ping and keep-alive state: the one ping in flight (its id, when it left,
 * who waits for it, whether keep-alive asked for it), the smoothed RTT, and
 * whether the peer was heard from since the last keep-alive tick.
 */
import { TimeoutError } from './errors.ts'
import type { YamuxError } from './errors.ts'

export type PingCallback = (err: YamuxError | undefined, rtt: number) => void

export class PingState {
  private id = 0
  private inFlight = false
  /** The ping in flight was sent (or joined) by keep-alive: its timeout ends the session. */
  private forKeepAlive = false
  private sentAt = 0
  private callbacks: PingCallback[] = []
  /**
   * Smoothed RTT in ms, -1 before the first pong. 0 is a real reading: a
   * peer in the same process (or a coarse browser clock) answers within one tick.
   */
  srtt = -1
  /** The session's first ping came back or failed (window growth waits for it, with growAfterFirstPing). */
  firstSettled = false
  /** Any frame arrived since the last keep-alive tick. */
  heardFromPeer = false
  /** When keep-alive looks at the session next (Infinity when off). */
  nextKeepAliveAt = Infinity

  /**
   * Starts a ping, or joins the one in flight. Returns the id to put on the
   * wire, or -1 when one is already in flight.
   */
  start (now: number, keepAlive: boolean, callback?: PingCallback): number {
    if (keepAlive) { this.forKeepAlive = true }
    if (callback !== undefined) { this.callbacks.push(callback) }
    if (this.inFlight) { return -1 }
    this.id = (this.id + 1) >>> 0
    this.inFlight = true
    this.sentAt = now
    return this.id
  }

  /**
   * A pong with `value` arrived. Unsolicited or stale pongs are ignored (go
   * and hashicorp peers may send them late).
   */
  pong (value: number, now: number): void {
    if (!this.inFlight || value !== this.id) { return }
    const rtt = Math.max(now - this.sentAt, 0)
    this.srtt = this.srtt < 0 ? rtt : (this.srtt * 7 + rtt) / 8
    this.settle(undefined, rtt)
  }

  /** When the ping in flight times out, or Infinity. */
  deadline (timeout: number): number {
    return this.inFlight ? this.sentAt + timeout : Infinity
  }

  /**
   * The ping in flight timed out: its callers get TimeoutError. Returns true
   * if keep-alive asked for it (the session must end).
   */
  expire (): boolean {
    const keepAlive = this.forKeepAlive
    this.settle(new TimeoutError('ping timed out'), -1)
    return keepAlive
  }

  /**
   * A keep-alive tick at `now`: returns true if a ping should go (nothing
   * was heard from the peer since the last tick: any frame proves it alive).
   */
  tick (now: number, interval: number): boolean {
    const idle = !this.heardFromPeer
    this.heardFromPeer = false
    this.nextKeepAliveAt = now + interval
    return idle
  }

  /** The session ended: every caller gets `error`. */
  fail (error: YamuxError): void {
    this.settle(error, -1)
  }

  private settle (error: YamuxError | undefined, rtt: number): void {
    this.firstSettled = true
    this.inFlight = false
    this.forKeepAlive = false
    const callbacks = this.callbacks
    this.callbacks = []
    for (const callback of callbacks) { callback(error, rtt) }
  }
}
