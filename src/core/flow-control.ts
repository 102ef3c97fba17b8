/**
 * Flow control of one stream: charging received data against the receive
 * window, returning credit as the owner consumes (one update per half
 * window), growing a busy stream's window and auto-tuning it with the RTT
 * under the session budget, and u32-checked send credit. Functions over a
 * StreamRecord, no I/O.
 */
import { MAX_U32, MIN_BUSY_STREAM_WINDOW } from './constants.ts'
import { ReceiveWindowExceededError, WindowOverflowError } from './errors.ts'
import type { StreamRecord } from './stream-record.ts'

/**
 * Sub-millisecond RTTs measured on an idle event loop understate how long
 * credit takes to come back under load; tuning never assumes less than this.
 */
export const MIN_TUNING_RTT = 1

/**
 * The receive windows a session may grant in all (maxSessionWindowSize).
 * Every live stream's window is counted, its initial one included.
 */
export class WindowBudget {
  readonly limit: number
  used = 0

  constructor (limit: number) {
    this.limit = limit
  }

  /** Whether a window of `bytes` more fits. */
  fits (bytes: number): boolean {
    return this.used + bytes <= this.limit
  }

  /** Takes up to `want` bytes of what is left; returns how many. */
  grow (want: number): number {
    const left = Math.max(this.limit - this.used, 0)
    const granted = want < left ? want : left
    this.used += granted
    return granted
  }
}

/**
 * Charges a Data frame of `length` bytes against the stream's receive
 * window. Throws ReceiveWindowExceededError if the peer had no such credit.
 */
export function chargeReceive (stream: StreamRecord, length: number): void {
  if (length > stream.recvAvailable) {
    throw new ReceiveWindowExceededError(`stream ${stream.id} received ${length} bytes with ${stream.recvAvailable} of window left`)
  }
  stream.recvAvailable -= length
}

/**
 * Records `bytes` the owner consumed. Returns true when a window update is
 * due: half of the window the peer knows of is consumed (extra initial
 * credit not yet granted does not count). Never after the peer's FIN: it
 * cannot send more (js-libp2p#2505).
 */
export function recordConsumed (stream: StreamRecord, bytes: number): boolean {
  stream.consumed += bytes
  return !stream.readClosed && stream.consumed * 2 >= stream.recvWindow - stream.creditOwed
}

/**
 * Credit to grant now: what was consumed, the initial extra window, and
 * auto-tuned growth. Resets the stream's counters as if the grant was sent.
 * `srtt` is the smoothed RTT in ms (-1 before the first pong);
 * `firstPingSettled` says the session's first ping came back or failed
 * (or the session does not wait for it: growAfterFirstPing off): until then
 * no window grows.
 */
export function takeCredit (stream: StreamRecord, now: number, srtt: number, budget: WindowBudget, firstPingSettled = srtt >= 0): number {
  if (stream.readClosed) {
    stream.consumed = 0
    stream.creditOwed = 0
    return 0
  }
  let growth = 0
  const window = stream.recvWindow
  if (stream.consumed * 2 >= window) {
    const room = stream.maxRecvWindow - window
    if (window < MIN_BUSY_STREAM_WINDOW) {
      // a stream that moves data gets a window that needs few updates, once
      // the session's first ping is settled: a 1 MiB burst in the first round
      // trip of a fresh TCP connection can leave Linux's receive-buffer
      // tuning stuck at ~140 KB for the rest of the connection (its
      // receiver then reads the queue dry at every wake-up). A peer that
      // never answers delays the jump by the ping's timeout, no more. A
      // connection that carried round trips before the session started
      // (libp2p's upgrade) is past that risk: its adapters skip the wait
      if (firstPingSettled) { growth = budget.grow(Math.min(MIN_BUSY_STREAM_WINDOW - window, room)) }
    } else if (room > 0 && srtt >= 0 && now - stream.lastUpdateAt < 2 * Math.max(srtt, MIN_TUNING_RTT)) {
      // QUIC-style tuning: half the window went in under two RTTs, so the
      // window, not the link, limits the sender; double it (within limits)
      growth = budget.grow(Math.min(window, room))
    }
    stream.recvWindow += growth
  } else if (stream.creditOwed === 0) {
    return 0
  }
  // credit for a frame still arriving waits for its end: a grant that cut
  // the sender's frames would leave it a window ending mid-frame, and every
  // later frame would be cut in two (silly window syndrome)
  const held = stream.rxPartial < stream.consumed ? stream.rxPartial : stream.consumed
  const credit = stream.consumed - held + stream.creditOwed + growth
  if (credit === 0) { return 0 }
  stream.consumed = held
  stream.creditOwed = 0
  stream.recvAvailable += credit
  // whole ms, rounded down like the creation time: see wholeMs()
  stream.lastUpdateAt = Math.floor(now)
  return credit
}

/**
 * Adds the peer's grant of `delta` bytes to the send window. Throws
 * WindowOverflowError past 2^32-1. Returns whether the window was empty
 * (queued data may move again).
 */
export function addSendCredit (stream: StreamRecord, delta: number): boolean {
  const window = stream.sendWindow + delta
  if (window > MAX_U32) {
    throw new WindowOverflowError(`window update for stream ${stream.id} takes its window past 2^32-1`)
  }
  const wasEmpty = stream.sendWindow === 0
  stream.sendWindow = window
  return wasEmpty
}
