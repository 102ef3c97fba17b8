/** A yamux session over a Node.js byte stream: opening and accepting streams, ping, GoAway and close, on the core. */
import { EventEmitter } from 'node:events'
import { SessionShutdownError } from '../core/errors.ts'
import { Session } from '../core/session.ts'
import { environment } from '../environment.ts'
import { YamuxDuplex } from './duplex.ts'
import { checkTransport, closeTransport } from './transport.ts'
import type { Transport } from './transport.ts'
import type { SessionConfig } from '../core/config.ts'
import type { YamuxError } from '../core/errors.ts'

export interface YamuxSessionEvents {
  /** The session ended (error undefined for a clean close). */
  close: [error?: YamuxError]
  /** The peer sent GoAway(0): no new streams. */
  goaway: [code: number]
}

/** Options of {@link YamuxSession.open} and {@link YamuxSession.accept}. */
export interface WaitOptions {
  /** Aborting it rejects the call with `signal.reason`. */
  signal?: AbortSignal
}

interface AcceptWaiter {
  resolve(stream: YamuxDuplex): void
  reject(err: Error): void
}

/** A yamux session over a Node.js byte stream. */
export class YamuxSession extends EventEmitter<YamuxSessionEvents> {
  /**
   * Settles when the session has ended (hashicorp's `CloseChan`), with the
   * error that ended it or undefined. Never rejects.
   */
  readonly closed: Promise<YamuxError | undefined>
  /** @internal */
  readonly core: Session
  private readonly transport: Transport
  private readonly streams = new Map<number, YamuxDuplex>()
  private readonly acceptQueue: YamuxDuplex[] = []
  private readonly acceptWaiters: AcceptWaiter[] = []
  private endError: YamuxError | undefined
  private ended = false
  private resolveClosed!: (error: YamuxError | undefined) => void
  /** Our GoAway went to the transport. */
  private goAwayWritten = false
  private goAwayFlushed = false
  private goAwayWaiters: Array<() => void> = []
  private transportClosed = false
  private transportWaiters: Array<() => void> = []
  private readonly transportListeners: Array<[string, (...args: any[]) => void]>

  /**
   * Starts a session on `transport`; `client` picks odd stream ids. Throws
   * a TypeError if `transport` is not a Duplex of bytes and
   * InvalidConfigError for a bad `config`, leaving nothing behind.
   */
  constructor (transport: Transport, client: boolean, config?: Partial<SessionConfig>) {
    super()
    checkTransport(transport)
    this.transport = transport
    this.closed = new Promise(resolve => { this.resolveClosed = resolve })
    this.core = new Session({
      client,
      config,
      environment,
      handler: {
        write: (chunks) => this.writeTransport(chunks),
        queuedBytes: () => transport.writableLength,
        onStream: (id) => { this.onStream(id) },
        onData: (id, data) => { this.streams.get(id)?.onData(data) },
        onRemoteClose: (id) => { this.streams.get(id)?.onRemoteClose() },
        onStreamReset: (id, error) => { this.onStreamGone(id, error) },
        onStreamClosed: (id) => { this.streams.delete(id) },
        onWritable: (id) => { this.streams.get(id)?.onWritable() },
        onGoAway: (code) => { this.emit('goaway', code) },
        onClose: (error) => { this.onClose(error) }
      }
    })
    const core = this.core
    this.transportListeners = [
      ['data', (chunk: Uint8Array) => { core.receive(chunk) }],
      ['drain', () => { core.transportDrained() }],
      ['error', (err: Error) => { core.transportClosed(err) }],
      ['close', () => { core.transportClosed() }],
      ['end', () => { core.transportClosed() }]
    ]
    for (const [event, listener] of this.transportListeners) { transport.on(event, listener) }
    if (transport.destroyed === true || transport.readableEnded === true) {
      queueMicrotask(() => { core.transportClosed() })
    }
  }

  /**
   * Opens a stream; its SYN leaves at once. Rejects with
   * SessionShutdownError, RemoteGoAwayError, StreamLimitError or
   * StreamsExhaustedError, or `signal.reason` if `signal` is aborted.
   */
  async open (options?: WaitOptions): Promise<YamuxDuplex> {
    options?.signal?.throwIfAborted()
    return this.openStream()
  }

  /** Opens a stream synchronously (what {@link open} does); throws the errors `open()` rejects with. */
  openStream (): YamuxDuplex {
    const stream = this.track(this.core.openStream())
    stream.handOut()
    return stream
  }

  /**
   * Waits for the next stream the peer opens and acknowledges it. Rejects
   * with SessionShutdownError once the session has ended (its `cause` is the
   * error that ended it), or `signal.reason` if `signal` is aborted.
   * `for await (const stream of session)` is the loop that ends by itself.
   */
  async accept (options?: WaitOptions): Promise<YamuxDuplex> {
    const signal = options?.signal
    signal?.throwIfAborted()
    const stream = this.acceptQueue.shift()
    if (stream !== undefined) {
      this.core.acceptStream(stream.id)
      stream.handOut()
      return stream
    }
    if (this.ended) { throw this.shutdownError() }
    return new Promise((resolve, reject) => {
      const waiter: AcceptWaiter = { resolve, reject }
      if (signal !== undefined) {
        const onAbort = (): void => {
          const i = this.acceptWaiters.indexOf(waiter)
          if (i >= 0) { this.acceptWaiters.splice(i, 1) }
          reject(signal.reason)
        }
        signal.addEventListener('abort', onAbort, { once: true })
        waiter.resolve = (stream) => { signal.removeEventListener('abort', onAbort); resolve(stream) }
        waiter.reject = (err) => { signal.removeEventListener('abort', onAbort); reject(err) }
      }
      this.acceptWaiters.push(waiter)
    })
  }

  /** Accepts streams until the session ends, then finishes without an error. */
  async * [Symbol.asyncIterator] (): AsyncGenerator<YamuxDuplex, void, undefined> {
    for (;;) {
      let stream: YamuxDuplex
      try {
        stream = await this.accept()
      } catch (err) {
        if (this.ended) { return }
        throw err
      }
      yield stream
    }
  }

  /** Round-trip time in ms of one ping; rejects with TimeoutError or SessionShutdownError. */
  async ping (): Promise<number> {
    return new Promise((resolve, reject) => {
      this.core.ping((err, rtt) => { if (err !== undefined) { reject(err) } else { resolve(rtt) } })
    })
  }

  /** Smoothed RTT in ms, -1 before the first pong. */
  get rtt (): number { return this.core.rtt }
  /** Open streams. */
  get numStreams (): number { return this.core.streamCount }
  get isClosed (): boolean { return this.ended }
  /** Transport counters. */
  get stats (): Session['stats'] { return this.core.stats }
  /** The transport's local address, when it has one (a socket). */
  get localAddress (): string | undefined { return (this.transport as { localAddress?: string }).localAddress }
  get localPort (): number | undefined { return (this.transport as { localPort?: number }).localPort }
  /** The transport's remote address, when it has one (a socket). */
  get remoteAddress (): string | undefined { return (this.transport as { remoteAddress?: string }).remoteAddress }
  get remotePort (): number | undefined { return (this.transport as { remotePort?: number }).remotePort }

  /**
   * Sends GoAway(0): no new streams either way; open ones carry on. Resolves
   * once the GoAway has been written to the transport (or the session ended
   * before it could be). Never rejects.
   */
  async goAway (): Promise<void> {
    this.core.goAway()
    await this.goAwayDone()
  }

  /**
   * Ends the session: GoAway (code 0, or the error's), then the transport is
   * ended and closed. Resolves once the GoAway was written and the transport
   * is closed. Never rejects.
   */
  async close (error?: Error): Promise<void> {
    this.core.close(error)
    await this.goAwayDone()
    if (this.transportClosed) { return }
    await new Promise<void>(resolve => { this.transportWaiters.push(resolve) })
  }

  // ---------------------------------------------------------------------

  private async goAwayDone (): Promise<void> {
    if (this.goAwayFlushed || (this.ended && !this.goAwayWritten)) { return }
    await new Promise<void>(resolve => { this.goAwayWaiters.push(resolve) })
  }

  private writeTransport (chunks: Uint8Array[]): boolean {
    const transport = this.transport
    // the batch that carries our GoAway: learn when it has been written
    const goAway = !this.goAwayWritten && this.core.goAwaySent
    if (goAway) { this.goAwayWritten = true }
    const last = chunks.length - 1
    if (last > 0 && transport.cork !== undefined) { transport.cork() }
    let more = true
    for (let i = 0; i < last; i++) { more = transport.write(chunks[i]) }
    more = goAway ? transport.write(chunks[last], () => { this.onGoAwayFlushed() }) : transport.write(chunks[last])
    if (last > 0 && transport.uncork !== undefined) { transport.uncork() }
    return more
  }

  private onGoAwayFlushed (): void {
    this.goAwayFlushed = true
    for (const resolve of this.goAwayWaiters.splice(0)) { resolve() }
  }

  private onStream (id: number): void {
    const stream = this.track(id)
    const waiter = this.acceptWaiters.shift()
    if (waiter !== undefined) {
      this.core.acceptStream(id)
      stream.handOut()
      waiter.resolve(stream)
    } else {
      this.acceptQueue.push(stream)
    }
  }

  /** The core ended stream `id` with an error (reset, timeout, transport). */
  private onStreamGone (id: number, error: YamuxError): void {
    const stream = this.streams.get(id)
    if (stream === undefined) { return }
    this.streams.delete(id)
    const queued = this.acceptQueue.indexOf(stream)
    if (queued >= 0) { this.acceptQueue.splice(queued, 1) }
    stream.fail(error)
  }

  private track (id: number): YamuxDuplex {
    const stream = this.createStream(id)
    // dropped on the session's onStreamClosed/onStreamReset/onClose
    this.streams.set(id, stream)
    return stream
  }

  /**
   * A new stream object for stream `id` (a subclass of the session may make
   * a subclass of YamuxDuplex).
   *
   * @internal
   */
  protected createStream (id: number): YamuxDuplex {
    return new YamuxDuplex(this, id)
  }

  private shutdownError (): SessionShutdownError {
    const error = new SessionShutdownError()
    if (this.endError !== undefined) { error.cause = this.endError }
    return error
  }

  private onClose (error?: YamuxError): void {
    this.ended = true
    this.endError = error
    // streams never handed out: nobody could listen for their errors
    for (const stream of this.acceptQueue.splice(0)) {
      this.streams.delete(stream.id)
      stream.fail(error ?? new SessionShutdownError())
    }
    for (const stream of this.streams.values()) {
      if (error === undefined) { stream.onSessionEnd() } else { stream.fail(error) }
    }
    this.streams.clear()
    for (const waiter of this.acceptWaiters.splice(0)) { waiter.reject(this.shutdownError()) }
    if (!this.goAwayWritten) { this.onGoAwayFlushed() }
    const logger = this.core.config.logger
    closeTransport(this.transport, error !== undefined, this.core.config.connectionWriteTimeout, () => { this.onTransportClosed() },
      logger === undefined ? undefined : (message) => { logger(message) })
    this.resolveClosed(error)
    this.emit('close', error)
  }

  private onTransportClosed (): void {
    for (const [event, listener] of this.transportListeners) { this.transport.removeListener(event, listener) }
    this.transportClosed = true
    if (!this.goAwayFlushed) { this.onGoAwayFlushed() }
    for (const resolve of this.transportWaiters.splice(0)) { resolve() }
  }
}
