/**
 * The core's view of one stream: handshake state, the send queue and window,
 * and the receive window. Plain fields, no behaviour beyond bookkeeping: the
 * session decides what goes on the wire.
 */
import { INITIAL_STREAM_WINDOW } from './constants.js'

/** Where the opening handshake of a stream stands. */
export const OpenState = {
  /** Ours, SYN not yet sent: waiting for room in the ACK backlog or for a flush. */
  SynPending: 0,
  /** Ours, SYN sent, no ACK yet. */
  SynSent: 1,
  /** Theirs, not yet accepted by the application (no ACK sent). */
  AcceptPending: 2,
  /** Handshake done (or ACK queued for our next frame). */
  Established: 3
} as const
export type OpenState = typeof OpenState[keyof typeof OpenState]

/** Our sending half. */
export const WriteState = {
  Open: 0,
  /** close requested: FIN leaves with the last queued byte. */
  FinPending: 1,
  FinSent: 2
} as const
export type WriteState = typeof WriteState[keyof typeof WriteState]

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

  // ---- receive side ----
  /** The window size we aim to keep granted (grows by auto-tuning). */
  recvWindow: number
  /** Bytes the peer may still send before it runs out of credit. */
  recvAvailable = INITIAL_STREAM_WINDOW
  /** Bytes consumed by the application, not yet returned as credit. */
  consumed = 0
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

  constructor (id: number, outbound: boolean, recvWindow: number, now: number) {
    this.id = id
    this.outbound = outbound
    this.openState = outbound ? OpenState.SynPending : OpenState.AcceptPending
    this.recvWindow = recvWindow
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

  /**
   * Removes up to `n` queued bytes, handing each piece to `take` as a view of
   * the caller's buffer (no copy).
   */
  dequeue (n: number, take: (piece: Uint8Array) => void): void {
    const queue = this.queue
    this.queued -= n
    while (n > 0) {
      const head = queue[this.queueHead]
      if (head.byteLength <= n) {
        take(head)
        n -= head.byteLength
        queue[this.queueHead++] = EMPTY
      } else {
        take(head.subarray(0, n))
        queue[this.queueHead] = head.subarray(n)
        n = 0
      }
    }
    if (this.queueHead === queue.length) {
      queue.length = 0
      this.queueHead = 0
    } else if (this.queueHead > 64 && this.queueHead * 2 > queue.length) {
      queue.splice(0, this.queueHead)
      this.queueHead = 0
    }
  }

  clearQueue (): void {
    this.queue.length = 0
    this.queueHead = 0
    this.queued = 0
  }

  /** Whether the data lane has something to put on the wire for this stream now. */
  hasSendable (): boolean {
    if (this.held) return false
    if (this.queued > 0) return this.sendWindow > 0
    return this.writeState === WriteState.FinPending
  }
}

const EMPTY = new Uint8Array(0)
