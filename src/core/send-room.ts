/**
 * Room for writers: the bytes queued across all streams (bounded by
 * maxSessionSendQueue), and telling streams whose writes were refused when
 * they may write again, looking only at streams whose room changed.
 */
import { MAX_STREAM_SEND_QUEUE } from './constants.ts'
import { WriteState } from './stream-record.ts'
import type { SessionConfig } from './config.ts'
import type { StreamRecord } from './stream-record.ts'

export class SendRoom {
  private readonly config: SessionConfig
  /** Bytes accepted from writers on all streams and not yet framed. */
  queued = 0
  /** Streams refused by the session-wide bound; told once half of it is free. */
  private waiters: StreamRecord[] = []
  /** Streams waiting for room whose state changed since the last check. */
  private candidates: StreamRecord[] = []

  constructor (config: SessionConfig) {
    this.config = config
  }

  /** What a write to `stream` may take now: its window and queue, and the session-wide bound. */
  roomFor (stream: StreamRecord): number {
    const room = stream.room(MAX_STREAM_SEND_QUEUE)
    const shared = this.config.maxSessionSendQueue - this.queued
    if (shared >= room) { return room }
    this.waitForQueue(stream)
    return shared > 0 ? shared : 0
  }

  /** Like roomFor, without joining the waiters. */
  writableLength (stream: StreamRecord): number {
    const room = stream.room(MAX_STREAM_SEND_QUEUE)
    const shared = Math.max(this.config.maxSessionSendQueue - this.queued, 0)
    return shared < room ? shared : room
  }

  /** A write to `stream` was refused in part: tell it when there is room. */
  refused (stream: StreamRecord): void {
    stream.wantsWritable = true
    this.markCandidate(stream)
  }

  /**
   * A waiting stream's room may have changed (credit arrived, a frame left):
   * check it after the flush. Only such streams are looked at, so thousands
   * of streams stalled on their windows cost nothing per flush.
   */
  markCandidate (stream: StreamRecord): void {
    if (!stream.writableCheckPending) {
      stream.writableCheckPending = true
      this.candidates.push(stream)
    }
  }

  /**
   * Calls `tell(stream)` for each stream that may write again. `tell` may
   * write and be refused again: the stream then joins fresh lists. Stops
   * when `tell` returns false (the session ended).
   */
  notify (tell: (stream: StreamRecord) => boolean): void {
    const bound = this.config.maxSessionSendQueue
    if (this.waiters.length > 0 && this.queued * 2 <= bound) {
      // half the session-wide bound is free again: every stream it held may retry
      const waiters = this.waiters
      this.waiters = []
      for (let i = 0; i < waiters.length; i++) {
        waiters[i].waitingForQueue = false
        this.markCandidate(waiters[i])
      }
    }
    if (this.candidates.length === 0) { return }
    const candidates = this.candidates
    this.candidates = []
    for (let i = 0; i < candidates.length; i++) {
      const stream = candidates[i]
      stream.writableCheckPending = false
      if (!stream.wantsWritable) { continue }
      if (stream.gone || stream.writeState !== WriteState.Open) {
        stream.wantsWritable = false
      } else if (stream.room(MAX_STREAM_SEND_QUEUE) > 0 && stream.queued < this.config.maxFrameSize) {
        if (this.queued >= bound) {
          // streams told earlier in this loop took the room: wait for the next half
          this.waitForQueue(stream)
          continue
        }
        stream.wantsWritable = false
        if (!tell(stream)) { return }
      }
    }
  }

  /** The session ended. */
  clear (): void {
    this.queued = 0
    this.waiters = []
    this.candidates = []
  }

  private waitForQueue (stream: StreamRecord): void {
    if (!stream.waitingForQueue) {
      stream.waitingForQueue = true
      this.waiters.push(stream)
    }
  }
}
