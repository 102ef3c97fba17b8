/**
 * The reading half of a libp2p v3 stream (see stream.ts): one buffer for
 * received data, one dispatch to 'message' listeners and iterations, and
 * the credit ledger that returns window credit wherever data leaves.
 */
import { StreamBufferError, StreamMessageEvent, StreamStateError } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { ChunkQueue } from '../chunk-queue.ts'
import { keepable } from '../core/held-payload.ts'
import { listPieces } from '../list-pieces.ts'
import { LeanEventTarget } from './events.ts'
import type { Session } from '../core/session.ts'
import type { AbortOptions, Logger, MessageStreamDirection, MessageStreamEvents, MessageStreamReadStatus, MessageStreamStatus, MessageStreamWriteStatus } from '@libp2p/interface'

/** What a stream needs from its muxer. */
export interface StreamOwner {
  readonly log: Logger
  /** The stream is finished ('close' is being dispatched): forget it. */
  streamEnded(stream: YamuxStreamReader): void
  /** Data moved on a stream whose caller set an inactivity timeout. */
  streamActive(stream: YamuxStreamReader): void
}

export interface YamuxStreamInit {
  streamId: number
  session: Session
  owner: StreamOwner
  direction: MessageStreamDirection
  maxReadBufferLength: number
  maxWriteBufferLength?: number
  inactivityTimeout: number
  /** The muxer enforces the inactivity timeout (it was set explicitly). */
  watched: boolean
}

// flag bits
export const INBOUND = 1
export const ENDED = 2
export const NEEDS_DRAIN = 4
export const WATCHED = 8
const FLUSH_SCHEDULED = 16

/**
 * Waiting chunks keep their boundaries up to this many; past it, small ones
 * are packed together (see chunk-queue.ts), so a flood of tiny frames costs
 * the bytes it carries, not an object per frame.
 */
const KEEP_SEPARATE = 64

/** One running async iteration. Its queue is used only beside other readers. */
interface Reader {
  queue: ChunkQueue<Uint8Array | Uint8ArrayList> | undefined
  bytes: number
  wake: (() => void) | undefined
  error: Error | undefined
}

export abstract class YamuxStreamReader extends LeanEventTarget<MessageStreamEvents> {
  /** The yamux stream id. */
  readonly streamId: number
  status: MessageStreamStatus = 'open'
  readStatus: MessageStreamReadStatus = 'readable'
  writeStatus: MessageStreamWriteStatus = 'writable'
  remoteReadStatus: MessageStreamReadStatus = 'readable'
  remoteWriteStatus: MessageStreamWriteStatus = 'writable'
  maxReadBufferLength: number
  protected readonly session: Session
  protected readonly owner: StreamOwner
  protected flags: number
  /** Received data not yet handed out, oldest first (created when first needed), and its size. */
  private buffered: ChunkQueue<Uint8Array> | undefined = undefined
  protected bufferedBytes = 0
  /**
   * The credit ledger: bytes the peer sent that were not credited back. It
   * never exceeds what this stream still holds (buffer plus iterator
   * queues), so each byte's credit goes back once, after it left (`settle`).
   */
  private uncredited = 0
  private messageListeners = 0
  private readers: Reader[] | undefined = undefined

  constructor (init: YamuxStreamInit) {
    super()
    this.streamId = init.streamId
    this.session = init.session
    this.owner = init.owner
    this.flags = (init.direction === 'inbound' ? INBOUND : 0) | (init.watched ? WATCHED : 0)
    this.maxReadBufferLength = init.maxReadBufferLength
  }

  abstract abort (err: Error): void

  get readableEnded (): boolean { return (this.flags & ENDED) !== 0 }
  get readBufferLength (): number { return this.bufferedBytes }

  // ---- reading: every path that consumes or discards data settles ----

  /** Returns credit for every uncredited byte this stream no longer holds. */
  private settle (): void {
    let held = this.bufferedBytes
    const readers = this.readers
    if (readers !== undefined) { for (let i = 0; i < readers.length; i++) { held += readers[i].bytes } }
    const excess = this.uncredited - held
    if (excess > 0) {
      this.uncredited = held
      this.session.consume(this.streamId, excess)
    }
  }

  /** The session delivered `data` for this stream (a list: the pieces of one frame a read cut). */
  onData (data: Uint8Array | Uint8ArrayList): void {
    if ((this.flags & WATCHED) !== 0) { this.owner.streamActive(this) }
    this.uncredited += data.byteLength
    if (this.readStatus === 'closing' || this.readStatus === 'closed') {
      this.settle() // read side closed locally: discarded
      return
    }
    if (this.uncredited > this.maxReadBufferLength) {
      this.abort(new StreamBufferError(`Read buffer length of ${this.uncredited} exceeded limit of ${this.maxReadBufferLength}`))
      return
    }
    if (this.bufferedBytes === 0 && this.readStatus === 'readable' && this.dispatching()) {
      this.deliver(data) // the common case: straight to the listeners, no buffer
      return
    }
    // held, so a small view must not pin a larger buffer (the session does not copy for us)
    const held = kept(data)
    if (held instanceof Uint8Array) {
      this.append(held)
    } else {
      const pieces = listPieces(held)
      for (let i = 0; i < pieces.length; i++) { this.append(pieces[i]) }
    }
    this.flush()
  }

  /** 'message' listeners or several iterations read: each chunk is dispatched to all. */
  private dispatching (): boolean {
    return this.messageListeners > 0 || (this.readers !== undefined && this.readers.length > 1)
  }

  private append (data: Uint8Array): void {
    (this.buffered ??= new ChunkQueue(KEEP_SEPARATE)).append(data)
    this.bufferedBytes += data.byteLength
  }

  /** Takes everything buffered, as one chunk. */
  private takeBuffered (): Uint8Array | Uint8ArrayList {
    const chunks = this.buffered?.takeAll() ?? []
    this.bufferedBytes = 0
    return chunks.length === 1 ? chunks[0] : new Uint8ArrayList(...chunks)
  }

  /**
   * Takes the oldest chunk (an iteration yields what arrived as it arrived,
   * as it would from listeners, except that tiny chunks past the first
   * KEEP_SEPARATE waiting come packed together).
   */
  private takeFirst (): Uint8Array {
    const chunk = this.buffered?.shift() ?? new Uint8Array(0)
    this.bufferedBytes -= chunk.byteLength
    return chunk
  }

  /** Hands out what is buffered: dispatched, or left for a lone iteration to take. */
  private flush (): void {
    if (this.readStatus !== 'readable' || this.bufferedBytes === 0) { return }
    if (this.dispatching()) {
      this.deliver(this.takeBuffered())
    } else if (this.readers !== undefined) {
      this.readers[0].wake?.()
    }
  }

  private scheduleFlush (): void {
    if ((this.flags & FLUSH_SCHEDULED) !== 0) { return }
    this.flags |= FLUSH_SCHEDULED
    queueMicrotask(() => {
      this.flags &= ~FLUSH_SCHEDULED
      this.flush()
    })
  }

  /** The one dispatch: every iteration's queue and every 'message' listener get `data`. */
  private deliver (data: Uint8Array | Uint8ArrayList): void {
    const readers = this.readers
    if (readers !== undefined) {
      const held = kept(data)
      for (const reader of readers) {
        (reader.queue ??= new ChunkQueue(KEEP_SEPARATE)).append(held)
        reader.bytes += data.byteLength
        reader.wake?.()
      }
    }
    if (this.messageListeners > 0) { this.dispatchEvent(new StreamMessageEvent(data)) }
    this.handedOut()
  }

  /** After data left the buffer: credit, and the end of the read side if it came. */
  private handedOut (): void {
    this.settle()
    if (this.bufferedBytes === 0 && this.remoteWriteStatus === 'closed' && this.readStatus === 'readable') {
      this.readStatus = 'closed'
    }
    this.maybeEnd()
  }

  protected maybeEnd (): void {
    if ((this.flags & ENDED) !== 0 || this.bufferedBytes > 0) { return }
    if (this.remoteWriteStatus !== 'closed' && this.readStatus !== 'closed') { return }
    this.flags |= ENDED
    this.safeDispatchEvent('end')
  }

  protected override listenersChanged (type: string): void {
    if (type !== 'message') { return }
    this.messageListeners = this.listenerCount('message')
    // a listener added with data waiting gets it, after the caller's code ran
    if (this.messageListeners > 0 && this.bufferedBytes > 0) { this.scheduleFlush() }
  }

  push (data: Uint8Array | Uint8ArrayList): void {
    this.putBack(data, false)
  }

  unshift (data: Uint8Array | Uint8ArrayList): void {
    this.putBack(data, true)
  }

  /** Data the application puts back: it was credited when first delivered, so not again. */
  private putBack (data: Uint8Array | Uint8ArrayList, front: boolean): void {
    if (this.readStatus === 'closed' || this.readStatus === 'closing') {
      throw new StreamStateError(`Cannot push data onto a stream that is ${this.readStatus}`)
    }
    if (data.byteLength === 0) { return }
    const chunks = data instanceof Uint8Array ? [data] : [...data]
    const buffered = (this.buffered ??= new ChunkQueue(KEEP_SEPARATE))
    if (front) {
      for (let i = chunks.length - 1; i >= 0; i--) { buffered.unshift(chunks[i]) }
    } else {
      for (const chunk of chunks) { buffered.append(chunk) }
    }
    this.bufferedBytes += data.byteLength
    this.scheduleFlush()
  }

  pause (): void {
    if (this.readStatus === 'closed' || this.readStatus === 'closing') {
      throw new StreamStateError('Cannot pause a stream that is closing/closed')
    }
    this.readStatus = 'paused'
  }

  resume (): void {
    if (this.readStatus === 'closed' || this.readStatus === 'closing') {
      throw new StreamStateError('Cannot resume a stream that is closing/closed')
    }
    if (this.readStatus === 'readable') { return }
    this.readStatus = 'readable'
    this.flush()
  }

  async sendCloseRead (options?: AbortOptions): Promise<void> {
    // yamux cannot ask the peer to stop: what still arrives is discarded and credited
    options?.signal?.throwIfAborted()
  }

  async closeRead (options?: AbortOptions): Promise<void> {
    if (this.readStatus === 'closing' || this.readStatus === 'closed') { return }
    this.discardReadable()
    this.readStatus = 'closing'
    await this.sendCloseRead(options)
    this.readStatus = 'closed'
    this.maybeEnd()
    this.wakeReaders()
  }

  /** Drops everything received and not read, returning its credit. */
  protected discardReadable (): void {
    this.buffered?.clear()
    this.bufferedBytes = 0
    if (this.readers !== undefined) {
      for (const reader of this.readers) {
        reader.queue = undefined
        reader.bytes = 0
      }
    }
    this.settle()
  }

  protected wakeReaders (error?: Error): void {
    if (this.readers === undefined) { return }
    for (const reader of this.readers) {
      if (error !== undefined) { reader.error ??= error }
      reader.wake?.()
    }
  }

  /**
   * Async iteration. A lone iteration takes chunks from the buffer itself
   * when it pulls (one buffer, credit as it pulls); beside 'message' listeners or other
   * iterations it gets every chunk in its own queue. Breaking out leaves
   * undelivered data in the stream for the next reader; a queue it had
   * (chunks the other readers also got) is dropped and credited.
   */
  async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array | Uint8ArrayList> {
    if (this.readStatus !== 'readable' && this.readStatus !== 'paused') { return }
    const reader: Reader = { queue: undefined, bytes: 0, wake: undefined, error: undefined }
    const readers = (this.readers ??= [])
    readers.push(reader)
    if (readers.length > 1) { this.scheduleFlush() }
    try {
      for (;;) {
        const queued = reader.queue?.shift()
        if (queued !== undefined) {
          reader.bytes -= queued.byteLength
          this.settle()
          yield queued
          continue
        }
        if (this.bufferedBytes > 0 && this.readStatus === 'readable' && !this.dispatching()) {
          const chunk = this.takeFirst()
          this.handedOut()
          yield chunk
          continue
        }
        if (reader.error !== undefined) { throw reader.error }
        if (this.bufferedBytes === 0 && this.nothingMoreToRead()) { return }
        await new Promise<void>(resolve => { reader.wake = resolve })
        reader.wake = undefined
      }
    } finally {
      readers.splice(readers.indexOf(reader), 1)
      if (readers.length === 0 && this.readers === readers) { this.readers = undefined }
      reader.queue = undefined
      reader.bytes = 0
      this.settle()
    }
  }

  /** No more data will arrive or be handed out. */
  private nothingMoreToRead (): boolean {
    return this.remoteWriteStatus === 'closed' || this.readStatus === 'closed' || this.status !== 'open'
  }
}

/** `data` as it may be held: small pieces of larger buffers copied (see `keepable`). */
function kept (data: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList {
  if (data instanceof Uint8Array) { return keepable(data, data.byteLength) }
  const pieces = listPieces(data)
  let copied: Uint8ArrayList | undefined
  for (let i = 0; i < pieces.length; i++) {
    const piece = keepable(pieces[i], data.byteLength)
    if (piece !== pieces[i] && copied === undefined) { copied = new Uint8ArrayList(...pieces.slice(0, i)) }
    copied?.append(piece)
  }
  return copied ?? data
}
