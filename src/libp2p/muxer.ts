/**
 * The libp2p v3 stream muxer: wires a core `Session` to a libp2p
 * `MessageStream` (the encrypted connection) and core stream ids to
 * `YamuxStream`s. Protocol decisions all live in the session; this file only
 * translates events and errors between the two worlds.
 */
import { MuxerClosedError, TimeoutError, TooManyOutboundProtocolStreamsError, serviceCapabilities } from '@libp2p/interface'
import { AbstractStreamMuxer } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { RemoteGoAwayError, SessionShutdownError, StreamLimitError } from '../core/errors.ts'
import { Session } from '../core/session.ts'
import { environment } from '../environment.ts'
import { checkReadBufferLength, resolveOptions } from './options.ts'
import { YamuxStream } from './stream.ts'
import type { ResolvedOptions, YamuxMuxerInit } from './options.ts'
import type { YamuxError } from '../core/errors.ts'
import type { SessionHandler } from '../core/session.ts'
import type { AbortOptions, CreateStreamOptions, EventHandler, MessageStream, StreamMuxerEvents, StreamMuxerFactory } from '@libp2p/interface'

export const PROTOCOL = '/yamux/1.0.0'

/** Marks our muxers (a registered symbol: the same in every copy of this package). */
export const YAMUX_MUXER: unique symbol = Symbol.for('libp2p-yamux/muxer')

export class YamuxMuxer extends AbstractStreamMuxer<YamuxStream> {
  /** Lets `isYamuxMuxer` recognise muxers of another copy of this package. */
  get [YAMUX_MUXER] (): true { return true }
  private readonly session: Session
  private readonly byId = new Map<number, YamuxStream>()
  private readonly options: ResolvedOptions
  private unacceptedIds: number[] = []
  /** Streams whose caller set an inactivity timeout, checked by one sweep timer. */
  private readonly idleWatch = new Set<YamuxStream>()
  private idleTimer: unknown
  /** The transport's error once it ended with one. */
  private readonly transportEnd: { error?: Error }

  constructor (maConn: MessageStream, options: ResolvedOptions) {
    // The base class reports the transport's 'close' without its error:
    // this listener, added first, keeps the error for onTransportClosed.
    const transportEnd: { error?: Error } = {}
    maConn.addEventListener('close', (evt) => { transportEnd.error = evt.error })
    super(maConn, {
      protocol: PROTOCOL,
      name: 'yamux',
      maxEarlyStreams: options.maxEarlyStreams,
      streamOptions: options.streamOptions
    })
    this.options = options
    this.transportEnd = transportEnd
    const log = this.log
    this.session = new Session({
      client: maConn.direction === 'outbound',
      environment,
      handler: this.sessionHandler(),
      config: { ...options.session, logger: log.enabled ? (fmt, ...args) => { log(fmt, ...args) } : undefined }
    })
    maConn.addEventListener('drain', () => { this.session.transportDrained() })
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
    if (args[0] === 'stream' && this.unacceptedIds.length > 0) {
      const ids = this.unacceptedIds
      this.unacceptedIds = []
      for (const id of ids) { this.session.acceptStream(id) }
    }
  }

  onData (data: Uint8Array | Uint8ArrayList): void {
    if (data instanceof Uint8Array) {
      this.session.receive(data)
      return
    }
    for (const buf of data) { this.session.receive(buf) }
  }

  onCreateStream (options: CreateStreamOptions): YamuxStream {
    checkReadBufferLength(options.maxReadBufferLength, this.options.session, 'maxReadBufferLength')
    let id: number
    try {
      id = this.session.openStream()
    } catch (err) {
      if (err instanceof SessionShutdownError || err instanceof RemoteGoAwayError) { throw new MuxerClosedError(err.message) }
      if (err instanceof StreamLimitError) { throw new TooManyOutboundProtocolStreamsError(err.message) }
      throw err
    }
    return this.track(id, 'outbound', options)
  }

  override async close (options?: AbortOptions): Promise<void> {
    if (this.status !== 'open') { return }
    await super.close(options)
    this.session.close()
  }

  override abort (err: Error): void {
    if (this.status === 'closed') { return }
    // GoAway first: it ends every stream, so none needs its own RST
    this.session.close(err)
    super.abort(err)
  }

  /**
   * The transport ended. With an error the session fails with TransportError
   * (its `cause`); without one, streams that did not get the peer's FIN fail
   * with TransportClosedError unless the peer sent GoAway first; the rest end
   * cleanly (see onSessionClosed).
   */
  override onTransportClosed (err?: Error): void {
    this.session.transportClosed(err ?? this.transportEnd.error)
    super.onTransportClosed(err)
  }

  // ---- core → libp2p ----

  private sessionHandler (): SessionHandler {
    const streams = this.byId
    return {
      write: (chunks) => this.maConn.send(chunks.length === 1 ? chunks[0] : new Uint8ArrayList(...chunks)),
      queuedBytes: () => this.maConn.writeBufferLength,
      onStream: (id) => {
        const stream = this.track(id, 'inbound', this.options.streamOptions)
        // with nobody listening yet, leave the stream un-ACKed: a peer honouring
        // the ACK backlog (libp2p/specs#547) then pauses opening more
        if (this.listenerCount('stream') > 0) { this.session.acceptStream(id) } else { this.unacceptedIds.push(id) }
        this.onRemoteStream(stream)
      },
      onData: (id, data) => { streams.get(id)?.onData(data) },
      onRemoteClose: (id) => { streams.get(id)?.onRemoteCloseWrite() },
      onStreamReset: (id, error, remote) => {
        const stream = streams.get(id)
        if (stream === undefined) { return }
        streams.delete(id)
        if (remote) { stream.onRemoteReset() } else { stream.abort(error) }
      },
      onStreamClosed: (id) => { streams.delete(id) },
      onWritable: (id) => { streams.get(id)?.onWritable() },
      onGoAway: (code) => { this.log('remote sent GoAway(%d): no new streams', code) },
      onClose: (error) => { this.onSessionClosed(error) }
    }
  }

  private onSessionClosed (error?: YamuxError): void {
    this.byId.clear()
    this.idleWatch.clear()
    if (this.idleTimer !== undefined) {
      environment.clearTimer(this.idleTimer)
      this.idleTimer = undefined
    }
    if (error === undefined) {
      // a clean end (our close() or the transport's): streams end without error
      for (const stream of [...this.streams]) { stream.onTransportClosed() }
      return
    }
    this.log.error('session ended - %e', error)
    if (this.status !== 'closed') { super.abort(error) }
    // let the GoAway already handed to the transport leave before it closes
    this.maConn.close({ signal: AbortSignal.timeout(this.options.session.connectionWriteTimeout) })
      .catch(() => { this.maConn.abort(error) })
  }

  /**
   * Enforces an inactivity timeout the caller asked for. libp2p documents a
   * 120 s default but no muxer enforces it, and long-lived idle protocol
   * streams depend on that: only explicit values are enforced.
   */
  private watchIdle (stream: YamuxStream, timeout: number): void {
    stream.idleTimeout = timeout
    stream.lastActive = performance.now()
    this.idleWatch.add(stream)
    if (this.idleTimer === undefined) { this.scheduleIdleSweep() }
  }

  private scheduleIdleSweep (): void {
    let shortest = Infinity
    for (const stream of this.idleWatch) { shortest = Math.min(shortest, stream.idleTimeout) }
    this.idleTimer = shortest === Infinity
      ? undefined
      : environment.setTimer(() => { this.sweepIdle() }, Math.max(shortest / 4, 50))
  }

  private sweepIdle (): void {
    this.idleTimer = undefined
    const now = performance.now()
    for (const stream of this.idleWatch) {
      if (stream.status !== 'open') {
        this.idleWatch.delete(stream)
      } else if (now - stream.lastActive >= stream.idleTimeout) {
        this.idleWatch.delete(stream)
        stream.abort(new TimeoutError(`stream inactive for ${stream.idleTimeout} ms`))
      }
    }
    if (this.status !== 'closed') { this.scheduleIdleSweep() }
  }

  private track (id: number, direction: 'inbound' | 'outbound', options: CreateStreamOptions): YamuxStream {
    const log = this.log
    const stream = new YamuxStream({
      ...options,
      // yamux cannot pre-negotiate: an empty protocol makes libp2p run multistream-select
      protocol: '',
      id: `${id}`,
      streamId: id,
      session: this.session,
      direction,
      // scoped loggers cost a debug instance each: only build them when logging is on
      log: log.enabled ? log.newScope(`${direction}:${id}`) : log,
      maxMessageSize: undefined
    })
    if (options.inactivityTimeout !== undefined && options.inactivityTimeout > 0) { this.watchIdle(stream, options.inactivityTimeout) }
    const maxReadBuffer = options.maxReadBufferLength ?? this.options.streamOptions.maxReadBufferLength ?? stream.maxReadBufferLength
    this.session.limitReceiveWindow(id, maxReadBuffer)
    // dropped on the session's onStreamClosed/onStreamReset/onClose: no listener per stream
    this.byId.set(id, stream)
    return stream
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
