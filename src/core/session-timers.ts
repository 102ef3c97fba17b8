/**
 * The session's timed duties, all on its single timer: the transport write
 * stall, the ping timeout, keep-alive, and the stream open and close
 * deadlines. Each time the timer fires, every duty is checked and its entry
 * in the timer table set anew.
 */
import { TimerSlot, TimerTable } from './deadlines.ts'
import { ConnectionWriteTimeoutError, KeepAliveTimeoutError, TimeoutError } from './errors.ts'
import { wholeMs } from './stream-record.ts'
import type { SessionConfig } from './config.ts'
import type { DeadlineQueue } from './deadlines.ts'
import type { YamuxError } from './errors.ts'
import type { PingState } from './keep-alive.ts'
import type { Output } from './output.ts'
import type { SessionEnvironment } from './session-types.ts'
import type { StreamRecord } from './stream-record.ts'

/** What the timed duties do to the session around them. */
export interface TimersHost {
  isClosed(): boolean
  /** Ends the session with `error`. */
  fail(error: YamuxError): void
  /** Resets `stream` on the wire and reports `error` to the owner. */
  expireStream(stream: StreamRecord, error: YamuxError): void
  /** Sends a keep-alive ping. */
  keepAlivePing(): void
}

export interface Deadlines {
  /** Our streams awaiting an ACK, by `openDeadline`. */
  open: DeadlineQueue
  /** Streams whose FIN left, by `closeDeadline`. */
  close: DeadlineQueue
}

export class SessionTimers {
  private readonly table: TimerTable
  private readonly config: SessionConfig
  private readonly output: Output
  private readonly pings: PingState
  private readonly deadlines: Deadlines
  private readonly host: TimersHost

  constructor (env: SessionEnvironment, config: SessionConfig, output: Output, pings: PingState, deadlines: Deadlines, host: TimersHost) {
    this.config = config
    this.output = output
    this.pings = pings
    this.deadlines = deadlines
    this.host = host
    this.table = new TimerTable(env, (now) => { this.onFire(now) })
    if (config.enableKeepAlive) {
      pings.nextKeepAliveAt = env.now() + config.keepAliveInterval
      this.table.set(TimerSlot.KeepAlive, pings.nextKeepAliveAt)
    }
  }

  /** A ping left or was answered: its timeout moves. */
  pingChanged (): void {
    this.table.set(TimerSlot.Ping, this.pings.deadline(this.config.connectionWriteTimeout))
  }

  /** The transport pushed back: look at it again at `at`. */
  stallCheckAt (at: number): void {
    this.table.set(TimerSlot.WriteStall, at)
  }

  /** Our stream's SYN left at `now`: it must be acknowledged in time. */
  opened (stream: StreamRecord, now: number, liveStreams: number): void {
    if (this.config.streamOpenTimeout <= 0) { return }
    stream.openDeadline = wholeMs(now + this.config.streamOpenTimeout)
    this.deadlines.open.push(stream, liveStreams)
    if (stream.openDeadline < this.table.get(TimerSlot.StreamOpen)) { this.table.set(TimerSlot.StreamOpen, stream.openDeadline) }
  }

  /** Our FIN for `stream` left at `now` and the peer's has not come: it must not stay silent for ever. */
  halfClosed (stream: StreamRecord, now: number, liveStreams: number): void {
    if (this.config.streamCloseTimeout <= 0) { return }
    stream.lastHeardAt = wholeMs(now)
    stream.closeDeadline = wholeMs(now + this.config.streamCloseTimeout)
    this.deadlines.close.push(stream, liveStreams)
    if (stream.closeDeadline < this.table.get(TimerSlot.StreamClose)) { this.table.set(TimerSlot.StreamClose, stream.closeDeadline) }
  }

  /** Releases the timer for good. */
  stop (): void {
    this.table.stop()
  }

  private onFire (now: number): void {
    if (this.host.isClosed()) { return }
    const { config, table, pings, host } = this

    if (this.output.stall.stalled(now)) {
      host.fail(new ConnectionWriteTimeoutError())
      return
    }
    table.set(TimerSlot.WriteStall, this.output.stall.nextCheck(now))

    if (now >= pings.deadline(config.connectionWriteTimeout) && pings.expire()) {
      host.fail(new KeepAliveTimeoutError())
      return
    }
    if (config.enableKeepAlive && now >= pings.nextKeepAliveAt) {
      // only an idle session is pinged: any frame from the peer proves it alive
      if (pings.tick(now, config.keepAliveInterval)) { host.keepAlivePing() }
      table.set(TimerSlot.KeepAlive, pings.nextKeepAliveAt)
    }
    this.pingChanged()

    const stopped = (): boolean => host.isClosed()
    table.set(TimerSlot.StreamOpen, this.deadlines.open.expire(now, (stream) => {
      host.expireStream(stream, new TimeoutError(`stream ${stream.id} was not acknowledged in time`))
      return false
    }, stopped))
    if (host.isClosed()) { return }
    table.set(TimerSlot.StreamClose, this.deadlines.close.expire(now, (stream) => {
      const quietUntil = stream.lastHeardAt + config.streamCloseTimeout
      if (quietUntil > now) {
        // heard from since: wait out the rest of the quiet period
        stream.closeDeadline = wholeMs(quietUntil)
        return true
      }
      host.expireStream(stream, new TimeoutError(`stream ${stream.id} half-closed without reply for ${config.streamCloseTimeout} ms`))
      return false
    }, stopped))
  }
}
