/**
 * The core's view of one stream: handshake state, the send queue and window,
 * and the receive window. Plain fields, no behaviour beyond bookkeeping: the
 * session decides what goes on the wire.
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

export class StreamRecord {
  readonly id: number
  readonly outbound: boolean
  openState: OpenState
  /** SYN/ACK bits owed to the peer, sent on this stream's next frame. */
  pendingFlags = 0
  /** Set once forgotten by the session; lazy queues skip such records. */
  gone = false
  /** Held back by the ACK backlog (not yet in any send lane). */
  held = false

  // ---- send side ----
  /** Bytes the peer lets us send beyond what we already sent. */
  sendWindow = INITIAL_STREAM_WINDOW
  readonly queue: Uint8Array[] = []
  queueHead = 0
  /** Bytes in `queue` not yet framed. */
  queued = 0
  writeState: WriteState = WriteState.Open
  /** In the round-robin data lane. */
  inDataLane = false
  /** A write was refused in part: tell the owner when room frees up. */
  wantsWritable = false
  /** Queued for a room check at the end of the next flush. */
  writableCheckPending = false
  /** Refused by the session-wide send queue bound; in the session's waiter list. */
  waitingForQueue = false

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
  /** Clock reading at the last window update we sent (for auto-tuning). */
  lastUpdateAt: number
  /** The peer half-closed (FIN received). */
  readClosed = false
  /** In the control lane, owing a WindowUpdate (credit and/or flags). */
  inUpdateLane = false
  /** Clock reading at the last frame received, tracked while half-closed. */
  lastHeardAt: number
  /** When an ACK must have arrived (ours, SYN sent). */
  openDeadline = 0
  /** When a half-closed stream of ours is reset if still silent. */
  closeDeadline = 0

  constructor (id: number, outbound: boolean, recvWindow: number, maxRecvWindow: number, now: number) {
    this.id = id
    this.outbound = outbound
    this.openState = outbound ? OpenState.SynPending : OpenState.AcceptPending
    this.recvWindow = recvWindow
    this.maxRecvWindow = maxRecvWindow
    this.creditOwed = recvWindow - INITIAL_STREAM_WINDOW
    this.lastUpdateAt = now
    this.lastHeardAt = now
  }

  /** Bytes a write may add to the queue now. */
  room (queueLimit: number): number {
    const byWindow = this.sendWindow - this.queued
    const byQueue = queueLimit - this.queued
    const room = byWindow < byQueue ? byWindow : byQueue
    return room > 0 ? room : 0
  }

  enqueue (data: Uint8Array): void {
    this.queue.push(data)
    this.queued += data.byteLength
  }

  /** Bytes left in the oldest queued write. */
  headLength (): number {
    return this.queued === 0 ? 0 : this.queue[this.queueHead].byteLength
  }

  /**
   * Removes `n` bytes (at most the oldest write's) from the queue and returns
   * them as a view of the caller's buffer (no copy). Frames never span two
   * writes, so the peer sees the writer's boundaries up to the frame size.
   */
  takeHead (n: number): Uint8Array {
    const queue = this.queue
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
    this.queue.length = 0
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
