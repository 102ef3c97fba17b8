/**
 * A yamux session as a synchronous, sans-I/O state machine.
 *
 * Bytes from the transport go in through {@link Session.receive}; bytes for
 * the transport come out through {@link SessionHandler.write}. The clock,
 * deferred work and the one timer the session needs are injected through
 * {@link SessionEnvironment}, so tests drive it with a virtual clock and
 * adapters (libp2p, Node.js) wrap it without knowing the protocol.
 *
 * Output is batched: anything that produces frames only marks work and asks
 * the environment to run a flush soon, so all frames produced in one tick
 * leave as one transport write, control frames first, then data frames
 * taken round-robin from the streams with data to send.
 */
import { resolveConfig } from './config.ts'
import {
  COPY_WRITES_UP_TO, Flag, FLUSH_BATCH_BYTES, WRITE_SLAB_SIZE, FrameType, GoAwayCode, INITIAL_STREAM_WINDOW, MAX_PENDING_CONTROL_FRAMES,
  MAX_PENDING_PONGS, MAX_STREAM_SEND_QUEUE, MAX_U32
} from './constants.ts'
import {
  ConnectionResetError, ConnectionWriteTimeoutError, DuplicateStreamError, InternalError, InvalidMsgTypeError,
  KeepAliveTimeoutError, ReceiveWindowExceededError, RemoteGoAwayError, SessionShutdownError,
  StreamClosedError, StreamLimitError, StreamsExhaustedError, TimeoutError, TransportClosedError, TransportError,
  UnexpectedFlagError, WindowOverflowError, YamuxError
} from './errors.ts'
import { FrameDecoder } from './frame.ts'
import { OutputBatch } from './output-batch.ts'
import { OpenState, StreamRecord, WriteState } from './stream-record.ts'
import type { SessionConfig } from './config.ts'
import type { FrameHeader, FrameSink } from './frame.ts'

/** Clock and scheduling, injected. */
export interface SessionEnvironment {
  /** Milliseconds on a monotonic clock. */
  now(): number
  /** Runs `task` soon, after the current synchronous work (a microtask). */
  defer(task: () => void): void
  /** Runs `task` once after `delay` ms; returns a handle for clearTimer. */
  setTimer(task: () => void, delay: number): unknown
  clearTimer(handle: unknown): void
}

/** What the session tells its owner. All calls are synchronous. */
export interface SessionHandler {
  /**
   * Bytes for the transport, in order. Return false when the transport wants
   * us to wait; call {@link Session.transportDrained} once it can take more.
   */
  write(chunks: Uint8Array[], byteLength: number): boolean
  /**
   * Optional: bytes handed to `write` that the transport still holds. While
   * the transport pushes back, the session polls it so that
   * `connectionWriteTimeout` counts time without progress rather than time
   * since the first refusal (a slow, healthy link never times out). Without
   * it, only `transportDrained` counts as progress.
   */
  queuedBytes?(): number
  /** The peer opened stream `id`; call {@link Session.acceptStream} to ACK it. */
  onStream(id: number): void
  /**
   * Payload for stream `id`. It may be kept: it is either a view that is most
   * of the chunk it came from, or a copy (small pieces of large reads are
   * copied so a held piece never pins a much larger transport buffer).
   */
  onData(id: number, data: Uint8Array): void
  /** The peer half-closed stream `id` (FIN): no more data will arrive. */
  onRemoteClose(id: number): void
  /**
   * Stream `id` is gone: reset by the peer (`remote` true, ConnectionResetError)
   * or by the session (timeouts, GoAway). Not called for local `reset()`.
   */
  onStreamReset(id: number, error: YamuxError, remote: boolean): void
  /**
   * Stream `id` had a write refused in part and can take more now. If this
   * throws, that stream is reset (InternalError); other streams are unaffected.
   */
  onWritable(id: number): void
  /**
   * Stream `id` is finished as far as the wire goes (FIN both ways, or reset
   * by `reset()`): no event for it will follow. Not called when
   * `onStreamReset` reports the end instead, nor when the session ends.
   */
  onStreamClosed(id: number): void
  /** The peer sent GoAway(0): no new streams; open ones may finish. */
  onGoAway(code: number): void
  /** The session ended; `error` is undefined for a clean close. Streams are forgotten. */
  onClose(error?: YamuxError): void
}

export interface SessionInit {
  /** The client (dialer) uses odd stream ids, the server even ones. */
  client: boolean
  config?: Partial<SessionConfig>
  environment: SessionEnvironment
  handler: SessionHandler
  /** First id we allocate (tests use it to reach id exhaustion). Must have our parity. */
  firstStreamId?: number
}

/** Counters for benchmarks and diagnostics. */
export interface SessionStats {
  transportWrites: number
  bytesWritten: number
  framesSent: number
  dataFramesSent: number
  /** WindowUpdate frames of any kind, flag-only ones (SYN/ACK/FIN) included. */
  windowUpdatesSent: number
  /** WindowUpdate frames that grant credit. */
  creditUpdatesSent: number
  bytesReceived: number
}

/**
 * Sub-millisecond RTTs measured on an idle event loop understate how long
 * credit takes to come back under load; tuning never assumes less than this.
 */
const MIN_TUNING_RTT = 1

export class Session implements FrameSink {
  readonly client: boolean
  readonly config: SessionConfig
  readonly stats: SessionStats = {
    transportWrites: 0, bytesWritten: 0, framesSent: 0, dataFramesSent: 0, windowUpdatesSent: 0, creditUpdatesSent: 0, bytesReceived: 0
  }

  private readonly env: SessionEnvironment
  private readonly handler: SessionHandler
  private readonly decoder: FrameDecoder
  private readonly streams = new Map<number, StreamRecord>()
  private nextStreamId: number

  // ---- lifecycle ----
  private closed = false
  /** Set while the session is being torn down: nothing new is started. */
  private ending = false
  private localGoAway = false
  private goAwaySent = false
  private remoteGoAway = false
  private inboundCount = 0
  private outboundCount = 0
  private unacceptedCount = 0
  /** Sum of all live streams' receive windows. */
  private windowTotal = 0

  // ---- output ----
  private readonly batch = new OutputBatch()
  private slab = new Uint8Array(0)
  private slabPos = 0
  private flushScheduled = false
  private readonly flushTask = (): void => { this.flushScheduled = false; this.flush() }
  private blocked = false
  /** When the transport last made progress while blocked (refusal, drain, or fewer bytes held). */
  private blockedSince = 0
  /** What `handler.queuedBytes()` said at `blockedSince`. */
  private blockedQueued = 0
  /** Bytes accepted by `write()` on all streams and not yet framed (bounded by maxSessionSendQueue). */
  private queuedTotal = 0
  /** Streams refused because of the session-wide bound; told once half of it is free. */
  private queueWaiters: StreamRecord[] = []
  private readonly pendingPongs: number[] = []
  private readonly pendingResets: number[] = []
  private readonly updateLane: StreamRecord[] = []
  private dataLane: StreamRecord[] = []
  /** Streams waiting for room whose state changed since the last check. */
  private writableCandidates: StreamRecord[] = []
  private pendingPingId = -1

  // ---- open backlog ----
  private ackBacklog = 0
  private readonly heldOpens: StreamRecord[] = []
  private heldHead = 0

  // ---- ping / keep-alive ----
  private pingId = 0
  private pingInFlight = false
  /** The ping in flight was sent (or joined) by keep-alive: its timeout ends the session. */
  private pingForKeepAlive = false
  private pingSentAt = 0
  private pingCallbacks: Array<(err: YamuxError | undefined, rtt: number) => void> = []
  private srtt = 0
  private heardFromPeer = false
  private nextKeepAliveAt = Infinity

  // ---- deadlines (FIFO, checked lazily when the single timer fires) ----
  /** Streams awaiting an ACK, oldest first (their `openDeadline`). */
  private openDeadlines: StreamRecord[] = []
  /** Streams we half-closed, by `closeDeadline`. */
  private closeDeadlines: StreamRecord[] = []
  private timer: unknown
  private timerArmed = false
  private timerAt = Infinity
  private readonly timerTask = (): void => { this.timerArmed = false; this.timerAt = Infinity; this.onTimer() }

  /** The stream whose Data payload is arriving, or undefined to discard it. */
  private rxStream: StreamRecord | undefined

  constructor (init: SessionInit) {
    this.client = init.client
    this.config = resolveConfig(init.config)
    this.env = init.environment
    this.handler = init.handler
    this.decoder = new FrameDecoder(this)
    const first = init.firstStreamId ?? (this.client ? 1 : 2)
    if (!Number.isSafeInteger(first) || first < 1 || (first % 2 === 1) !== this.client) {
      throw new RangeError('firstStreamId must be a positive integer with this side\'s parity')
    }
    this.nextStreamId = first

    // measure the RTT at once: window auto-tuning needs it. Its timeout, like
    // any ping's but keep-alive's own, fails only the ping, not the session
    this.sendPing(false)
    if (this.config.enableKeepAlive) {
      this.nextKeepAliveAt = this.env.now() + this.config.keepAliveInterval
      this.armTimer(this.nextKeepAliveAt)
    }
  }

  // =====================================================================
  // Public API
  // =====================================================================

  /** True once the session has ended. */
  get isClosed (): boolean { return this.closed }
  /** Smoothed round-trip time in ms, or -1 before the first pong. */
  get rtt (): number { return this.srtt > 0 ? this.srtt : -1 }
  /** Number of live streams. */
  get streamCount (): number { return this.streams.size }
  /** True while the transport has asked us to wait. */
  get isBlocked (): boolean { return this.blocked }
  /** True after either side sent GoAway: no new streams. */
  get isGoingAway (): boolean { return this.localGoAway || this.remoteGoAway }

  /** Feeds bytes read from the transport. */
  receive (chunk: Uint8Array): void {
    if (this.closed) { return }
    this.heardFromPeer = true
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
    if (this.outboundCount >= this.config.maxOutboundStreams) {
      throw new StreamLimitError(`too many outbound streams (limit ${this.config.maxOutboundStreams})`)
    }
    if (!this.windowBudgetFits()) {
      throw new StreamLimitError(`maxSessionWindowSize (${this.config.maxSessionWindowSize} bytes) has no room for another stream's receive window`)
    }
    const id = this.nextStreamId
    if (id > MAX_U32) { throw new StreamsExhaustedError() }
    this.nextStreamId += 2
    const stream = this.addStream(id, true)
    stream.pendingFlags = Flag.SYN
    if (this.ackBacklog < this.config.maxAckBacklog) {
      this.activate(stream, stream.lastUpdateAt)
    } else {
      stream.held = true
      this.heldOpens.push(stream)
    }
    return id
  }

  /** Acknowledges an inbound stream (its ACK leaves with the next frame). */
  acceptStream (id: number): void {
    const stream = this.streams.get(id)
    if (stream === undefined || stream.openState !== OpenState.AcceptPending) { return }
    stream.openState = OpenState.Established
    this.unacceptedCount--
    stream.pendingFlags |= Flag.ACK
    this.needUpdate(stream)
  }

  /**
   * Queues payload for stream `id` and returns how many bytes were taken.
   * Writes up to 8 KiB are copied; larger ones are kept by reference until
   * framed, so do not change such a buffer after writing it. Fewer than
   * offered means the window or the stream's queue is full: `onWritable`
   * follows when there is room. Throws StreamClosedError if the stream is
   * gone or closed for writing.
   */
  write (id: number, data: Uint8Array): number {
    const stream = this.streams.get(id)
    if (stream === undefined || stream.writeState !== WriteState.Open) {
      throw new StreamClosedError(`stream ${id} is closed for writing`)
    }
    const length = data.byteLength
    if (length === 0) { return 0 }
    // our first frame on a stream the owner has not accepted yet must carry
    // the ACK, or the opener would time the stream out while data flows
    if (stream.openState === OpenState.AcceptPending) { this.acceptStream(id) }
    const room = this.roomFor(stream)
    const taken = room < length ? room : length
    if (taken < length) { this.waitWritable(stream) }
    if (taken === 0) { return 0 }
    const accepted = taken === length ? data : data.subarray(0, taken)
    stream.enqueue(taken <= COPY_WRITES_UP_TO ? this.copySmall(accepted) : accepted)
    this.queuedTotal += taken
    this.needData(stream)
    return taken
  }

  /** Bytes accepted by `write()` on all streams that have not been framed yet. */
  get queuedBytes (): number { return this.queuedTotal }

  /** What a write to `stream` may take now: its window and queue, and the session-wide bound. */
  private roomFor (stream: StreamRecord): number {
    const room = stream.room(MAX_STREAM_SEND_QUEUE)
    const shared = this.config.maxSessionSendQueue - this.queuedTotal
    if (shared >= room) { return room }
    this.waitForQueue(stream)
    return shared > 0 ? shared : 0
  }

  private waitForQueue (stream: StreamRecord): void {
    if (!stream.waitingForQueue) {
      stream.waitingForQueue = true
      this.queueWaiters.push(stream)
    }
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

  /** Copies a small write into the current slab (no allocation per write). */
  private copySmall (data: Uint8Array): Uint8Array {
    const n = data.byteLength
    if (this.slabPos + n > this.slab.byteLength) {
      this.slab = new Uint8Array(WRITE_SLAB_SIZE)
      this.slabPos = 0
    }
    const view = this.slab.subarray(this.slabPos, this.slabPos + n)
    view.set(data)
    this.slabPos += n
    return view
  }

  /** Bytes stream `id` could take right now. */
  writableLength (id: number): number {
    const stream = this.streams.get(id)
    if (stream === undefined || stream.writeState !== WriteState.Open) { return 0 }
    const room = stream.room(MAX_STREAM_SEND_QUEUE)
    const shared = Math.max(this.config.maxSessionSendQueue - this.queuedTotal, 0)
    return shared < room ? shared : room
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
    this.needData(stream)
  }

  /** Resets stream `id`: queued data is dropped, RST is sent, the stream is forgotten. */
  reset (id: number): void {
    const stream = this.streams.get(id)
    if (stream === undefined) { return }
    this.resetStream(stream)
  }

  /**
   * Returns credit for `bytes` of stream `id`'s data that the application has
   * consumed. A window update goes out once half the window is consumed.
   */
  consume (id: number, bytes: number): void {
    const stream = this.streams.get(id)
    if (stream === undefined) { return }
    stream.consumed += bytes
    // no credit after the peer's FIN: it cannot send more (js-libp2p#2505).
    // Half of the window the peer knows of: extra initial credit not yet
    // granted (before our SYN/ACK left) does not count.
    if (!stream.readClosed && stream.consumed * 2 >= stream.recvWindow - stream.creditOwed) { this.needUpdate(stream) }
  }

  /**
   * Sends a ping (or joins the one in flight); `callback` gets the RTT in ms,
   * or TimeoutError after `connectionWriteTimeout`, or the session's error.
   */
  ping (callback: (err: YamuxError | undefined, rtt: number) => void): void {
    if (this.closed) {
      callback(new SessionShutdownError(), -1)
      return
    }
    this.pingCallbacks.push(callback)
    this.sendPing(false)
  }

  /** The transport can take writes again. */
  transportDrained (): void {
    if (!this.blocked || this.closed) { return }
    this.blocked = false
    this.flush()
  }

  /**
   * Stops new streams (ours throw, the peer's are reset) and sends GoAway(0)
   * once queued data has left. Open streams carry on.
   */
  goAway (): void {
    if (this.closed || this.localGoAway) { return }
    this.localGoAway = true
    for (let i = this.heldHead; i < this.heldOpens.length; i++) {
      const stream = this.heldOpens[i]
      if (!stream.gone) { this.dropStream(stream, new SessionShutdownError()) }
    }
    this.heldOpens.length = 0
    this.heldHead = 0
    this.scheduleFlush()
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
    this.flush()
    if (!this.goAwaySent) { this.emitGoAway(GoAwayCode.NormalTermination, true) }
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
      this.ending = true // no held open is released by the streams dropped here
      for (const stream of [...this.streams.values()]) {
        if (!stream.readClosed) {
          this.dropStream(stream, new TransportClosedError(`the transport closed before stream ${stream.id} received the peer's FIN`))
        }
      }
    }
    this.terminate(undefined)
  }

  // =====================================================================
  // Receiving (FrameSink)
  // =====================================================================

  onHeader (header: FrameHeader): void {
    this.rxStream = undefined
    switch (header.type) {
      case FrameType.Data:
      case FrameType.WindowUpdate:
        this.onStreamHeader(header)
        break
      case FrameType.Ping:
        this.onPing(header)
        break
      default: // GoAway: the decoder admits no other type
        this.onRemoteGoAway(header.length)
        break
    }
  }

  onPayload (_header: FrameHeader, piece: Uint8Array): void {
    const stream = this.rxStream
    if (stream === undefined || stream.gone) { return }
    // the owner may hold a piece (a paused reader): a small view must not pin
    // the whole read it came from, so copy pieces under a quarter of it
    this.handler.onData(stream.id, piece.byteLength * 4 < piece.buffer.byteLength ? piece.slice() : piece)
  }

  onFrameEnd (header: FrameHeader): void {
    const stream = this.rxStream
    this.rxStream = undefined
    if (stream === undefined || (header.flags & Flag.FIN) === 0 || stream.gone || stream.readClosed) { return }
    stream.readClosed = true
    this.handler.onRemoteClose(stream.id)
    if (stream.writeState === WriteState.FinSent && !stream.gone) { this.forget(stream) }
  }

  private onStreamHeader (header: FrameHeader): void {
    const { flags, streamId: id, type, length } = header
    if (id === 0) {
      if ((flags & Flag.SYN) !== 0) { throw new UnexpectedFlagError('SYN on stream 0') }
      throw new InvalidMsgTypeError(`${type === FrameType.Data ? 'Data' : 'WindowUpdate'} frame on stream 0`)
    }
    let stream = this.streams.get(id)
    if ((flags & Flag.SYN) !== 0) {
      if (stream !== undefined) { throw new DuplicateStreamError(`duplicate SYN for stream ${id}`) }
      if ((id % 2 === 1) === this.client) {
        throw new UnexpectedFlagError(`SYN for stream ${id}, an id of ours: both ends have the same role`)
      }
      if (type === FrameType.Data && length > INITIAL_STREAM_WINDOW) {
        throw new ReceiveWindowExceededError(`SYN frame of stream ${id} carries ${length} bytes, more than the initial window`)
      }
      stream = this.acceptInbound(id)
      if (stream === undefined) { return }
    } else if (stream === undefined) {
      return // frames for closed or unknown streams are expected in flight: discard
    }

    if ((flags & Flag.ACK) !== 0 && stream.openState === OpenState.SynSent) { this.onAck(stream) }
    if (stream.writeState === WriteState.FinSent) { stream.lastHeardAt = this.env.now() }

    if ((flags & Flag.RST) !== 0) {
      // a WindowUpdate|RST carries an error code, not credit (libp2p/specs#622)
      this.dropStream(stream, new ConnectionResetError(), true)
      return
    }

    if (type === FrameType.WindowUpdate) {
      if (length > 0) { this.addSendCredit(stream, length) }
      this.rxStream = stream // for FIN
      return
    }

    if (length > stream.recvAvailable) {
      throw new ReceiveWindowExceededError(`stream ${id} received ${length} bytes with ${stream.recvAvailable} of window left`)
    }
    stream.recvAvailable -= length
    // data after the peer's FIN is a peer bug: discarded
    if (!stream.readClosed) { this.rxStream = stream }
  }

  private acceptInbound (id: number): StreamRecord | undefined {
    if (this.localGoAway || this.inboundCount >= this.config.maxInboundStreams ||
        this.unacceptedCount >= this.config.acceptBacklog || !this.windowBudgetFits()) {
      this.queueReset(id)
      return undefined
    }
    const stream = this.addStream(id, false)
    this.unacceptedCount++
    this.handler.onStream(id)
    return stream.gone ? undefined : stream
  }

  private onAck (stream: StreamRecord): void {
    stream.openState = OpenState.Established
    this.ackBacklog--
    this.releaseHeldOpens()
  }

  private addSendCredit (stream: StreamRecord, delta: number): void {
    const window = stream.sendWindow + delta
    if (window > MAX_U32) {
      throw new WindowOverflowError(`window update for stream ${stream.id} takes its window past 2^32-1`)
    }
    const wasEmpty = stream.sendWindow === 0
    stream.sendWindow = window
    if (wasEmpty && stream.queued > 0) { this.needData(stream) }
    if (stream.wantsWritable) {
      this.markWritableCandidate(stream)
      this.scheduleFlush()
    }
  }

  private onPing (header: FrameHeader): void {
    if ((header.flags & Flag.SYN) !== 0) {
      if (this.pendingPongs.length < MAX_PENDING_PONGS) {
        this.pendingPongs.push(header.length)
        this.scheduleFlush()
      }
      return
    }
    if ((header.flags & Flag.ACK) !== 0 && this.pingInFlight && header.length === this.pingId) {
      // unsolicited or stale pongs are ignored: go and hashicorp peers may send them late
      const rtt = Math.max(this.env.now() - this.pingSentAt, 0)
      this.srtt = this.srtt === 0 ? rtt : (this.srtt * 7 + rtt) / 8
      this.pingInFlight = false
      this.pingForKeepAlive = false
      const callbacks = this.pingCallbacks
      this.pingCallbacks = []
      for (const callback of callbacks) { callback(undefined, rtt) }
    }
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
    for (let i = this.heldHead; i < this.heldOpens.length; i++) {
      const stream = this.heldOpens[i]
      if (!stream.gone) { this.dropStream(stream, error) }
    }
    this.heldOpens.length = 0
    this.heldHead = 0
    this.handler.onGoAway(code)
  }

  // =====================================================================
  // Stream bookkeeping
  // =====================================================================

  /**
   * Whether another stream's receive window fits in maxSessionWindowSize. A
   * new stream's window is granted by the spec the moment it exists (the
   * peer may send 256 KiB at once), so the budget is kept by refusing
   * streams, not by withholding credit.
   */
  private windowBudgetFits (): boolean {
    return this.windowTotal + this.config.initialStreamWindowSize <= this.config.maxSessionWindowSize
  }

  private addStream (id: number, outbound: boolean): StreamRecord {
    const stream = new StreamRecord(id, outbound, this.config.initialStreamWindowSize, this.config.maxStreamWindowSize, this.env.now())
    this.streams.set(id, stream)
    this.windowTotal += stream.recvWindow
    if (outbound) { this.outboundCount++ } else { this.inboundCount++ }
    return stream
  }

  /** Puts a newly opened stream of ours on the wire (SYN with its first frame). */
  private activate (stream: StreamRecord, now = this.env.now()): void {
    stream.held = false
    this.ackBacklog++
    stream.openState = OpenState.SynSent
    if (this.config.streamOpenTimeout > 0) {
      stream.openDeadline = now + this.config.streamOpenTimeout
      this.openDeadlines = this.pushDeadline(this.openDeadlines, stream, isAwaitingAck)
      this.armTimer(stream.openDeadline)
    }
    if (stream.hasSendable()) { this.needData(stream) }
    this.needUpdate(stream)
  }

  private releaseHeldOpens (): void {
    if (this.ending) { return }
    while (this.heldHead < this.heldOpens.length && this.ackBacklog < this.config.maxAckBacklog) {
      const stream = this.heldOpens[this.heldHead++]
      if (!stream.gone) { this.activate(stream) }
    }
    if (this.heldHead === this.heldOpens.length) {
      this.heldOpens.length = 0
      this.heldHead = 0
    }
  }

  /** Local reset: RST on the wire if the peer knows the stream, then forget it. */
  private resetStream (stream: StreamRecord): void {
    if (!stream.held) { this.queueReset(stream.id) }
    this.forget(stream)
  }

  /** Ends a stream for a reason the owner did not cause, and tells it. */
  private dropStream (stream: StreamRecord, error: YamuxError, remote = false): void {
    this.forget(stream, false)
    this.handler.onStreamReset(stream.id, error, remote)
  }

  private forget (stream: StreamRecord, notify = true): void {
    if (stream.gone) { return }
    stream.gone = true
    this.streams.delete(stream.id)
    this.windowTotal -= stream.recvWindow
    this.queuedTotal -= stream.queued
    stream.clearQueue()
    if (stream.outbound) {
      this.outboundCount--
      if (stream.openState === OpenState.SynSent) {
        this.ackBacklog--
        this.releaseHeldOpens()
      }
    } else {
      this.inboundCount--
      if (stream.openState === OpenState.AcceptPending) { this.unacceptedCount-- }
    }
    if (notify) { this.handler.onStreamClosed(stream.id) }
  }

  private needData (stream: StreamRecord): void {
    if (!stream.inDataLane && stream.hasSendable()) {
      stream.inDataLane = true
      this.dataLane.push(stream)
    }
    this.scheduleFlush()
  }

  private needUpdate (stream: StreamRecord): void {
    if (stream.held) { return }
    if (!stream.inUpdateLane) {
      stream.inUpdateLane = true
      this.updateLane.push(stream)
    }
    this.scheduleFlush()
  }

  private waitWritable (stream: StreamRecord): void {
    stream.wantsWritable = true
    this.markWritableCandidate(stream)
  }

  /**
   * A waiting stream's room may have changed (credit arrived, a frame left):
   * check it after the flush. Only such streams are looked at, so thousands
   * of streams stalled on their windows cost nothing per flush.
   */
  private markWritableCandidate (stream: StreamRecord): void {
    if (!stream.writableCheckPending) {
      stream.writableCheckPending = true
      this.writableCandidates.push(stream)
    }
  }

  private queueReset (id: number): void {
    if (this.blocked && this.pendingResets.length >= MAX_PENDING_CONTROL_FRAMES) {
      this.fail(new ConnectionWriteTimeoutError('too many control frames queued while the transport is not accepting writes'))
      return
    }
    this.pendingResets.push(id)
    this.scheduleFlush()
  }

  // =====================================================================
  // Sending
  // =====================================================================

  private scheduleFlush (): void {
    if (this.flushScheduled || this.closed) { return }
    this.flushScheduled = true
    this.env.defer(this.flushTask)
  }

  /** Emits pending frames until done or the transport asks us to wait. */
  private flush (): void {
    if (this.closed || this.blocked) { return }
    const batch = this.batch

    // control frames first: they are small and unblock the peer
    for (const value of this.pendingPongs) { batch.header(FrameType.Ping, Flag.ACK, 0, value) }
    this.pendingPongs.length = 0
    if (this.pendingPingId >= 0) {
      batch.header(FrameType.Ping, Flag.SYN, 0, this.pendingPingId)
      this.pendingPingId = -1
    }
    for (const id of this.pendingResets) { batch.header(FrameType.WindowUpdate, Flag.RST, id, 0) }
    this.stats.framesSent += this.pendingResets.length
    this.pendingResets.length = 0
    this.emitWindowUpdates()

    // then data, one frame per stream per turn
    let lane = this.dataLane
    while (lane.length > 0) {
      this.dataLane = []
      for (let i = 0; i < lane.length; i++) {
        const stream = lane[i]
        stream.inDataLane = false
        if (stream.gone || !stream.hasSendable()) { continue }
        if (this.blocked) {
          // keep the rest for the next flush
          stream.inDataLane = true
          this.dataLane.push(stream)
          continue
        }
        this.emitDataFrame(stream)
        if (stream.hasSendable()) {
          stream.inDataLane = true
          this.dataLane.push(stream)
        }
        if (batch.byteLength >= FLUSH_BATCH_BYTES) { this.emitBatch() }
      }
      lane = this.dataLane
      if (this.blocked || this.closed) { break }
    }

    if (this.localGoAway && !this.goAwaySent && this.dataLane.length === 0 && !this.blocked && !this.closed) {
      this.emitGoAway(GoAwayCode.NormalTermination, false)
    }
    if (!batch.isEmpty && !this.closed) { this.emitBatch() }
    if (!this.blocked && !this.closed) { this.notifyWritable() }
  }

  private emitWindowUpdates (): void {
    const lane = this.updateLane
    for (let i = 0; i < lane.length; i++) {
      const stream = lane[i]
      stream.inUpdateLane = false
      if (stream.gone) { continue }
      const credit = this.takeCredit(stream)
      let flags = stream.pendingFlags
      if (credit === 0 && flags === 0) { continue }
      if (credit === 0 && stream.hasSendable()) {
        // SYN/ACK without credit ride on the stream's first data frame, sent
        // now (while the batch has room) so streams open in creation order;
        // otherwise the data lane carries them later
        if (!this.blocked && this.batch.byteLength < FLUSH_BATCH_BYTES) {
          this.emitDataFrame(stream)
          if (this.batch.byteLength >= FLUSH_BATCH_BYTES) { this.emitBatch() }
        }
        if (!stream.inDataLane && stream.hasSendable()) {
          stream.inDataLane = true
          this.dataLane.push(stream)
        }
        continue
      }
      stream.pendingFlags = 0
      if (stream.writeState === WriteState.FinPending && stream.queued === 0) {
        flags |= Flag.FIN
        this.finSent(stream)
      }
      this.batch.header(FrameType.WindowUpdate, flags, stream.id, credit)
      this.stats.framesSent++
      this.stats.windowUpdatesSent++
      if (credit > 0) { this.stats.creditUpdatesSent++ }
    }
    lane.length = 0
  }

  /** Credit to grant now: consumption, initial extra window and auto-tuned growth. */
  private takeCredit (stream: StreamRecord): number {
    if (stream.readClosed) {
      stream.consumed = 0
      stream.creditOwed = 0
      return 0
    }
    let growth = 0
    const now = this.env.now()
    const window = stream.recvWindow
    if (stream.consumed * 2 >= window) {
      // QUIC-style tuning: half the window went in under two RTTs, so the
      // window, not the link, limits the sender; double it (within limits)
      const rtt = this.srtt > MIN_TUNING_RTT ? this.srtt : MIN_TUNING_RTT
      if (this.srtt > 0 && now - stream.lastUpdateAt < 2 * rtt && window < stream.maxRecvWindow) {
        const budget = this.config.maxSessionWindowSize - this.windowTotal
        growth = Math.min(window, stream.maxRecvWindow - window, budget > 0 ? budget : 0)
        stream.recvWindow += growth
        this.windowTotal += growth
      }
    } else if (stream.creditOwed === 0) {
      return 0
    }
    const credit = stream.consumed + stream.creditOwed + growth
    stream.consumed = 0
    stream.creditOwed = 0
    stream.recvAvailable += credit
    stream.lastUpdateAt = now
    return credit
  }

  private emitDataFrame (stream: StreamRecord): void {
    const batch = this.batch
    let n = stream.headLength()
    if (n > stream.sendWindow) { n = stream.sendWindow }
    if (n > this.config.maxFrameSize) { n = this.config.maxFrameSize }
    let flags = stream.pendingFlags
    stream.pendingFlags = 0
    // FIN travels on its own empty frame, never with a payload:
    // @chainsafe/libp2p-yamux 8 applies FIN before the data and drops it
    const last = stream.queued === 0 && stream.writeState === WriteState.FinPending
    if (last) { flags |= Flag.FIN }
    if (n === 0) {
      batch.header(FrameType.WindowUpdate, flags, stream.id, 0)
      this.stats.windowUpdatesSent++
    } else {
      batch.header(FrameType.Data, flags, stream.id, n)
      stream.sendWindow -= n
      this.queuedTotal -= n
      batch.payload(stream.takeHead(n))
      if (stream.wantsWritable) { this.markWritableCandidate(stream) }
      this.stats.dataFramesSent++
    }
    this.stats.framesSent++
    if (last) { this.finSent(stream) }
  }

  private finSent (stream: StreamRecord): void {
    stream.writeState = WriteState.FinSent
    if (stream.readClosed) {
      this.forget(stream)
    } else if (this.config.streamCloseTimeout > 0) {
      stream.lastHeardAt = this.env.now()
      stream.closeDeadline = stream.lastHeardAt + this.config.streamCloseTimeout
      this.closeDeadlines = this.pushDeadline(this.closeDeadlines, stream, isHalfClosed)
      this.armTimer(stream.closeDeadline)
    }
  }

  /**
   * Appends to a deadline queue. Entries are dropped lazily (when the timer
   * reaches them), so under heavy churn a queue would hold every stream of
   * the last timeout period: past twice the live streams it is compacted to
   * the entries still waiting, which keeps it O(live streams), amortised O(1).
   */
  private pushDeadline (queue: StreamRecord[], stream: StreamRecord, waiting: (s: StreamRecord) => boolean): StreamRecord[] {
    queue.push(stream)
    if (queue.length > 2 * this.streams.size + 64) { return queue.filter(waiting) }
    return queue
  }

  private emitBatch (): void {
    const bytes = this.batch.byteLength
    const chunks = this.batch.take()
    this.stats.transportWrites++
    this.stats.bytesWritten += bytes
    let more: boolean
    try {
      more = this.handler.write(chunks, bytes)
    } catch (err) {
      this.fail(err instanceof YamuxError ? err : new TransportError(`transport write failed: ${errorMessage(err)}`, err))
      return
    }
    if (!more && !this.blocked) {
      this.blocked = true
      this.blockedSince = this.env.now()
      this.blockedQueued = this.handler.queuedBytes?.() ?? 0
      this.armTimer(this.nextStallCheck(this.blockedSince))
    }
  }

  /**
   * When to look at a blocked transport next: at the write timeout, or, if
   * the owner reports what the transport holds, every quarter of it to see
   * whether bytes left (progress restarts the timeout).
   */
  private nextStallCheck (now: number): number {
    const timeout = this.config.connectionWriteTimeout
    const deadline = this.blockedSince + timeout
    return this.handler.queuedBytes === undefined ? deadline : Math.min(deadline, now + timeout / 4)
  }

  private notifyWritable (): void {
    const bound = this.config.maxSessionSendQueue
    if (this.queueWaiters.length > 0 && this.queuedTotal * 2 <= bound) {
      // half the session-wide bound is free again: every stream it held may retry
      const waiters = this.queueWaiters
      this.queueWaiters = []
      for (let i = 0; i < waiters.length; i++) {
        waiters[i].waitingForQueue = false
        this.markWritableCandidate(waiters[i])
      }
    }
    if (this.writableCandidates.length === 0) { return }
    // a callback may write again and be refused: it then joins a fresh list
    const candidates = this.writableCandidates
    this.writableCandidates = []
    for (let i = 0; i < candidates.length; i++) {
      const stream = candidates[i]
      stream.writableCheckPending = false
      if (!stream.wantsWritable) { continue }
      if (stream.gone || stream.writeState !== WriteState.Open) {
        stream.wantsWritable = false
      } else if (stream.room(MAX_STREAM_SEND_QUEUE) > 0 && stream.queued < this.config.maxFrameSize) {
        if (this.queuedTotal >= bound) {
          // streams told earlier in this loop took the room: wait for the next half
          this.waitForQueue(stream)
          continue
        }
        stream.wantsWritable = false
        try {
          this.handler.onWritable(stream.id)
        } catch (err) {
          // one throwing callback must not wedge the other streams
          this.ownerFailed(stream, err)
          if (this.closed) { return }
        }
      }
    }
  }

  /** The owner threw while handling stream `stream`: reset that stream only. */
  private ownerFailed (stream: StreamRecord, err: unknown): void {
    if (stream.gone) { return }
    if (!stream.held) { this.queueReset(stream.id) }
    if (this.closed) { return }
    try {
      this.dropStream(stream, new InternalError(`stream ${stream.id} handler threw: ${errorMessage(err)}`, err))
    } catch { /* the owner is already failing for this stream */ }
  }

  private emitGoAway (code: GoAwayCode, force: boolean): void {
    this.goAwaySent = true
    this.batch.header(FrameType.GoAway, 0, 0, code)
    this.stats.framesSent++
    if (force) {
      const bytes = this.batch.byteLength
      const chunks = this.batch.take()
      this.stats.transportWrites++
      this.stats.bytesWritten += bytes
      // best effort: the session is ending whether or not the transport takes it
      try { this.handler.write(chunks, bytes) } catch { /* the transport is failing too */ }
    }
  }

  /** Sends a ping unless one is in flight; `keepAlive` pings end the session when unanswered. */
  private sendPing (keepAlive: boolean): void {
    if (keepAlive) { this.pingForKeepAlive = true }
    if (this.pingInFlight) { return }
    this.pingId = (this.pingId + 1) >>> 0
    this.pingInFlight = true
    this.pingSentAt = this.env.now()
    this.pendingPingId = this.pingId
    this.armTimer(this.pingSentAt + this.config.connectionWriteTimeout)
    this.scheduleFlush()
  }

  // =====================================================================
  // Timers
  // =====================================================================

  /** Makes sure the timer fires no later than `at`. */
  private armTimer (at: number): void {
    if (this.closed || at >= this.timerAt) { return }
    if (this.timerArmed) { this.env.clearTimer(this.timer) }
    this.timerAt = at
    this.timerArmed = true
    this.timer = this.env.setTimer(this.timerTask, Math.max(at - this.env.now(), 0))
  }

  private onTimer (): void {
    if (this.closed) { return }
    const now = this.env.now()
    const config = this.config
    let next = Infinity

    if (this.blocked) {
      const queued = this.handler.queuedBytes?.()
      if (queued !== undefined && queued < this.blockedQueued) {
        // bytes left since the last look: a slow link, not a dead one
        this.blockedSince = now
        this.blockedQueued = queued
      } else if (now - this.blockedSince >= config.connectionWriteTimeout) {
        this.fail(new ConnectionWriteTimeoutError())
        return
      }
      next = Math.min(next, this.nextStallCheck(now))
    }

    if (this.pingInFlight) {
      const deadline = this.pingSentAt + config.connectionWriteTimeout
      if (now >= deadline) {
        this.pingInFlight = false
        const keepAlive = this.pingForKeepAlive
        this.pingForKeepAlive = false
        const callbacks = this.pingCallbacks
        this.pingCallbacks = []
        for (const callback of callbacks) { callback(new TimeoutError('ping timed out'), -1) }
        if (keepAlive) {
          this.fail(new KeepAliveTimeoutError())
          return
        }
      } else {
        next = Math.min(next, deadline)
      }
    }

    if (config.enableKeepAlive) {
      if (now >= this.nextKeepAliveAt) {
        // only an idle session is pinged: any frame from the peer proves it alive
        if (!this.heardFromPeer) { this.sendPing(true) }
        this.heardFromPeer = false
        this.nextKeepAliveAt = now + config.keepAliveInterval
      }
      next = Math.min(next, this.nextKeepAliveAt)
      if (this.pingInFlight) { next = Math.min(next, this.pingSentAt + config.connectionWriteTimeout) }
    }

    next = Math.min(next, this.expireOpens(now), this.expireCloses(now))
    if (this.closed) { return }
    if (next !== Infinity) { this.armTimer(next) }
  }

  /** Resets streams whose ACK is overdue; returns the next deadline. */
  private expireOpens (now: number): number {
    const deadlines = this.openDeadlines
    let i = 0
    for (; i < deadlines.length; i++) {
      const stream = deadlines[i]
      if (!isAwaitingAck(stream)) { continue }
      if (stream.openDeadline > now) { break }
      this.queueReset(stream.id)
      this.dropStream(stream, new TimeoutError(`stream ${stream.id} was not acknowledged in time`))
      if (this.closed) { return Infinity }
    }
    deadlines.splice(0, i)
    return deadlines.length > 0 ? deadlines[0].openDeadline : Infinity
  }

  /** Resets half-closed streams the peer went quiet on; returns the next deadline. */
  private expireCloses (now: number): number {
    const deadlines = this.closeDeadlines
    const timeout = this.config.streamCloseTimeout
    let i = 0
    let requeued = false
    const requeue: StreamRecord[] = []
    for (; i < deadlines.length; i++) {
      const stream = deadlines[i]
      if (!isHalfClosed(stream)) { continue }
      if (stream.closeDeadline > now) { break }
      const quietUntil = stream.lastHeardAt + timeout
      if (quietUntil > now) {
        // heard from since: wait out the rest of the quiet period
        stream.closeDeadline = quietUntil
        requeue.push(stream)
        requeued = true
        continue
      }
      this.queueReset(stream.id)
      this.dropStream(stream, new TimeoutError(`stream ${stream.id} half-closed without reply for ${timeout} ms`))
      if (this.closed) { return Infinity }
    }
    deadlines.splice(0, i)
    if (requeued) {
      for (const stream of requeue) { deadlines.push(stream) }
      deadlines.sort((a, b) => a.closeDeadline - b.closeDeadline)
    }
    return deadlines.length > 0 ? deadlines[0].closeDeadline : Infinity
  }

  // =====================================================================
  // Ending
  // =====================================================================

  /** Ends the session with an error, sending GoAway with `code` (the error's, by default) if there is one. */
  private fail (error: YamuxError, code = error.goAwayCode): void {
    if (this.closed) { return }
    this.config.logger?.('yamux session failed: %s', error.message)
    if (code !== undefined && !this.goAwaySent) {
      this.batch.take() // drop whatever was half-built
      this.emitGoAway(code, true)
    }
    this.terminate(error)
  }

  private terminate (error: YamuxError | undefined): void {
    this.closed = true
    this.ending = true
    this.queuedTotal = 0
    this.queueWaiters = []
    // frames after the end, even later in the chunk being decoded, are ignored
    this.decoder.stop()
    if (this.timerArmed) { this.env.clearTimer(this.timer) }
    this.timerArmed = false
    this.timerAt = -Infinity // never arm again
    for (const stream of this.streams.values()) {
      stream.gone = true
      stream.clearQueue()
    }
    this.streams.clear()
    this.dataLane = []
    this.updateLane.length = 0
    this.writableCandidates.length = 0
    this.heldOpens.length = 0
    this.openDeadlines.length = 0
    this.closeDeadlines.length = 0
    this.pendingPongs.length = 0
    this.pendingResets.length = 0
    const callbacks = this.pingCallbacks
    this.pingCallbacks = []
    for (const callback of callbacks) { callback(error ?? new SessionShutdownError(), -1) }
    this.handler.onClose(error)
  }
}

function isAwaitingAck (stream: StreamRecord): boolean {
  return !stream.gone && stream.openState === OpenState.SynSent
}

function isHalfClosed (stream: StreamRecord): boolean {
  return !stream.gone
}

function toYamuxError (err: unknown): YamuxError {
  if (err instanceof YamuxError) { return err }
  return new InternalError(errorMessage(err), err)
}

function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
