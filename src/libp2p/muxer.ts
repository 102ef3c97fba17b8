/**
 * The libp2p v3 stream muxer: wires a core `Session` to a libp2p
 * `MessageStream` (the encrypted connection) and core stream ids to
 * `YamuxStream`s. Protocol decisions all live in the session; this file only
 * translates events and errors between the two worlds. It implements
 * libp2p's `StreamMuxer` itself: streams are kept by id (no array to scan,
 * no close listener per stream, no drain fan-out to every stream).
 */
import { MuxerClosedError, TooManyOutboundProtocolStreamsError, TypedEventEmitter, serviceCapabilities } from '@libp2p/interface'
import { MaxEarlyStreamsError } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { RemoteGoAwayError, SessionShutdownError, StreamLimitError } from '../core/errors.ts'
import { Session } from '../core/session.ts'
import { environment } from '../environment.ts'
import { listPieces } from '../list-pieces.ts'
import { IdleWatch } from './idle.ts'
import { checkReadBufferLength, resolveOptions } from './options.ts'
import { YamuxStream } from './stream.ts'
import type { ResolvedOptions, YamuxMuxerInit } from './options.ts'
import type { StreamOwner } from './stream.ts'
import type { YamuxError } from '../core/errors.ts'
import type { SessionHandler } from '../core/session.ts'
import type { AbortOptions, CreateStreamOptions, EventHandler, Logger, MessageStream, StreamMuxer, StreamMuxerEvents, StreamMuxerFactory, StreamMuxerStatus, StreamOptions } from '@libp2p/interface'

export const PROTOCOL = '/yamux/1.0.0'

/** Marks our muxers (a registered symbol: the same in every copy of this package). */
export const YAMUX_MUXER: unique symbol = Symbol.for('libp2p-yamux/muxer')

/** A frame cut by transport reads is joined for one delivery up to this size. */
const MAX_JOINED_FRAME = 256 * 1024

export class YamuxMuxer extends TypedEventEmitter<StreamMuxerEvents<YamuxStream>> implements StreamMuxer<YamuxStream>, StreamOwner {
  readonly protocol = PROTOCOL
  status: StreamMuxerStatus = 'open'
  readonly log: Logger
  private readonly maConn: MessageStream
  private readonly session: Session
  private readonly options: ResolvedOptions
  /** Live streams by yamux id, in opening order. */
  private readonly byId = new Map<number, YamuxStream>()
  /** Inbound streams that arrived before anything listened for 'stream'. */
  private earlyStreams: YamuxStream[] = []
  private readonly idle = new IdleWatch()
  /**
   * Pieces of the frame a transport read cut, held until its last piece so
   * the stream gets the frame in one delivery (as it gets uncut frames), not
   * one per read. Frames arrive one after another, so one frame at a time.
   */
  private cut: Uint8Array[] | undefined = undefined
  private cutId = 0
  private cutBytes = 0

  constructor (maConn: MessageStream, options: ResolvedOptions) {
    super()
    this.maConn = maConn
    this.options = options
    const log = this.log = maConn.log.newScope('yamux')
    this.session = new Session({
      client: maConn.direction === 'outbound',
      environment,
      handler: this.sessionHandler(),
      // streams copy only what they hold (stream-read.ts): what goes straight to
      // a listener is not copied
      config: { ...options.session, copySmallPieces: false, logger: log.enabled ? (fmt, ...args) => { log(fmt, ...args) } : undefined }
    })
    maConn.addEventListener('message', (evt) => {
      try {
        this.onData(evt.data)
      } catch (err: any) {
        this.abort(err)
        this.maConn.abort(err)
      }
    })
    maConn.addEventListener('drain', () => { this.session.transportDrained() })
    maConn.addEventListener('close', (evt) => { this.onTransportClosed(evt.error) })
  }

  /** Lets `isYamuxMuxer` recognise muxers of another copy of this package. */
  get [YAMUX_MUXER] (): true { return true }

  /** The open streams, oldest first (a fresh array each time). */
  get streams (): YamuxStream[] {
    return [...this.byId.values()]
  }

  /** Smoothed round-trip time to the peer in ms, or -1 before the first pong. */
  get rtt (): number {
    return this.session.rtt
  }

  /** Pings the peer and resolves with the round-trip time in ms. */
  async ping (options?: AbortOptions): Promise<number> {
    options?.signal?.throwIfAborted()
    return new Promise<number>((resolve, reject) => {
      const onAbort = (): void => { reject(options?.signal?.reason) }
      options?.signal?.addEventListener('abort', onAbort, { once: true })
      this.session.ping((err, rtt) => {
        options?.signal?.removeEventListener('abort', onAbort)
        if (err !== undefined) { reject(err) } else { resolve(rtt) }
      })
    })
  }

  /** Transport counters (writes, frames, window updates, bytes). */
  get stats (): Session['stats'] {
    return this.session.stats
  }

  // ---- libp2p → core ----

  override addEventListener<K extends keyof StreamMuxerEvents<YamuxStream>>(type: K, listener: EventHandler<StreamMuxerEvents<YamuxStream>[K]> | null, options?: boolean | AddEventListenerOptions): void
  override addEventListener (type: string, listener: EventHandler<Event>, options?: boolean | AddEventListenerOptions): void
  override addEventListener (...args: any[]): void {
    // @ts-expect-error the overloads cannot be forwarded with a spread
    super.addEventListener(...args)
    if (args[0] !== 'stream' || this.earlyStreams.length === 0) { return }
    // ACK the held streams now; hand them over after the caller's code ran
    const early = this.earlyStreams
    this.earlyStreams = []
    for (const stream of early) { if (stream.status === 'open') { this.session.acceptStream(stream.streamId) } }
    queueMicrotask(() => {
      for (const stream of early) { this.safeDispatchEvent('stream', { detail: stream }) }
    })
  }

  onData (data: Uint8Array | Uint8ArrayList): void {
    if (data instanceof Uint8Array) {
      this.session.receive(data)
      return
    }
    const bufs = listPieces(data)
    for (let i = 0; i < bufs.length; i++) { this.session.receive(bufs[i]) }
  }

  async createStream (options: CreateStreamOptions = {}): Promise<YamuxStream> {
    if (this.status !== 'open') { throw new MuxerClosedError() }
    const merged: StreamOptions = { ...this.options.streamOptions, ...options }
    checkReadBufferLength(options.maxReadBufferLength, this.options.session, 'maxReadBufferLength')
    let id: number
    try {
      id = this.session.openStream()
    } catch (err) {
      if (err instanceof SessionShutdownError || err instanceof RemoteGoAwayError) { throw new MuxerClosedError(err.message) }
      if (err instanceof StreamLimitError) { throw new TooManyOutboundProtocolStreamsError(err.message) }
      throw err
    }
    return this.track(id, 'outbound', merged)
  }

  async close (options?: AbortOptions): Promise<void> {
    if (this.status !== 'open') { return }
    this.status = 'closing'
    const closing = Promise.all(this.streams.map(async (stream) => { await stream.close(options) }))
    await raceSignal(closing, options?.signal)
    this.status = 'closed'
    this.session.close()
  }

  abort (err: Error): void {
    if (this.status === 'closed') { return }
    this.status = 'closing'
    // GoAway first: it ends every stream, so none needs its own RST
    this.session.close(err)
    for (const stream of this.streams) { stream.abort(err) }
    this.status = 'closed'
  }

  /**
   * The transport ended. With an error the session fails with TransportError
   * (its `cause`); without one, streams that did not get the peer's FIN fail
   * with TransportClosedError unless the peer sent GoAway first; the rest end
   * cleanly (see onSessionClosed).
   */
  onTransportClosed (err?: Error): void {
    this.session.transportClosed(err)
    this.status = 'closing'
    for (const stream of this.streams) { stream.onTransportClosed(err) }
    this.status = 'closed'
  }

  // ---- streams → muxer ----

  streamEnded (stream: YamuxStream): void {
    this.byId.delete(stream.streamId)
    this.idle.forget(stream)
  }

  streamActive (stream: YamuxStream): void {
    this.idle.active(stream)
  }

  // ---- core → libp2p ----

  private sessionHandler (): SessionHandler {
    const streams = this.byId
    return {
      write: (chunks) => this.maConn.send(chunks.length === 1 ? chunks[0] : new Uint8ArrayList(...chunks)),
      queuedBytes: () => this.maConn.writeBufferLength,
      onStream: (id) => { this.onRemoteStream(id) },
      onData: (id, data, more) => {
        if (!more && this.cutBytes === 0) {
          streams.get(id)?.onData(data) // the common case: a whole frame, or its only piece
        } else {
          this.onCutPiece(id, data, more)
        }
      },
      onRemoteClose: (id) => { streams.get(id)?.onRemoteCloseWrite() },
      onStreamReset: (id, error, remote) => {
        const stream = streams.get(id)
        if (stream === undefined) { return }
        if (remote) { stream.onRemoteReset() } else { stream.abort(error) }
      },
      onStreamClosed: () => {
        // the libp2p stream ends by its own rules (both FINs, a reset) and then leaves byId
      },
      onWritable: (id) => { streams.get(id)?.onWritable() },
      onGoAway: (code) => { this.log('remote sent GoAway(%d): no new streams', code) },
      onClose: (error) => { this.onSessionClosed(error) }
    }
  }

  /** A piece of a frame cut by a read (`more`), or the last piece of one. */
  private onCutPiece (id: number, data: Uint8Array, more: boolean): void {
    if (this.cut !== undefined && this.cutId !== id) {
      // the stream whose frame was cut ended meanwhile: its pieces go nowhere
      this.cut = undefined
      this.cutBytes = 0
    }
    (this.cut ??= []).push(data)
    this.cutId = id
    this.cutBytes += data.byteLength
    // a large frame is still handed on as it comes, at least every MAX_JOINED_FRAME bytes
    if (more && this.cutBytes < MAX_JOINED_FRAME) { return }
    const pieces = this.cut
    this.cut = undefined
    this.cutBytes = 0
    this.byId.get(id)?.onData(pieces.length === 1 ? pieces[0] : new Uint8ArrayList(...pieces))
  }

  private onRemoteStream (id: number): void {
    const stream = this.track(id, 'inbound', this.options.streamOptions)
    if (this.listenerCount('stream') > 0) {
      this.session.acceptStream(id)
      this.safeDispatchEvent('stream', { detail: stream })
      return
    }
    // nobody listens yet: hold it un-ACKed, so a peer honouring the ACK
    // backlog (libp2p/specs#547) pauses opening more
    this.earlyStreams.push(stream)
    if (this.earlyStreams.length > this.options.maxEarlyStreams) {
      this.abort(new MaxEarlyStreamsError(`Too many early streams were opened - ${this.earlyStreams.length}/${this.options.maxEarlyStreams}`))
    }
  }

  private onSessionClosed (error?: YamuxError): void {
    this.idle.stop()
    this.cut = undefined
    this.cutBytes = 0
    if (error === undefined) {
      // a clean end (our close(), or the transport's once unfinished streams failed)
      for (const stream of this.streams) { stream.onTransportClosed() }
      return
    }
    this.log.error('session ended - %e', error)
    if (this.status !== 'closed') {
      this.status = 'closing'
      for (const stream of this.streams) { stream.abort(error) }
      this.status = 'closed'
    }
    // let the GoAway already handed to the transport leave before it closes
    this.maConn.close({ signal: AbortSignal.timeout(this.options.session.connectionWriteTimeout) })
      .catch(() => { this.maConn.abort(error) })
  }

  private track (id: number, direction: 'inbound' | 'outbound', options: StreamOptions): YamuxStream {
    const watched = options.inactivityTimeout !== undefined && options.inactivityTimeout > 0
    // by default a stream may buffer what its largest window admits: a cap
    // below it (libp2p's usual 4 MiB) keeps one fast stream's window small
    // and its sender waiting for credit
    const maxReadBufferLength = options.maxReadBufferLength ?? this.options.session.maxStreamWindowSize
    const stream = new YamuxStream({
      streamId: id,
      session: this.session,
      owner: this,
      direction,
      maxReadBufferLength,
      maxWriteBufferLength: options.maxWriteBufferLength,
      inactivityTimeout: options.inactivityTimeout ?? 120_000,
      watched
    })
    if (watched) { this.idle.watch(stream, options.inactivityTimeout ?? 0) }
    this.session.limitReceiveWindow(id, maxReadBufferLength)
    this.byId.set(id, stream)
    return stream
  }
}

/** Settles with `promise`, or rejects with the signal's reason once it aborts. */
async function raceSignal<T> (promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) { return promise }
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([promise, new Promise<never>((resolve, reject) => {
      onAbort = () => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    if (onAbort !== undefined) { signal.removeEventListener('abort', onAbort) }
  }
}

export class YamuxFactory implements StreamMuxerFactory<YamuxMuxer> {
  readonly protocol = PROTOCOL
  readonly [Symbol.toStringTag] = 'libp2p-yamux'
  readonly [serviceCapabilities]: string[] = ['@libp2p/stream-multiplexing']
  private readonly options: ResolvedOptions

  constructor (init: YamuxMuxerInit = {}) {
    this.options = resolveOptions(init)
  }

  createStreamMuxer (maConn: MessageStream): YamuxMuxer {
    return new YamuxMuxer(maConn, this.options)
  }
}
