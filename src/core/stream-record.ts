/**
 * The core's view of one stream: handshake state, the send queue and window,
 * and the receive window. Plain fields, no behaviour beyond bookkeeping: the
 * session decides what goes on the wire. Kept small (one is held per live
 * stream): the yes/no facts share one integer, the send queue exists only
 * once something is queued, and idle streams hold no fractional clock
 * readings (each would be a heap number of its own).
 */
import { INITIAL_STREAM_WINDOW } from './constants.ts'

/** Where the opening handshake of a stream stands. */
export enum OpenState {
  /** Ours, SYN not yet sent: waiting for room in the ACK backlog or for a flush. */
  SynPending = 0,
  /** Ours, SYN sent, no ACK yet. */
  SynSent = 1,
  /** Theirs, not yet accepted by the application (no ACK sent). */
  AcceptPending = 2,
  /** Handshake done (or ACK queued for our next frame). */
  Established = 3
}

/** Our sending half. */
export enum WriteState {
  Open = 0,
  /** close requested: FIN leaves with the last queued byte. */
  FinPending = 1,
  FinSent = 2
}

// the bits of StreamRecord.bits
const OUTBOUND = 1
const GONE = 2
const HELD = 4
const IN_DATA_LANE = 8
const WANTS_WRITABLE = 16
const WRITABLE_CHECK_PENDING = 32
const WAITING_FOR_QUEUE = 64
const READ_CLOSED = 128
const IN_UPDATE_LANE = 256

/**
 * A clock reading as stored in a record: whole milliseconds, rounded up (a
 * deadline never comes early). Fractional readings would turn these fields
 * from small integers into heap numbers on first use, which changes the
 * record's hidden class while streams run (see RECORD_SHAPE below).
 */
export function wholeMs (t: number): number {
  return Math.ceil(t)
}

export class StreamRecord {
  readonly id: number
  openState: OpenState
  /** SYN/ACK bits owed to the peer, sent on this stream's next frame. */
  pendingFlags = 0
  /** The yes/no facts below, one bit each. */
  private bits: number

  // ---- send side ----
  /** Bytes the peer lets us send beyond what we already sent. */
  sendWindow = INITIAL_STREAM_WINDOW
  /** Writes not yet framed, oldest first from `queueHead`; created by the first write. */
  private queue: Uint8Array[] | undefined = undefined
  queueHead = 0
  /** Bytes in `queue` not yet framed. */
  queued = 0
  writeState: WriteState = WriteState.Open

  // ---- receive side ----
  /** The window size we aim to keep granted (grows by auto-tuning). */
  recvWindow: number
  /** Auto-tuning stops here (the session's maxStreamWindowSize unless the owner set less). */
  maxRecvWindow: number
  /** Bytes the peer may still send before it runs out of credit. */
  recvAvailable = INITIAL_STREAM_WINDOW
  /** Bytes consumed by the application, not yet returned as credit. */
  consumed = 0
  /**
   * Payload delivered of the Data frame still arriving. Its credit waits for
   * the frame's end, so grants stay whole multiples of the sender's frames.
   */
  rxPartial = 0
  /** Credit owed that is not consumption: the extra initial window. */
  creditOwed: number
  /** Clock reading at the last window update we sent (for auto-tuning); whole ms at creation. */
  lastUpdateAt: number
  /** Clock reading at the last frame received, tracked while half-closed (0 before). */
  lastHeardAt = 0
  /** When an ACK must have arrived (ours, SYN sent). */
  openDeadline = 0
  /** When a half-closed stream of ours is reset if still silent. */
  closeDeadline = 0

  constructor (id: number, outbound: boolean, recvWindow: number, maxRecvWindow: number, now: number) {
    this.id = id
    this.bits = outbound ? OUTBOUND : 0
    this.openState = outbound ? OpenState.SynPending : OpenState.AcceptPending
    this.recvWindow = recvWindow
    this.maxRecvWindow = maxRecvWindow
    this.creditOwed = recvWindow - INITIAL_STREAM_WINDOW
    // rounded down: a fractional reading is a heap number per idle stream, and
    // an earlier start only makes the first auto-tuning step less likely
    this.lastUpdateAt = Math.floor(now)
  }

  /** Ours (odd ids for a client), not the peer's. */
  get outbound (): boolean { return (this.bits & OUTBOUND) !== 0 }
  /** Set once forgotten by the session; lazy queues skip such records. */
  get gone (): boolean { return (this.bits & GONE) !== 0 }
  set gone (value: boolean) { this.set(GONE, value) }
  /** Held back by the ACK backlog (not yet in any send lane). */
  get held (): boolean { return (this.bits & HELD) !== 0 }
  set held (value: boolean) { this.set(HELD, value) }
  /** In the round-robin data lane. */
  get inDataLane (): boolean { return (this.bits & IN_DATA_LANE) !== 0 }
  set inDataLane (value: boolean) { this.set(IN_DATA_LANE, value) }
  /** A write was refused in part: tell the owner when room frees up. */
  get wantsWritable (): boolean { return (this.bits & WANTS_WRITABLE) !== 0 }
  set wantsWritable (value: boolean) { this.set(WANTS_WRITABLE, value) }
  /** Queued for a room check at the end of the next flush. */
  get writableCheckPending (): boolean { return (this.bits & WRITABLE_CHECK_PENDING) !== 0 }
  set writableCheckPending (value: boolean) { this.set(WRITABLE_CHECK_PENDING, value) }
  /** Refused by the session-wide send queue bound; in the session's waiter list. */
  get waitingForQueue (): boolean { return (this.bits & WAITING_FOR_QUEUE) !== 0 }
  set waitingForQueue (value: boolean) { this.set(WAITING_FOR_QUEUE, value) }
  /** The peer half-closed (FIN received). */
  get readClosed (): boolean { return (this.bits & READ_CLOSED) !== 0 }
  set readClosed (value: boolean) { this.set(READ_CLOSED, value) }
  /** In the control lane, owing a WindowUpdate (credit and/or flags). */
  get inUpdateLane (): boolean { return (this.bits & IN_UPDATE_LANE) !== 0 }
  set inUpdateLane (value: boolean) { this.set(IN_UPDATE_LANE, value) }

  private set (bit: number, value: boolean): void {
    this.bits = value ? this.bits | bit : this.bits & ~bit
  }

  /** Bytes a write may add to the queue now. */
  room (queueLimit: number): number {
    const byWindow = this.sendWindow - this.queued
    const byQueue = queueLimit - this.queued
    const room = byWindow < byQueue ? byWindow : byQueue
    return room > 0 ? room : 0
  }

  enqueue (data: Uint8Array): void {
    (this.queue ??= []).push(data)
    this.queued += data.byteLength
  }

  /** Bytes left in the oldest queued write. */
  headLength (): number {
    return this.queued === 0 ? 0 : this.queue![this.queueHead].byteLength
  }

  /**
   * Removes `n` bytes (at most the oldest write's) from the queue and returns
   * them as a view of the caller's buffer (no copy). Frames never span two
   * writes, so the peer sees the writer's boundaries up to the frame size.
   */
  takeHead (n: number): Uint8Array {
    const queue = this.queue!
    const head = queue[this.queueHead]
    this.queued -= n
    if (n < head.byteLength) {
      queue[this.queueHead] = head.subarray(n)
      return head.subarray(0, n)
    }
    queue[this.queueHead++] = EMPTY
    if (this.queueHead === queue.length) {
      queue.length = 0
      this.queueHead = 0
    } else if (this.queueHead > 64 && this.queueHead * 2 > queue.length) {
      queue.splice(0, this.queueHead)
      this.queueHead = 0
    }
    return head
  }

  clearQueue (): void {
    this.queue = undefined
    this.queueHead = 0
    this.queued = 0
  }

  /** Whether the data lane has something to put on the wire for this stream now. */
  hasSendable (): boolean {
    if (this.held) { return false }
    if (this.queued > 0) { return this.sendWindow > 0 }
    return this.writeState === WriteState.FinPending
  }
}

const EMPTY = new Uint8Array(0)

/**
 * One record that lives as long as the module. V8 keeps a hidden class only
 * while some object has it: when every stream of a session has ended and a
 * full GC runs, the class would go and every optimised function that works
 * on records would be thrown away, to be compiled again for the next
 * streams (measured: a 5x slower next transfer). This one keeps it alive.
 */
export const RECORD_SHAPE: StreamRecord = new StreamRecord(0, false, INITIAL_STREAM_WINDOW, INITIAL_STREAM_WINDOW, 0)
