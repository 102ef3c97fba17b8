/**
 * A libp2p v2 `Stream` (source/sink) backed by one stream of the core
 * session. It only translates: the sink's bytes go to `session.write` (waiting
 * for `onWritable` when the window or queue is full), FIN and RST to
 * `closeWrite`/`reset`; the source hands out what the session delivered and
 * returns window credit as the consumer pulls it.
 */
import { StreamResetError, StreamStateError } from '@libp2p/interface'
import { ChunkSource } from './chunk-source.ts'
import type { Session } from '../core/session.ts'
import type { AbortOptions, Direction, Logger, ReadStatus, Stream, StreamStatus, StreamTimeline, WriteStatus } from '@libp2p/interface-v2'
import type { Source } from 'it-stream-types'
import type { Uint8ArrayList } from 'uint8arraylist'

/** What a stream needs from its muxer. */
export interface StreamOwner {
  readonly session: Session
  /** The stream has closed both ways (or died): it leaves `muxer.streams`. */
  streamEnded(stream: YamuxStreamV2): void
}

/** How the write side waits for room: settled by `onWritable` or the stream's end. */
interface RoomWaiter {
  resolve(more: boolean): void
  reject(err: Error): void
}

export class YamuxStreamV2 implements Stream {
  readonly id: string
  /** The yamux stream id. */
  readonly streamId: number
  direction: Direction
  timeline: StreamTimeline
  protocol?: string
  metadata: Record<string, any> = {}
  status: StreamStatus = 'open'
  readStatus: ReadStatus = 'ready'
  writeStatus: WriteStatus = 'ready'
  log: Logger
  source: AsyncGenerator<Uint8ArrayList>
  sink: (source: Source<Uint8ArrayList | Uint8Array>) => Promise<void>

  private readonly owner: StreamOwner
  private readonly session: Session
  private readonly input: ChunkSource
  private room: RoomWaiter | undefined
  /** The write the sink is finishing (waiting for room), if any. */
  private pendingWrite: Promise<void> | undefined
  private sinkIterator: AsyncIterator<Uint8ArrayList | Uint8Array> | Iterator<Uint8ArrayList | Uint8Array> | undefined
  /** The error that ended the write side, if it ended by one. */
  private writeError: Error | undefined
  private ended = false

  constructor (owner: StreamOwner, streamId: number, direction: Direction, log: Logger) {
    this.owner = owner
    this.session = owner.session
    this.streamId = streamId
    this.id = `${streamId}`
    this.direction = direction
    this.log = log
    this.timeline = { open: Date.now() }
    this.input = new ChunkSource({
      coalesce: false,
      // the consumer took the bytes: the peer may send as much again
      onPull: (bytes) => { this.session.consume(this.streamId, bytes) },
      onAbandon: (dropped) => { this.onSourceAbandoned(dropped) }
    })
    this.source = this.input as AsyncGenerator<Uint8ArrayList>
    // an own property: libp2p and it-byte-stream replace it
    this.sink = async (source) => { await this.runSink(source) }
  }

  // ---- the libp2p v2 Stream API ----

  async close (options?: AbortOptions): Promise<void> {
    if (this.status !== 'open') { return }
    this.status = 'closing'
    await Promise.all([this.closeWrite(options), this.closeRead(options)])
  }

  async closeRead (options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    // yamux cannot ask the peer to stop: data still arriving is dropped and
    // its credit returned at once; what was buffered stays readable
    this.endRead()
  }

  async closeWrite (options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    if (this.writeStatus === 'ready') {
      this.sendFin()
      return
    }
    if (this.writeStatus !== 'writing') { return }
    this.writeStatus = 'closing'
    // a chunk the sink already took goes out first (FIN follows it)
    // (if the stream dies meanwhile there is nothing left to close)
    if (this.pendingWrite !== undefined) { await raceAbort(this.pendingWrite.catch(() => {}), options?.signal) }
    // stop reading the source given to sink(): the sink loop sees 'closing'
    // and leaves without writing more
    this.stopSinkSource()
    if (this.writeStatus === 'closing') { this.sendFin() }
  }

  abort (err: Error): void {
    if (this.ended || this.status === 'aborted' || this.status === 'reset') { return }
    this.log('abort with error - %e', err)
    this.session.reset(this.streamId)
    this.status = 'aborted'
    this.timeline.abort = Date.now()
    this.die(err)
  }

  // ---- events from the muxer (core → libp2p) ----

  /** Payload from the peer. */
  onData (data: Uint8Array): void {
    if (this.readStatus !== 'ready') {
      // read side closed here: discard, and let the peer go on
      this.session.consume(this.streamId, data.byteLength)
      return
    }
    this.input.push(data)
  }

  /** The peer's FIN: the source ends once what is buffered has been read. */
  onRemoteClose (): void {
    this.endRead()
  }

  /** The peer reset the stream. */
  onRemoteReset (): void {
    if (this.status === 'aborted' || this.status === 'reset' || this.ended) { return }
    this.status = 'reset'
    this.timeline.reset = Date.now()
    this.die(new StreamResetError('stream reset by the remote peer'))
  }

  /** The session ended the stream (a timeout, the muxer aborting, the transport failing). */
  onSessionError (err: Error): void {
    if (this.status === 'aborted' || this.status === 'reset' || this.ended) { return }
    this.status = 'aborted'
    this.timeline.abort = Date.now()
    this.die(err)
  }

  /** The session ended cleanly: both sides end without error. */
  onSessionClosed (): void {
    if (this.ended) { return }
    this.endWrite(undefined)
    this.endRead()
  }

  /** The session can take more of this stream's data. */
  onWritable (): void {
    const room = this.room
    this.room = undefined
    room?.resolve(true)
  }

  // ---- write side ----

  private async runSink (source: Source<Uint8ArrayList | Uint8Array>): Promise<void> {
    if (this.writeStatus !== 'ready') {
      throw new StreamStateError(`writable end state is "${this.writeStatus}" not "ready"`)
    }
    this.writeStatus = 'writing'
    const iterator = (Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]())
    this.sinkIterator = iterator
    try {
      for (;;) {
        const result = await iterator.next()
        if (result.done === true || this.writeStatus !== 'writing') { break }
        const waiting = this.writeChunk(result.value)
        if (waiting !== undefined) { await waiting }
      }
    } catch (err: any) {
      // the source failed, or the stream died while a write waited
      if (this.writeStatus === 'writing' || this.writeStatus === 'closing') { this.abort(err) }
      throw err
    } finally {
      this.sinkIterator = undefined
    }
    if (this.writeError !== undefined) { throw this.writeError }
    if (this.writeStatus === 'writing') { this.sendFin() }
  }

  /** Writes one item of the sink's source; a promise only if part of it must wait for room. */
  private writeChunk (data: Uint8Array | Uint8ArrayList): Promise<void> | undefined {
    if (data instanceof Uint8Array) {
      this.write(data)
      return this.pendingWrite
    }
    const bufs = [...data]
    for (let i = 0; i < bufs.length; i++) {
      this.write(bufs[i])
      if (this.pendingWrite !== undefined) { return this.writeBufs(bufs, i + 1) }
    }
    return undefined
  }

  private async writeBufs (bufs: Uint8Array[], from: number): Promise<void> {
    for (let i = from - 1; i < bufs.length; i++) {
      if (i >= from) { this.write(bufs[i]) }
      if (this.pendingWrite !== undefined) { await this.pendingWrite }
    }
  }

  /** Hands `data` to the session; sets `pendingWrite` while the rest waits for room. */
  private write (data: Uint8Array): void {
    if (this.writeStatus !== 'writing' && this.writeStatus !== 'closing') { return }
    const taken = this.session.write(this.streamId, data)
    if (taken < data.byteLength) {
      const pending = this.writeRest(data.subarray(taken))
      this.pendingWrite = pending
      void pending.then(() => { if (this.pendingWrite === pending) { this.pendingWrite = undefined } }, () => {})
    }
  }

  private async writeRest (data: Uint8Array): Promise<void> {
    while (data.byteLength > 0) {
      const more = await new Promise<boolean>((resolve, reject) => { this.room = { resolve, reject } })
      if (!more) { return } // the write side ended cleanly: the rest is dropped
      data = data.subarray(this.session.write(this.streamId, data))
    }
  }

  private stopSinkSource (): void {
    const iterator = this.sinkIterator
    this.sinkIterator = undefined
    if (iterator?.return === undefined) { return }
    try {
      const result = iterator.return()
      if (result instanceof Promise) { result.catch(() => {}) }
    } catch {
      // the source is not ours: it may throw while stopping
    }
  }

  /** Closes the write side cleanly: FIN after what is queued. */
  private sendFin (): void {
    this.session.closeWrite(this.streamId)
    this.endWrite(undefined)
  }

  private endWrite (err: Error | undefined): void {
    if (this.timeline.closeWrite !== undefined) { return }
    this.timeline.closeWrite = Date.now()
    const wasWriting = this.writeStatus === 'writing' || this.writeStatus === 'closing'
    this.writeStatus = 'closed'
    this.writeError = err
    const room = this.room
    this.room = undefined
    if (room !== undefined) {
      if (err !== undefined) { room.reject(err) } else { room.resolve(false) }
    }
    if (wasWriting) { this.stopSinkSource() }
    this.maybeEnded()
  }

  // ---- read side ----

  private endRead (err?: Error): void {
    if (this.timeline.closeRead !== undefined) { return }
    this.timeline.closeRead = Date.now()
    this.readStatus = 'closed'
    this.input.end(err)
    this.maybeEnded()
  }

  private onSourceAbandoned (dropped: number): void {
    // the consumer stopped reading: what it left is dropped, credit returned
    if (dropped > 0) { this.session.consume(this.streamId, dropped) }
    this.endRead()
  }

  // ---- end ----

  private die (err: Error): void {
    this.endWrite(err)
    this.endRead(err)
  }

  private maybeEnded (): void {
    if (this.ended || this.timeline.closeRead === undefined || this.timeline.closeWrite === undefined) { return }
    this.ended = true
    this.timeline.close = Date.now()
    if (this.status === 'open' || this.status === 'closing') { this.status = 'closed' }
    this.owner.streamEnded(this)
  }
}

/** `promise`, rejected early with the signal's reason if it aborts first. */
export async function raceAbort (promise: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) { await promise; return }
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(() => { resolve() }, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}
