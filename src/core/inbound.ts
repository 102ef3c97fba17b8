/**
 * Inbound frames: checks each decoded frame against the session's state and
 * routes it (new streams, ACK, RST, credit, payload, FIN, pings, GoAway).
 * Anything a peer may not do throws the typed error that ends the session.
 */
import { Flag, FrameType, INITIAL_STREAM_WINDOW } from './constants.ts'
import { ConnectionResetError, DuplicateStreamError, InvalidMsgTypeError, ReceiveWindowExceededError, UnexpectedFlagError } from './errors.ts'
import { addSendCredit, chargeReceive } from './flow-control.ts'
import { keepable } from './held-payload.ts'
import { OpenState, WriteState, wholeMs } from './stream-record.ts'
import type { YamuxError } from './errors.ts'
import type { FrameHeader, FrameSink } from './frame.ts'
import type { Output } from './output.ts'
import type { SessionHandler } from './session-types.ts'
import type { StreamRecord } from './stream-record.ts'
import type { StreamTable } from './stream-table.ts'

/** What inbound frames do to the session around them. */
export interface InboundHost {
  /** We are the client (odd ids). */
  readonly client: boolean
  /** Copy small pieces of large reads before handing them on (the config's `copySmallPieces`). */
  readonly copySmallPieces: boolean
  now(): number
  /** The peer opened `id`: a new stream, or undefined if refused (RST sent). */
  acceptInbound(id: number): StreamRecord | undefined
  /** The peer acknowledged our stream. */
  acked(stream: StreamRecord): void
  /** Ends `stream` for a reason its owner did not cause. */
  dropStream(stream: StreamRecord, error: YamuxError, remote: boolean): void
  /** Both halves of `stream` are closed. */
  forget(stream: StreamRecord): void
  /** A pong with `value` arrived. */
  pong(value: number): void
  /** The peer sent GoAway with `code`. */
  remoteGoAway(code: number): void
}

export class Inbound implements FrameSink {
  private readonly streams: StreamTable
  private readonly output: Output
  private readonly handler: SessionHandler
  private readonly host: InboundHost
  /** The stream whose Data payload is arriving, or undefined to discard it. */
  private rxStream: StreamRecord | undefined

  constructor (streams: StreamTable, output: Output, handler: SessionHandler, host: InboundHost) {
    this.streams = streams
    this.output = output
    this.handler = handler
    this.host = host
  }

  onHeader (header: FrameHeader): void {
    this.rxStream = undefined
    switch (header.type) {
      case FrameType.Data:
      case FrameType.WindowUpdate:
        this.onStreamHeader(header)
        break
      case FrameType.Ping:
        if ((header.flags & Flag.SYN) !== 0) {
          this.output.queuePong(header.length)
        } else if ((header.flags & Flag.ACK) !== 0) {
          this.host.pong(header.length)
        }
        break
      default: // GoAway: the decoder admits no other type
        this.host.remoteGoAway(header.length)
        break
    }
  }

  onPayload (header: FrameHeader, piece: Uint8Array, more: boolean): void {
    const stream = this.rxStream
    if (stream === undefined || stream.gone) { return }
    stream.rxPartial += piece.byteLength
    // the owner may hold a piece (a paused reader): unless it copies what it
    // keeps itself, a small view must not pin the whole read it came from
    this.handler.onData(stream.id, this.host.copySmallPieces ? keepable(piece, header.length) : piece, more)
  }

  onFrameEnd (header: FrameHeader): void {
    const stream = this.rxStream
    this.rxStream = undefined
    if (stream !== undefined) { stream.rxPartial = 0 }
    if (stream === undefined || (header.flags & Flag.FIN) === 0 || stream.gone || stream.readClosed) { return }
    stream.readClosed = true
    this.handler.onRemoteClose(stream.id)
    if (stream.writeState === WriteState.FinSent && !stream.gone) { this.host.forget(stream) }
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
      if ((id % 2 === 1) === this.host.client) {
        throw new UnexpectedFlagError(`SYN for stream ${id}, an id of ours: both ends have the same role`)
      }
      if (type === FrameType.Data && length > INITIAL_STREAM_WINDOW) {
        throw new ReceiveWindowExceededError(`SYN frame of stream ${id} carries ${length} bytes, more than the initial window`)
      }
      stream = this.host.acceptInbound(id)
      if (stream === undefined) { return }
    } else if (stream === undefined) {
      return // frames for closed or unknown streams are expected in flight: discard
    }

    if ((flags & Flag.ACK) !== 0 && stream.openState === OpenState.SynSent) { this.host.acked(stream) }
    if (stream.writeState === WriteState.FinSent) { stream.lastHeardAt = wholeMs(this.host.now()) }

    if ((flags & Flag.RST) !== 0) {
      // a WindowUpdate|RST carries an error code, not credit (libp2p/specs#622)
      this.host.dropStream(stream, new ConnectionResetError(), true)
      return
    }

    if (type === FrameType.WindowUpdate) {
      if (length > 0) { this.output.creditArrived(stream, addSendCredit(stream, length)) }
      this.rxStream = stream // for FIN
      return
    }

    chargeReceive(stream, length)
    // data after the peer's FIN is a peer bug: discarded
    if (!stream.readClosed) { this.rxStream = stream }
  }
}
