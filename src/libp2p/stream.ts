/**
 * A libp2p v3 stream backed by one stream of the core session. It only
 * translates: bytes to `session.write`, FIN/RST to `closeWrite`/`reset`, and
 * it returns window credit to the session through one ledger, settled
 * wherever data is consumed or discarded.
 */
import { AbstractStream } from '@libp2p/utils'
import type { Session } from '../core/session.ts'
import type { AbortOptions, MessageStreamDirection, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { AbstractStreamInit, SendResult } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface YamuxStreamInit extends AbstractStreamInit {
  streamId: number
  session: Session
  direction: MessageStreamDirection
}

/** One running async iteration: the chunks dispatched to it, not yet pulled. */
interface Reader {
  queue: Array<Uint8Array | Uint8ArrayList>
  bytes: number
}

export class YamuxStream extends AbstractStream {
  /** The yamux stream id. */
  readonly streamId: number
  private readonly session: Session
  /**
   * The credit ledger: bytes the peer sent that have not been credited back.
   * It never exceeds the bytes this stream still holds (read buffer plus
   * iterator queues), so credit goes back exactly once per byte, only once
   * it has left, whichever path it leaves by (see `settle`).
   */
  private uncredited = 0
  /** Bytes dispatched to async iterators and not yet pulled by their consumers. */
  private iteratorBytes = 0
  private readers: Reader[] | undefined
  /**
   * Inactivity timeout in ms when the caller set one (0: not watched), and
   * when data last moved; the muxer's sweep aborts streams idle for longer.
   */
  idleTimeout = 0
  lastActive = 0

  constructor (init: YamuxStreamInit) {
    super(init)
    this.streamId = init.streamId
    this.session = init.session
  }

  // ---- write side ----

  sendData (data: Uint8ArrayList): SendResult {
    if (this.idleTimeout > 0) { this.lastActive = performance.now() }
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
    // resume() dispatches the buffered data; dispatchReadBuffer settles its credit
  }

  /** The session calls this, not the muxer's drain fan-out: only held streams wake. */
  onWritable (): void {
    this.safeDispatchEvent('drain')
  }

  // The base muxer fans transport back-pressure out to every stream; the
  // session already tracks it per stream, so these are deliberately inert.
  override onMuxerNeedsDrain (): void {}
  override onMuxerDrain (): void {}

  // ---- read side: every path that consumes or discards data settles ----

  /**
   * Returns credit for every uncredited byte this stream no longer holds.
   * Bytes the application put back (`unshift`/`push`) were credited when
   * first delivered: they count as held, never as uncredited, so they
   * delay credit for newer bytes at most until they are read again.
   */
  private settle (): void {
    const excess = this.uncredited - this.readBuffer.byteLength - this.iteratorBytes
    if (excess > 0) {
      this.uncredited -= excess
      this.session.consume(this.streamId, excess)
    }
  }

  override onData (data: Uint8Array | Uint8ArrayList): void {
    if (this.idleTimeout > 0) { this.lastActive = performance.now() }
    this.uncredited += data.byteLength
    if (this.readStatus === 'closing' || this.readStatus === 'closed') {
      // read side closed locally: the data is discarded, the peer may go on
      this.settle()
      return
    }
    super.onData(data)
  }

  protected override dispatchReadBuffer (): void {
    super.dispatchReadBuffer()
    this.settle()
  }

  override async closeRead (options?: AbortOptions): Promise<void> {
    // the base discards the read buffer before its first await
    const closing = super.closeRead(options)
    if (this.readers !== undefined) {
      for (const reader of this.readers) { this.dropQueue(reader) }
    }
    this.settle()
    await closing
  }

  private dropQueue (reader: Reader): void {
    this.iteratorBytes -= reader.bytes
    reader.queue = []
    reader.bytes = 0
  }

  /**
   * Async iteration with consumer-driven credit: a chunk's credit goes back
   * when the consumer pulls it, so an iterator that stops pulling stops the
   * peer within one window. Breaking out leaves the chunks it had not yet
   * yielded in the stream for the next reader (when it was the only reader
   * and the read side is open), else discards them and returns their credit.
   * Unlike the base class it also ends when the remote closed before the
   * iteration began (the 'remoteCloseWrite' event was missed).
   */
  override async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array | Uint8ArrayList> {
    if (this.readStatus !== 'readable' && this.readStatus !== 'paused') { return }
    const reader: Reader = { queue: [], bytes: 0 }
    let ended = false
    let error: Error | undefined
    let wake: (() => void) | undefined
    const onMessage = (evt: StreamMessageEvent): void => {
      reader.queue.push(evt.data)
      reader.bytes += evt.data.byteLength
      this.iteratorBytes += evt.data.byteLength
      wake?.()
    }
    const onEnd = (): void => { ended = true; wake?.() }
    const onClose = (evt: StreamCloseEvent): void => { ended = true; error = evt.error; wake?.() }
    const more = async (): Promise<void> => { await new Promise<void>(resolve => { wake = resolve }) }
    const readers = (this.readers ??= [])
    readers.push(reader)
    this.addEventListener('message', onMessage)
    this.addEventListener('remoteCloseWrite', onEnd)
    this.addEventListener('end', onEnd)
    this.addEventListener('close', onClose)
    try {
      for (;;) {
        const chunk = reader.queue.shift()
        if (chunk !== undefined) {
          reader.bytes -= chunk.byteLength
          this.iteratorBytes -= chunk.byteLength
          // the consumer has taken this chunk: the peer may send as much again
          this.settle()
          yield chunk
          continue
        }
        if (error !== undefined) { throw error }
        if (ended || this.readableEnded) { return }
        await more()
        wake = undefined
      }
    } finally {
      readers.splice(readers.indexOf(reader), 1)
      this.removeEventListener('message', onMessage)
      this.removeEventListener('remoteCloseWrite', onEnd)
      this.removeEventListener('end', onEnd)
      this.removeEventListener('close', onClose)
      this.returnUnread(reader)
    }
  }

  /** Puts an abandoned iterator's chunks back in front of the read buffer, or drops them. */
  private returnUnread (reader: Reader): void {
    if (reader.bytes === 0) { return }
    const queue = reader.queue
    this.dropQueue(reader)
    // other readers saw the same chunks: putting them back would repeat them
    if ((this.readStatus === 'readable' || this.readStatus === 'paused') && this.listenerCount('message') === 0) {
      this.readBuffer.prepend(...queue)
    }
    this.settle()
  }
}
