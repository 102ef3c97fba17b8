/**
 * A yamux session as a synchronous, sans-I/O state machine: the public API,
 * frame dispatch and the session's lifecycle (GoAway, ending).
 *
 * Bytes from the transport go in through {@link Session.receive}; bytes for
 * the transport come out through {@link SessionHandler.write}. The clock,
 * deferred work and the one timer the session needs are injected through
 * {@link SessionEnvironment}, so tests drive it with a virtual clock and
 * adapters (libp2p, Node.js) wrap it without knowing the protocol. The
 * concerns it composes each live in their own file: the stream table
 * (stream-table.ts), stream openings and endings (stream-lifecycle.ts), flow
 * control (flow-control.ts), output scheduling (output.ts), ping and
 * keep-alive (keep-alive.ts) and deadlines with the single timer
 * (deadlines.ts, session-timers.ts).
 */
import { resolveConfig } from './config.ts'
import { GoAwayCode } from './constants.ts'
import { DeadlineQueue } from './deadlines.ts'
import {
  InternalError, RemoteGoAwayError, SessionShutdownError, StreamClosedError, TransportClosedError, TransportError, YamuxError,
  errorMessage, toYamuxError
} from './errors.ts'
import { recordConsumed, takeCredit } from './flow-control.ts'
import { FrameDecoder } from './frame.ts'
import { Inbound } from './inbound.ts'
import { PingState } from './keep-alive.ts'
import { Output } from './output.ts'
import { SessionTimers } from './session-timers.ts'
import { emptyStats } from './session-types.ts'
import { StreamLifecycle } from './stream-lifecycle.ts'
import { OpenState, WriteState } from './stream-record.ts'
import { StreamTable } from './stream-table.ts'
import type { SessionConfig } from './config.ts'
import type { InboundHost } from './inbound.ts'
import type { PingCallback } from './keep-alive.ts'
import type { OutputHost } from './output.ts'
import type { SessionEnvironment, SessionHandler, SessionInit, SessionStats } from './session-types.ts'
import type { StreamRecord } from './stream-record.ts'

export type { SessionEnvironment, SessionHandler, SessionInit, SessionStats } from './session-types.ts'

export class Session {
  readonly client: boolean
  readonly config: SessionConfig
  readonly stats: SessionStats = emptyStats()

  private readonly env: SessionEnvironment
  private readonly handler: SessionHandler
  private readonly decoder: FrameDecoder
  private readonly streams: StreamTable
  private readonly output: Output
  private readonly pings = new PingState()
  private readonly timers: SessionTimers
  private readonly life: StreamLifecycle
  /** Our streams awaiting an ACK, by `openDeadline`. */
  private readonly openDeadlines = new DeadlineQueue(s => s.openDeadline, isAwaitingAck)
  /** Streams we asked to close, by `closeDeadline`. */
  private readonly closeDeadlines = new DeadlineQueue(s => s.closeDeadline, isLive)

  private closed = false
  private localGoAway = false
  private remoteGoAway = false

  constructor (init: SessionInit) {
    this.client = init.client
    this.config = resolveConfig(init.config)
    this.env = init.environment
    this.handler = init.handler
    const first = init.firstStreamId ?? (this.client ? 1 : 2)
    if (!Number.isSafeInteger(first) || first < 1 || (first % 2 === 1) !== this.client) {
      throw new RangeError('firstStreamId must be a positive integer with this side\'s parity')
    }
    this.streams = new StreamTable(this.config, first)
    this.output = new Output(this.env, this.handler, this.config, this.stats, this.outputHost())
    this.life = new StreamLifecycle(this.streams, this.output, this.handler, this.env, () => this.timers)
    this.decoder = new FrameDecoder(new Inbound(this.streams, this.output, this.handler, this.inboundHost()))
    this.timers = new SessionTimers(this.env, this.config, this.output, this.pings, { open: this.openDeadlines, close: this.closeDeadlines }, {
      isClosed: () => this.closed,
      fail: (error) => { this.fail(error) },
      expireStream: (stream, error) => {
        this.output.queueReset(stream.id)
        this.life.drop(stream, error)
      },
      keepAlivePing: () => { this.sendPing(true) }
    })

    // measure the RTT at once: window auto-tuning needs it. Its timeout, like
    // any ping's but keep-alive's own, fails only the ping, not the session
    this.sendPing(false)
  }

  // =====================================================================
  // Public API
  // =====================================================================

  /** True once the session has ended. */
  get isClosed (): boolean { return this.closed }
  /** Smoothed round-trip time in ms, or -1 before the first pong. */
  get rtt (): number { return this.pings.srtt }
  /** Number of live streams. */
  get streamCount (): number { return this.streams.size }
  /** True while the transport has asked us to wait. */
  get isBlocked (): boolean { return this.output.isBlocked }
  /** True after either side sent GoAway: no new streams. */
  get isGoingAway (): boolean { return this.localGoAway || this.remoteGoAway }
  /** Bytes accepted by `write()` on all streams that have not been framed yet. */
  get queuedBytes (): number { return this.output.queuedBytes }
  /** Our GoAway has been handed to the transport (`goAway()` drains first; `close()` sends it at once). */
  get goAwaySent (): boolean { return this.output.goAwaySent }

  /** Feeds bytes read from the transport. */
  receive (chunk: Uint8Array): void {
    if (this.closed) { return }
    this.pings.heardFromPeer = true
    this.stats.bytesReceived += chunk.byteLength
    try {
      this.decoder.push(chunk)
    } catch (err) {
      this.fail(toYamuxError(err))
    }
  }

  /**
   * Opens a stream and returns its id. Its SYN leaves with the next flush
   * (on the first data frame if data is written in the same tick), unless the
   * ACK backlog holds it back. Throws SessionShutdownError, RemoteGoAwayError,
   * StreamLimitError (stream limit, or no room left in maxSessionWindowSize
   * for the stream's initial window) or StreamsExhaustedError.
   */
  openStream (): number {
    if (this.closed || this.localGoAway) { throw new SessionShutdownError() }
    if (this.remoteGoAway) { throw new RemoteGoAwayError(GoAwayCode.NormalTermination) }
    return this.life.open().id
  }

  /** Acknowledges an inbound stream (its ACK leaves with the next frame). */
  acceptStream (id: number): void {
    const stream = this.streams.get(id)
    if (stream === undefined || stream.openState !== OpenState.AcceptPending) { return }
    this.life.accept(stream)
  }

  /**
   * Queues payload for stream `id` and returns how many bytes were taken.
   * Writes up to 8 KiB are copied; larger ones are kept by reference until
   * framed, so do not change such a buffer after writing it. Fewer than
   * offered means the window, the stream's queue or the session-wide bound
   * (maxSessionSendQueue) is full: `onWritable` follows when there is room.
   * Throws StreamClosedError if the stream is gone or closed for writing.
   */
  write (id: number, data: Uint8Array): number {
    const stream = this.streams.get(id)
    if (stream === undefined || stream.writeState !== WriteState.Open) {
      throw new StreamClosedError(`stream ${id} is closed for writing`)
    }
    if (data.byteLength === 0) { return 0 }
    // our first frame on a stream the owner has not accepted yet must carry
    // the ACK, or the opener would time the stream out while data flows
    if (stream.openState === OpenState.AcceptPending) { this.acceptStream(id) }
    return this.output.write(stream, data)
  }

  /**
   * Caps how far auto-tuning may grow stream `id`'s receive window, e.g. to
   * the most the owner will buffer for it. Never below the current window.
   */
  limitReceiveWindow (id: number, maxBytes: number): void {
    const stream = this.streams.get(id)
    if (stream === undefined) { return }
    stream.maxRecvWindow = Math.max(stream.recvWindow, Math.min(maxBytes, this.config.maxStreamWindowSize))
  }

  /** Bytes stream `id` could take right now. */
  writableLength (id: number): number {
    const stream = this.streams.get(id)
    if (stream === undefined || stream.writeState !== WriteState.Open) { return 0 }
    return this.output.writableLength(stream)
  }

  /**
   * Half-closes stream `id`: FIN leaves after the bytes already queued. (A
   * stream never queues more than its send window, so the FIN waits for no
   * credit; streamCloseTimeout runs from when it leaves.)
   */
  closeWrite (id: number): void {
    const stream = this.streams.get(id)
    if (stream === undefined || stream.writeState !== WriteState.Open) { return }
    stream.writeState = WriteState.FinPending
    this.output.needData(stream)
  }

  /** Resets stream `id`: queued data is dropped, RST is sent, the stream is forgotten. */
  reset (id: number): void {
    const stream = this.streams.get(id)
    if (stream === undefined) { return }
    if (!stream.held) { this.output.queueReset(stream.id) }
    this.life.forget(stream)
  }

  /**
   * Returns credit for `bytes` of stream `id`'s data that the application has
   * consumed. A window update goes out once half the window is consumed.
   */
  consume (id: number, bytes: number): void {
    const stream = this.streams.get(id)
    if (stream !== undefined && recordConsumed(stream, bytes)) { this.output.needUpdate(stream) }
  }

  /**
   * Sends a ping (or joins the one in flight); `callback` gets the RTT in ms,
   * or TimeoutError after `connectionWriteTimeout` (the session stays up), or
   * the session's error.
   */
  ping (callback: PingCallback): void {
    if (this.closed) {
      callback(new SessionShutdownError(), -1)
      return
    }
    this.sendPing(false, callback)
  }

  /** The transport can take writes again. */
  transportDrained (): void {
    if (this.closed) { return }
    this.output.transportDrained()
  }

  /**
   * Stops new streams (ours throw, the peer's are reset) and sends GoAway(0)
   * once queued data has left. Open streams carry on.
   */
  goAway (): void {
    if (this.closed || this.localGoAway) { return }
    this.localGoAway = true
    this.streams.dropHeld(stream => { this.life.drop(stream, new SessionShutdownError()) })
    this.output.goAwayWhenDrained()
  }

  /**
   * Ends the session. Without an error: sends what can be sent now, then
   * GoAway(0). With one: sends GoAway with the error's code (internal error
   * if it has none). Either way every stream is forgotten and `onClose` runs.
   */
  close (error?: Error): void {
    if (this.closed) { return }
    if (error !== undefined) {
      const failure = toYamuxError(error)
      // every error the owner ends a session with is reported to the peer
      this.fail(failure, failure.goAwayCode ?? GoAwayCode.InternalError)
      return
    }
    this.localGoAway = true
    this.output.goAwayWhenDrained()
    this.output.flush()
    this.output.goAwayNow(GoAwayCode.NormalTermination, false)
    this.terminate(undefined)
  }

  /**
   * The transport closed, with `error` if it failed (TransportError). A clean
   * end is only clean if nothing was cut short: in the middle of a frame the
   * session fails with TransportClosedError, and unless the peer sent GoAway,
   * every stream still waiting for the peer's FIN is reset with it first
   * (a killed sender must not look like a finished one).
   */
  transportClosed (error?: Error): void {
    if (this.closed) { return }
    if (error !== undefined) {
      this.terminate(error instanceof YamuxError ? error : new TransportError(`transport failed: ${error.message}`, error))
      return
    }
    if (this.decoder.midFrame) {
      this.terminate(new TransportClosedError('the transport ended in the middle of a frame'))
      return
    }
    if (!this.remoteGoAway) {
      this.life.ending = true // no held open is released by the streams dropped here
      // one error for all: a stack trace per stream made closing 10,000 slow
      let error: TransportClosedError | undefined
      for (const stream of [...this.streams.values()]) {
        if (!stream.readClosed) {
          error ??= new TransportClosedError('the transport closed before a stream received the peer\'s FIN')
          this.life.drop(stream, error)
        }
      }
    }
    this.terminate(undefined)
  }

  // =====================================================================
  // Reactions to the peer
  // =====================================================================

  private acceptInbound (id: number): StreamRecord | undefined {
    if (this.localGoAway || !this.streams.admitsInbound()) {
      this.output.queueReset(id)
      return undefined
    }
    const stream = this.streams.addInbound(id, this.env.now())
    this.handler.onStream(id)
    return stream.gone ? undefined : stream
  }

  private onRemoteGoAway (code: number): void {
    if (code !== GoAwayCode.NormalTermination) {
      this.fail(new RemoteGoAwayError(code))
      return
    }
    if (this.remoteGoAway) { return }
    this.remoteGoAway = true
    // ours that never left cannot be accepted any more
    const error = new RemoteGoAwayError(code)
    this.streams.dropHeld(stream => { this.life.drop(stream, error) })
    this.handler.onGoAway(code)
  }

  // =====================================================================
  // What the inbound dispatch and the output may ask of the session
  // =====================================================================

  private inboundHost (): InboundHost {
    return {
      client: this.client,
      copySmallPieces: this.config.copySmallPieces,
      now: () => this.env.now(),
      acceptInbound: (id) => this.acceptInbound(id),
      acked: (stream) => { this.life.acked(stream) },
      dropStream: (stream, error, remote) => { this.life.drop(stream, error, remote) },
      forget: (stream) => { this.life.forget(stream) },
      pong: (value) => {
        this.pings.pong(value, this.env.now())
        this.timers.pingChanged()
      },
      remoteGoAway: (code) => { this.onRemoteGoAway(code) }
    }
  }

  private outputHost (): OutputHost {
    return {
      takeCredit: (stream) => takeCredit(stream, this.env.now(), this.pings.srtt, this.streams.budget, this.pings.firstSettled || !this.config.growAfterFirstPing),
      finSent: (stream) => { this.life.finSent(stream) },
      fail: (error) => { this.fail(error) },
      ownerFailed: (stream, err) => {
        // the owner threw while handling `stream`: reset that stream only
        if (stream.gone) { return }
        if (!stream.held) { this.output.queueReset(stream.id) }
        if (this.closed) { return }
        try {
          this.life.drop(stream, new InternalError(`stream ${stream.id} handler threw: ${errorMessage(err)}`, err))
        } catch { /* the owner is already failing for this stream */ }
      },
      checkStallAt: (at) => { this.timers.stallCheckAt(at) }
    }
  }

  // =====================================================================
  // Ping and ending
  // =====================================================================

  /** Sends a ping unless one is in flight; `keepAlive` pings end the session when unanswered. */
  private sendPing (keepAlive: boolean, callback?: PingCallback): void {
    const now = this.env.now()
    const id = this.pings.start(now, keepAlive, callback)
    if (id < 0) { return }
    this.output.queuePing(id)
    this.timers.pingChanged()
  }

  /** Ends the session with an error, sending GoAway with `code` (the error's, by default) if there is one. */
  private fail (error: YamuxError, code = error.goAwayCode): void {
    if (this.closed) { return }
    this.config.logger?.('yamux session failed: %s', error.message)
    if (code !== undefined) { this.output.goAwayNow(code, true) }
    this.terminate(error)
  }

  private terminate (error: YamuxError | undefined): void {
    this.closed = true
    this.life.ending = true
    // frames after the end, even later in the chunk being decoded, are ignored
    this.decoder.stop()
    this.timers.stop()
    this.output.stop()
    for (const stream of this.streams.clear()) { stream.clearQueue() }
    this.openDeadlines.clear()
    this.closeDeadlines.clear()
    this.pings.fail(error ?? new SessionShutdownError())
    this.handler.onClose(error)
  }
}

function isAwaitingAck (stream: StreamRecord): boolean {
  return !stream.gone && stream.openState === OpenState.SynSent
}

function isLive (stream: StreamRecord): boolean {
  return !stream.gone
}
