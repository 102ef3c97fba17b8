/**
 * A libp2p v3 stream backed by one stream of the core session. It only
 * translates: bytes to `session.write`, FIN/RST to `closeWrite`/`reset`, and
 * it returns window credit to the session as the application consumes data
 * ('message' dispatch, async iteration, or data dropped after closeRead).
 */
import { AbstractStream } from '@libp2p/utils'
import type { Session } from '../core/session.ts'
import type { AbortOptions, MessageStreamDirection } from '@libp2p/interface'
import type { AbstractStreamInit, SendResult } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface YamuxStreamInit extends AbstractStreamInit {
  streamId: number
  session: Session
  direction: MessageStreamDirection
}

export class YamuxStream extends AbstractStream {
  /** The yamux stream id. */
  readonly streamId: number
  private readonly session: Session
  /** Async iterators consuming this stream: credit waits until they yield. */
  private iterators = 0

  constructor (init: YamuxStreamInit) {
    super(init)
    this.streamId = init.streamId
    this.session = init.session
  }

  // ---- write side ----

  sendData (data: Uint8ArrayList): SendResult {
    let sentBytes = 0
    for (const buf of data) {
      const taken = this.session.write(this.streamId, buf)
      sentBytes += taken
      if (taken < buf.byteLength) { return { sentBytes, canSendMore: false } }
    }
    return { sentBytes, canSendMore: true }
  }

  sendReset (): void {
    this.session.reset(this.streamId)
  }

  async sendCloseWrite (options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    this.session.closeWrite(this.streamId)
  }

  async sendCloseRead (options?: AbortOptions): Promise<void> {
    // yamux cannot tell the peer to stop sending: data that still arrives is
    // dropped and its credit returned at once (see onData)
    options?.signal?.throwIfAborted()
  }

  sendPause (): void {
    // nothing to send: paused data stays unread, so no credit goes back and
    // the peer stops within one window
  }

  sendResume (): void {
    // resume() dispatches the buffered data; dispatchReadBuffer returns its credit
  }

  /** The session calls this, not the muxer's drain fan-out: only held streams wake. */
  onWritable (): void {
    this.safeDispatchEvent('drain')
  }

  // The base muxer fans transport back-pressure out to every stream; the
  // session already tracks it per stream, so these are deliberately inert.
  override onMuxerNeedsDrain (): void {}
  override onMuxerDrain (): void {}

  // ---- read side ----

  override onData (data: Uint8Array | Uint8ArrayList): void {
    if (this.readStatus === 'closing' || this.readStatus === 'closed') {
      // read side closed locally: the data is discarded, the peer may go on
      this.session.consume(this.streamId, data.byteLength)
      return
    }
    super.onData(data)
  }

  protected override dispatchReadBuffer (): void {
    const before = this.readBuffer.byteLength
    super.dispatchReadBuffer()
    const consumed = before - this.readBuffer.byteLength
    // iterators return credit as their consumer pulls, not on dispatch
    if (consumed > 0 && this.iterators === 0) { this.session.consume(this.streamId, consumed) }
  }

  override async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array | Uint8ArrayList> {
    this.iterators++
    try {
      for await (const chunk of super[Symbol.asyncIterator]()) {
        // the consumer has taken this chunk: the peer may send as much again
        this.session.consume(this.streamId, chunk.byteLength)
        yield chunk
      }
    } finally {
      this.iterators--
    }
  }
}
