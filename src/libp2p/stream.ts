/**
 * A libp2p v3 stream on one stream of the core session, implementing
 * libp2p's `Stream` itself rather than extending `@libp2p/utils`'
 * AbstractStream: nothing is allocated for listeners or buffers until used,
 * received data waits in one buffer and is handed out by one dispatch
 * (stream-read.ts), and window credit goes back through one ledger. This
 * file is the writing half and how a stream ends.
 */
import { StreamAbortEvent, StreamBufferError, StreamCloseEvent, StreamResetError, StreamResetEvent, StreamStateError } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { listPieces } from '../list-pieces.ts'
import { INBOUND, NEEDS_DRAIN, WATCHED, YamuxStreamReader } from './stream-read.ts'
import type { StreamOwner, YamuxStreamInit } from './stream-read.ts'
import type { Session } from '../core/session.ts'
import type { AbortOptions, Logger, MessageStreamDirection, MessageStreamTimeline, Stream } from '@libp2p/interface'

export type { StreamOwner, YamuxStreamInit } from './stream-read.ts'

/** Times are kept as small integers from here (no boxed number per stream). */
const EPOCH = Date.now()

/**
 * Milliseconds since EPOCH as a small integer. `Date.now() - EPOCH` alone is
 * a heap number even when whole: stored in a field that held 0, it changes
 * the stream's hidden class (see STREAM_SHAPE).
 */
function sinceEpoch (): number {
  return Math.floor(Date.now() - EPOCH)
}

export class YamuxStream extends YamuxStreamReader implements Stream {
  /** yamux cannot pre-negotiate: empty, so libp2p runs multistream-select. */
  protocol = ''
  maxWriteBufferLength: number | undefined
  inactivityTimeout: number
  /** Kept for callers that set it; frames are cut at the muxer's maxMessageSize. */
  maxMessageSize: number | undefined = undefined
  private readonly openedAt: number
  private closedAt = 0
  /** Bytes the session did not take yet (sent when it says it is writable). */
  private pending: Uint8ArrayList | undefined = undefined

  constructor (init: YamuxStreamInit) {
    super(init)
    this.maxWriteBufferLength = init.maxWriteBufferLength
    this.inactivityTimeout = init.inactivityTimeout
    this.openedAt = sinceEpoch()
  }

  get id (): string { return String(this.streamId) }
  get direction (): MessageStreamDirection { return (this.flags & INBOUND) !== 0 ? 'inbound' : 'outbound' }
  get log (): Logger { return this.owner.log }
  get writeBufferLength (): number { return this.pending?.byteLength ?? 0 }
  /** The bytes `send()` holds until the session takes them. */
  get writeBuffer (): Uint8ArrayList { return this.pending ?? new Uint8ArrayList() }
  get writableNeedsDrain (): boolean { return (this.flags & NEEDS_DRAIN) !== 0 }
  set writableNeedsDrain (value: boolean) { this.flags = value ? this.flags | NEEDS_DRAIN : this.flags & ~NEEDS_DRAIN }

  get timeline (): MessageStreamTimeline {
    const timeline: MessageStreamTimeline = { open: EPOCH + this.openedAt }
    if (this.closedAt !== 0) { timeline.close = EPOCH + this.closedAt }
    return timeline
  }

  // ---- writing ----

  send (data: Uint8Array | Uint8ArrayList): boolean {
    if (this.writeStatus === 'closed' || this.writeStatus === 'closing') {
      throw new StreamStateError(`Cannot write to a stream that is ${this.writeStatus}`)
    }
    if ((this.flags & WATCHED) !== 0) { this.owner.streamActive(this) }
    if (this.pending !== undefined) {
      this.pending.append(data)
      this.checkWriteBuffer()
      return false
    }
    return this.write(data)
  }

  /** Hands `data` to the session; keeps what it does not take. */
  private write (data: Uint8Array | Uint8ArrayList): boolean {
    const session = this.session
    if (data instanceof Uint8Array) {
      const taken = data.byteLength === 0 ? 0 : session.write(this.streamId, data)
      if (taken === data.byteLength) { return true }
      this.pending = new Uint8ArrayList(data.subarray(taken))
    } else {
      let rest: Uint8ArrayList | undefined
      const bufs = listPieces(data)
      for (let i = 0; i < bufs.length; i++) {
        const buf = bufs[i]
        if (rest !== undefined) { rest.append(buf); continue }
        const taken = buf.byteLength === 0 ? 0 : session.write(this.streamId, buf)
        if (taken < buf.byteLength) { rest = new Uint8ArrayList(buf.subarray(taken)) }
      }
      if (rest === undefined) { return true }
      this.pending = rest
    }
    this.flags |= NEEDS_DRAIN
    this.checkWriteBuffer()
    return false
  }

  private checkWriteBuffer (): void {
    const max = this.maxWriteBufferLength
    if (max !== undefined && this.writeBufferLength > max) {
      this.abort(new StreamBufferError(`Write buffer length of ${this.writeBufferLength} exceeded limit of ${max}`))
    }
  }

  /** The session can take more of this stream's bytes. */
  onWritable (): void {
    const pending = this.pending
    if (pending !== undefined) {
      this.pending = undefined
      if (!this.write(pending)) { return }
      this.safeDispatchEvent('idle')
    }
    if ((this.flags & NEEDS_DRAIN) !== 0) {
      this.flags &= ~NEEDS_DRAIN
      this.safeDispatchEvent('drain')
    }
  }

  async onDrain (options?: AbortOptions): Promise<void> {
    if ((this.flags & NEEDS_DRAIN) === 0) { return }
    await this.until('drain', options)
  }

  async close (options?: AbortOptions): Promise<void> {
    if (this.writeStatus === 'closing' || this.writeStatus === 'closed') { return }
    this.writeStatus = 'closing'
    // the FIN follows the last byte: wait until the session has them all
    if (this.pending !== undefined) { await this.until('idle', options) }
    await this.sendCloseWrite(options)
    this.writeStatus = 'closed'
    if (this.remoteWriteStatus === 'closed') { this.onTransportClosed() }
  }

  async sendCloseWrite (options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    this.session.closeWrite(this.streamId)
  }

  /** Resolves at the next `type` event; rejects if the stream closes first or the signal aborts. */
  private async until (type: 'drain' | 'idle', options?: AbortOptions): Promise<void> {
    const signal = options?.signal
    signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.removeEventListener(type, onEvent)
        this.removeEventListener('close', onClose)
        signal?.removeEventListener('abort', onAbort)
      }
      const onEvent = (): void => { done(); resolve() }
      const onClose = (evt: StreamCloseEvent): void => { done(); reject(evt.error ?? new StreamStateError('the stream closed')) }
      const onAbort = (): void => { done(); reject(signal?.reason) }
      this.addEventListener(type, onEvent)
      this.addEventListener('close', onClose)
      signal?.addEventListener('abort', onAbort)
    })
  }

  // ---- endings ----

  abort (err: Error): void {
    if (this.status === 'aborted' || this.status === 'reset' || this.status === 'closed') { return }
    this.status = 'aborted'
    this.discardReadable()
    this.pending = undefined
    this.writeStatus = 'closed'
    this.remoteWriteStatus = 'closed'
    this.readStatus = 'closed'
    this.remoteReadStatus = 'closed'
    this.closedAt = sinceEpoch()
    this.maybeEnd()
    try {
      this.sendReset(err)
    } catch (e) {
      this.log.error('failed to send reset to remote - %e', e)
    }
    this.wakeReaders(err)
    if (this.finish()) { this.dispatchEvent(new StreamAbortEvent(err)) }
  }

  sendReset (_err?: Error): void {
    this.session.reset(this.streamId)
  }

  /** The peer reset the stream. What was received stays readable. */
  onRemoteReset (): void {
    if (this.status !== 'open') { return }
    this.status = 'reset'
    this.pending = undefined
    this.writeStatus = 'closed'
    this.remoteWriteStatus = 'closed'
    this.remoteReadStatus = 'closed'
    this.closedAt = sinceEpoch()
    if (this.bufferedBytes === 0) {
      this.readStatus = 'closed'
      this.maybeEnd()
    }
    const error = new StreamResetError()
    this.wakeReaders(error)
    if (this.finish()) { this.dispatchEvent(new StreamResetEvent(error)) }
  }

  /** The peer closed its writing side (FIN). */
  onRemoteCloseWrite (): void {
    if (this.remoteWriteStatus === 'closed') { return }
    this.remoteWriteStatus = 'closed'
    this.safeDispatchEvent('remoteCloseWrite')
    this.wakeReaders()
    this.maybeEnd()
    if (this.writeStatus === 'closed') { this.onTransportClosed() }
  }

  /**
   * The stream is over on the wire: with an error it is aborted; without,
   * it ends cleanly and what was received stays readable.
   */
  onTransportClosed (err?: Error): void {
    if (this.readStatus === 'readable' && this.bufferedBytes === 0) { this.readStatus = 'closed' }
    this.remoteReadStatus = 'closed'
    this.remoteWriteStatus = 'closed'
    this.writeStatus = 'closed'
    this.pending = undefined
    if (err !== undefined) {
      this.abort(err)
      return
    }
    if (this.status !== 'open' && this.status !== 'closing') { return }
    this.status = 'closed'
    this.closedAt = sinceEpoch()
    this.maybeEnd()
    this.wakeReaders()
    if (this.finish()) { this.dispatchEvent(new StreamCloseEvent()) }
  }

  /**
   * The stream is over: its owner forgets it. True if 'close' listeners want
   * to hear how it ended (no event is built for nobody).
   */
  private finish (): boolean {
    this.owner.streamEnded(this)
    return this.hasListeners('close')
  }
}

/**
 * A stream that lives as long as the module, like the core's RECORD_SHAPE:
 * V8 keeps a hidden class only while some object has it, so without this a
 * full GC while a process has no stream open would throw away the compiled
 * code that works on streams, and the next ones would run slowly until it
 * is compiled again.
 */
export const STREAM_SHAPE: YamuxStream = new YamuxStream({
  streamId: 0,
  session: undefined as unknown as Session,
  owner: undefined as unknown as StreamOwner,
  direction: 'outbound',
  maxReadBufferLength: 0,
  inactivityTimeout: 0,
  watched: false
})
