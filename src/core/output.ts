/**
 * Output scheduling: everything produced in one tick leaves as one transport
 * write, control frames (pongs, pings, resets, window updates) first, then
 * data round-robin across streams; transport back-pressure, the bounds on
 * queued bytes, and telling held writers when they may write again.
 */
import {
  COPY_WRITES_UP_TO, Flag, FLUSH_BATCH_BYTES, FrameType, GoAwayCode, MAX_PENDING_CONTROL_FRAMES, MAX_PENDING_PONGS,
  WRITE_SLAB_SIZE
} from './constants.ts'
import { ConnectionWriteTimeoutError, TransportError, YamuxError } from './errors.ts'
import { OutputBatch } from './output-batch.ts'
import { SendRoom } from './send-room.ts'
import { WriteState } from './stream-record.ts'
import { WriteStall } from './write-stall.ts'
import type { SessionConfig } from './config.ts'
import type { SessionEnvironment, SessionHandler, SessionStats } from './session-types.ts'
import type { StreamRecord } from './stream-record.ts'

/** What output needs from the session around it. */
export interface OutputHost {
  /** Window credit to grant `stream` now (flow control); 0 for none. */
  takeCredit(stream: StreamRecord): number
  /** `stream`'s FIN was put in the batch. */
  finSent(stream: StreamRecord): void
  /** The transport failed, or control frames piled up while it refused writes. */
  fail(error: YamuxError): void
  /** The owner threw while told that `stream` may write. */
  ownerFailed(stream: StreamRecord, err: unknown): void
  /** The transport pushed back: look at it again at `at` (the write-stall timer). */
  checkStallAt(at: number): void
}

export class Output {
  private readonly env: SessionEnvironment
  private readonly handler: SessionHandler
  private readonly config: SessionConfig
  private readonly stats: SessionStats
  private readonly host: OutputHost
  private stopped = false

  private readonly batch = new OutputBatch()
  /** Small writes are copied into slabs (no allocation per write). */
  private slab = new Uint8Array(0)
  private slabPos = 0
  private flushScheduled = false
  private readonly flushTask = (): void => { this.flushScheduled = false; this.flush() }
  /**
   * Flushes one deferral later than scheduled: a caller that awaited the call
   * that queued a frame (createStream() queues the SYN) resumes first, so its
   * first write leaves in the same frame (SYN with data) and the same write.
   */
  private readonly flushAfterNext = (): void => { this.env.defer(this.flushTask) }

  // ---- control frames ----
  private readonly pendingPongs: number[] = []
  private pendingPingId = -1
  private readonly pendingResets: number[] = []
  /** Streams owing a WindowUpdate (credit and/or SYN/ACK flags). */
  private readonly updateLane: StreamRecord[] = []
  /** GoAway(0) waits for the data lane to empty. */
  private goAwayAfterData = false
  private goAwayWritten = false

  // ---- data ----
  private dataLane: StreamRecord[] = []
  private readonly room: SendRoom
  private readonly tellWritable = (stream: StreamRecord): boolean => {
    try {
      this.handler.onWritable(stream.id)
    } catch (err) {
      // one throwing callback must not wedge the other streams
      this.host.ownerFailed(stream, err)
    }
    return !this.stopped
  }

  // ---- back-pressure ----
  /** Transport back-pressure and write-timeout progress. */
  readonly stall: WriteStall

  constructor (env: SessionEnvironment, handler: SessionHandler, config: SessionConfig, stats: SessionStats, host: OutputHost) {
    this.env = env
    this.handler = handler
    this.config = config
    this.stats = stats
    this.host = host
    this.room = new SendRoom(config)
    this.stall = new WriteStall(handler, config)
  }

  /** True while the transport has asked us to wait. */
  get isBlocked (): boolean { return this.stall.blocked }
  /** Bytes accepted by writes on all streams that have not been framed yet. */
  get queuedBytes (): number { return this.room.queued }
  /** A GoAway has been put on the wire. */
  get goAwaySent (): boolean { return this.goAwayWritten }

  // =====================================================================
  // Accepting work
  // =====================================================================

  /**
   * Queues as much of `data` on `stream` as its window, its queue and the
   * session-wide bound allow; returns how many bytes were taken. Writes up
   * to COPY_WRITES_UP_TO are copied, larger ones referenced until framed.
   */
  write (stream: StreamRecord, data: Uint8Array): number {
    const length = data.byteLength
    const room = this.room.roomFor(stream)
    const taken = room < length ? room : length
    if (taken < length) { this.room.refused(stream) }
    if (taken === 0) { return 0 }
    const accepted = taken === length ? data : data.subarray(0, taken)
    stream.enqueue(taken <= COPY_WRITES_UP_TO ? this.copySmall(accepted) : accepted)
    this.room.queued += taken
    this.needData(stream)
    return taken
  }

  /** Bytes a write to `stream` could take now. */
  writableLength (stream: StreamRecord): number {
    return this.room.writableLength(stream)
  }

  /** `stream` may have data or a FIN to frame. */
  needData (stream: StreamRecord): void {
    if (!stream.inDataLane && stream.hasSendable()) {
      stream.inDataLane = true
      this.dataLane.push(stream)
    }
    this.schedule()
  }

  /** `stream` owes the peer a WindowUpdate (credit or SYN/ACK flags). */
  needUpdate (stream: StreamRecord): void {
    if (stream.held) { return }
    if (!stream.inUpdateLane) {
      stream.inUpdateLane = true
      this.updateLane.push(stream)
    }
    this.schedule()
  }

  /** The peer granted `stream` credit: its held writer may write again. */
  creditArrived (stream: StreamRecord, windowWasEmpty: boolean): void {
    if (windowWasEmpty && stream.queued > 0) { this.needData(stream) }
    if (stream.wantsWritable) {
      this.room.markCandidate(stream)
      this.schedule()
    }
  }

  /** Drops what `stream` had queued (it is gone). */
  dropQueue (stream: StreamRecord): void {
    this.room.queued -= stream.queued
    stream.clearQueue()
  }

  queuePing (id: number): void {
    this.pendingPingId = id
    this.schedule()
  }

  /** Answers a ping, unless MAX_PENDING_PONGS already wait (a flood while we cannot write). */
  queuePong (value: number): void {
    if (this.pendingPongs.length < MAX_PENDING_PONGS) {
      this.pendingPongs.push(value)
      this.schedule()
    }
  }

  /** Queues RST for stream `id`; fails the session if resets pile up while the transport is blocked. */
  queueReset (id: number): void {
    if (this.stall.blocked && this.pendingResets.length >= MAX_PENDING_CONTROL_FRAMES) {
      this.host.fail(new ConnectionWriteTimeoutError('too many control frames queued while the transport is not accepting writes'))
      return
    }
    this.pendingResets.push(id)
    this.schedule()
  }

  /** GoAway(0) leaves once the queued data has. */
  goAwayWhenDrained (): void {
    this.goAwayAfterData = true
    this.schedule()
  }

  /**
   * Writes GoAway(`code`) at once, with whatever the batch holds unless
   * `discard` (a failing session drops half-built frames). Best effort: the
   * session is ending whether or not the transport takes it.
   */
  goAwayNow (code: GoAwayCode, discard: boolean): void {
    if (this.goAwayWritten) { return }
    if (discard) { this.batch.take() }
    this.goAwayWritten = true
    this.batch.header(FrameType.GoAway, 0, 0, code)
    this.stats.framesSent++
    const bytes = this.batch.byteLength
    const chunks = this.batch.take()
    this.stats.transportWrites++
    this.stats.bytesWritten += bytes
    try { this.handler.write(chunks, bytes) } catch { /* the transport is failing too */ }
  }

  /** The transport can take writes again. */
  transportDrained (): void {
    if (!this.stall.blocked || this.stopped) { return }
    this.stall.blocked = false
    this.flush()
  }

  /** The session ended: nothing more is written, every queue is dropped. */
  stop (): void {
    this.stopped = true
    this.room.clear()
    this.dataLane = []
    this.updateLane.length = 0
    this.pendingPongs.length = 0
    this.pendingResets.length = 0
  }

  // =====================================================================
  // Flushing
  // =====================================================================

  schedule (): void {
    if (this.flushScheduled || this.stopped) { return }
    this.flushScheduled = true
    this.env.defer(this.flushAfterNext)
  }

  /** Emits pending frames until done or the transport asks us to wait. */
  flush (): void {
    if (this.stopped || this.stall.blocked) { return }
    this.emitControl()
    this.emitData()
    if (this.goAwayAfterData && !this.goAwayWritten && this.dataLane.length === 0 && !this.stall.blocked && !this.stopped) {
      this.goAwayWritten = true
      this.batch.header(FrameType.GoAway, 0, 0, GoAwayCode.NormalTermination)
      this.stats.framesSent++
    }
    if (!this.batch.isEmpty && !this.stopped) { this.emitBatch() }
    if (!this.stall.blocked && !this.stopped) { this.room.notify(this.tellWritable) }
  }

  /** Control frames first: they are small and unblock the peer. */
  private emitControl (): void {
    const batch = this.batch
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
  }

  /** Then data, one frame per stream per turn. */
  private emitData (): void {
    let lane = this.dataLane
    while (lane.length > 0) {
      this.dataLane = []
      for (let i = 0; i < lane.length; i++) {
        const stream = lane[i]
        stream.inDataLane = false
        if (stream.gone || !stream.hasSendable()) { continue }
        if (this.stall.blocked) {
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
        if (this.batch.byteLength >= FLUSH_BATCH_BYTES) { this.emitBatch() }
      }
      lane = this.dataLane
      if (this.stall.blocked || this.stopped) { break }
    }
  }

  private emitWindowUpdates (): void {
    const lane = this.updateLane
    for (let i = 0; i < lane.length; i++) {
      const stream = lane[i]
      stream.inUpdateLane = false
      if (stream.gone) { continue }
      const credit = this.host.takeCredit(stream)
      let flags = stream.pendingFlags
      if (credit === 0 && flags === 0) { continue }
      if (credit === 0 && stream.hasSendable() && (this.config.synOnData || (flags & Flag.SYN) === 0)) {
        // SYN/ACK without credit ride on the stream's first data frame, sent
        // now (while the batch has room) so streams open in creation order;
        // otherwise the data lane carries them later
        if (!this.stall.blocked && this.batch.byteLength < FLUSH_BATCH_BYTES) {
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
      if (flags !== 0 && credit > 0) {
        // a window above 256 KiB is granted after the SYN/ACK, not on it:
        // yamux-js 0.2 ignores a delta carried by SYN, every peer reads this
        this.batch.header(FrameType.WindowUpdate, flags, stream.id, 0)
        this.stats.framesSent++
        this.stats.windowUpdatesSent++
        flags = 0
      }
      if (stream.writeState === WriteState.FinPending && stream.queued === 0) {
        flags |= Flag.FIN
        this.host.finSent(stream)
      }
      this.batch.header(FrameType.WindowUpdate, flags, stream.id, credit)
      this.stats.framesSent++
      this.stats.windowUpdatesSent++
      if (credit > 0) { this.stats.creditUpdatesSent++ }
    }
    lane.length = 0
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
      this.room.queued -= n
      batch.payload(stream.takeHead(n))
      if (stream.wantsWritable) { this.room.markCandidate(stream) }
      this.stats.dataFramesSent++
    }
    this.stats.framesSent++
    if (last) { this.host.finSent(stream) }
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
      this.host.fail(err instanceof YamuxError ? err : new TransportError(`transport write failed: ${err instanceof Error ? err.message : String(err)}`, err))
      return
    }
    if (!more && !this.stall.blocked) { this.host.checkStallAt(this.stall.refused(this.env.now())) }
  }

  /** Copies a small write into the current slab. */
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
}
