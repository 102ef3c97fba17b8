/**
 * Where streams begin and end: opening ours (SYN, the ACK backlog and the
 * opens it holds back), accepting the peer's, our FIN leaving, and dropping
 * or forgetting a stream. The session decides when; this file says how.
 */
import { Flag } from './constants.ts'
import { OpenState, WriteState } from './stream-record.ts'
import type { YamuxError } from './errors.ts'
import type { Output } from './output.ts'
import type { SessionTimers } from './session-timers.ts'
import type { SessionEnvironment, SessionHandler } from './session-types.ts'
import type { StreamRecord } from './stream-record.ts'
import type { StreamTable } from './stream-table.ts'

export class StreamLifecycle {
  /** Set while the session is being torn down: no held open is released. */
  ending = false
  private readonly streams: StreamTable
  private readonly output: Output
  private readonly handler: SessionHandler
  private readonly env: SessionEnvironment
  private readonly timers: () => SessionTimers

  constructor (streams: StreamTable, output: Output, handler: SessionHandler, env: SessionEnvironment, timers: () => SessionTimers) {
    this.streams = streams
    this.output = output
    this.handler = handler
    this.env = env
    this.timers = timers
  }

  /** Opens a stream of ours: on the wire at once, or held while the ACK backlog is full. */
  open (): StreamRecord {
    const stream = this.streams.openOutbound(this.env.now())
    stream.pendingFlags = Flag.SYN
    if (this.streams.ackRoom) {
      this.activate(stream, stream.lastUpdateAt)
    } else {
      this.streams.hold(stream)
    }
    return stream
  }

  /** Acknowledges a stream of the peer's (its ACK leaves with the next frame). */
  accept (stream: StreamRecord): void {
    stream.openState = OpenState.Established
    this.streams.accepted()
    stream.pendingFlags |= Flag.ACK
    this.output.needUpdate(stream)
  }

  /** The peer acknowledged a stream of ours: the backlog may release a held one. */
  acked (stream: StreamRecord): void {
    this.streams.ackReceived(stream)
    this.releaseHeldOpens()
  }

  /** Our FIN for `stream` is on its way. */
  finSent (stream: StreamRecord): void {
    stream.writeState = WriteState.FinSent
    if (stream.readClosed) {
      this.forget(stream)
    } else {
      this.timers().halfClosed(stream, this.env.now(), this.streams.size)
    }
  }

  /** Ends a stream for a reason the owner did not cause, and tells it. */
  drop (stream: StreamRecord, error: YamuxError, remote = false): void {
    this.forget(stream, false)
    this.handler.onStreamReset(stream.id, error, remote)
  }

  /** Removes a stream for good; `notify` tells the owner it closed. */
  forget (stream: StreamRecord, notify = true): void {
    if (stream.gone) { return }
    this.output.dropQueue(stream)
    if (this.streams.remove(stream)) { this.releaseHeldOpens() }
    if (notify) { this.handler.onStreamClosed(stream.id) }
  }

  /** Puts a newly opened stream of ours on the wire (SYN with its first frame). */
  private activate (stream: StreamRecord, now = this.env.now()): void {
    this.streams.synSent(stream)
    this.timers().opened(stream, now, this.streams.size)
    if (stream.hasSendable()) { this.output.needData(stream) }
    this.output.needUpdate(stream)
  }

  private releaseHeldOpens (): void {
    if (this.ending) { return }
    for (let stream = this.streams.nextReleasable(); stream !== undefined; stream = this.streams.nextReleasable()) {
      this.activate(stream)
    }
  }
}
