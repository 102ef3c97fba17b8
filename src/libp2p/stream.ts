/**
 * A libp2p v3 stream backed by one stream of the core session. It only
 * translates: bytes to `session.write`, FIN/RST to `closeWrite`/`reset`, and
 * it returns window credit to the session as the application consumes data
 * ('message' dispatch, async iteration, or data dropped after closeRead).
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

export class YamuxStream extends AbstractStream {
  /** The yamux stream id. */
  readonly streamId: number
  private readonly session: Session
  /** Async iterators consuming this stream: credit waits until they yield. */
  private iterators = 0
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
    if (this.idleTimeout > 0) { this.lastActive = performance.now() }
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

  /**
   * Async iteration with consumer-driven credit: a chunk's window credit goes
   * back when the consumer pulls it, so an iterator that stops pulling stops
   * the peer within one window. Unlike the base class it also ends when the
   * remote closed before the iteration began (the 'remoteCloseWrite' event
   * was missed): it watches `readableEnded` as well.
   */
  override async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array | Uint8ArrayList> {
    if (this.readStatus !== 'readable' && this.readStatus !== 'paused') { return }
    const queue: Array<Uint8Array | Uint8ArrayList> = []
    let ended = false
    let error: Error | undefined
    let wake: (() => void) | undefined
    const onMessage = (evt: StreamMessageEvent): void => { queue.push(evt.data); wake?.() }
    const onEnd = (): void => { ended = true; wake?.() }
    const onClose = (evt: StreamCloseEvent): void => { ended = true; error = evt.error; wake?.() }
    const more = async (): Promise<void> => { await new Promise<void>(resolve => { wake = resolve }) }
    this.iterators++
    this.addEventListener('message', onMessage)
    this.addEventListener('remoteCloseWrite', onEnd)
    this.addEventListener('end', onEnd)
    this.addEventListener('close', onClose)
    try {
      for (;;) {
        const chunk = queue.shift()
        if (chunk !== undefined) {
          // the consumer has taken this chunk: the peer may send as much again
          this.session.consume(this.streamId, chunk.byteLength)
          yield chunk
          continue
        }
        if (error !== undefined) { throw error }
        if (ended || this.readableEnded) { return }
        await more()
        wake = undefined
      }
    } finally {
      this.iterators--
      this.removeEventListener('message', onMessage)
      this.removeEventListener('remoteCloseWrite', onEnd)
      this.removeEventListener('end', onEnd)
      this.removeEventListener('close', onClose)
    }
  }
}
