/**
 * @packageDocumentation
 *
 * yamux over any Node.js duplex byte stream (a `net.Socket`, a TLS socket),
 * with no libp2p: hashicorp/yamux's `Client`/`Server` API, streams as Node
 * `Duplex` streams. Node-only, hence its own subpath export.
 *
 * @example
 *
 * ```TypeScript
 * import net from 'node:net'
 * import { Client, Server } from 'libp2p-yamux/node'
 *
 * net.createServer(async (socket) => {
 *   const session = Server(socket)
 *   for (;;) {
 *     const stream = await session.accept()
 *     stream.pipe(stream) // echo
 *   }
 * }).listen(4000)
 *
 * const session = Client(net.connect(4000))
 * const stream = await session.open()
 * stream.end('ping')
 * ```
 */
import { EventEmitter } from 'node:events'
import { Duplex } from 'node:stream'
import { SessionShutdownError } from '../core/errors.ts'
import { Session } from '../core/session.ts'
import { environment } from '../environment.ts'
import type { SessionConfig } from '../core/config.ts'
import type { YamuxError } from '../core/errors.ts'

export type { SessionConfig } from '../core/config.ts'
export * from '../core/errors.ts'
export { GoAwayCode } from '../core/constants.ts'

/** A byte transport: `net.Socket`, `tls.TLSSocket`, or any Duplex of bytes. */
export type Transport = Duplex

/** One yamux stream as a Node.js Duplex. */
export class YamuxDuplex extends Duplex {
  /** The yamux stream id. */
  readonly id: number
  private readonly session: Session
  private uncredited = 0
  private pending?: { data: Uint8Array, callback(err?: Error | null): void }
  private finished = false

  constructor (session: Session, id: number) {
    super({ allowHalfOpen: true })
    this.session = session
    this.id = id
  }

  /** @internal */
  onData (data: Uint8Array): void {
    this.uncredited += data.byteLength
    this.push(data)
  }

  /** @internal */
  onRemoteClose (): void {
    this.push(null)
  }

  /** @internal */
  onReset (error: YamuxError): void {
    this.finished = true
    if (!this.destroyed) { this.destroy(error) }
  }

  /** @internal */
  onWritable (): void {
    const pending = this.pending
    if (pending === undefined) { return }
    this.pending = undefined
    this._write(pending.data, 'binary', pending.callback)
  }

  /** @internal */
  onSessionEnd (error?: YamuxError): void {
    this.finished = true
    if (this.destroyed) { return }
    if (error === undefined) {
      // a clean end, like a socket's: the readable side ends (what is
      // buffered can still be read); only a write still waiting for room fails
      this.push(null)
      const pending = this.pending
      this.pending = undefined
      pending?.callback(new SessionShutdownError('session closed before this write could be sent'))
    } else {
      this.destroy(error)
    }
  }

  override _read (): void {
    // the reader wants more: return credit for what it has taken so far
    if (this.uncredited > 0) {
      this.session.consume(this.id, this.uncredited)
      this.uncredited = 0
    }
  }

  override _write (chunk: Buffer | Uint8Array, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    let data: Uint8Array = chunk
    try {
      while (data.byteLength > 0) {
        const taken = this.session.write(this.id, data)
        if (taken === 0) {
          this.pending = { data, callback }
          return
        }
        data = data.subarray(taken)
      }
    } catch (err: any) {
      callback(err)
      return
    }
    callback()
  }

  override _final (callback: (err?: Error | null) => void): void {
    this.session.closeWrite(this.id)
    callback()
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    const graceful = this.writableFinished && this.readableEnded
    if (!this.finished && !graceful) {
      // destroyed before both halves closed: tell the peer
      this.session.reset(this.id)
    }
    this.finished = true
    const pending = this.pending
    this.pending = undefined
    pending?.callback(err ?? new SessionShutdownError('stream destroyed'))
    callback(err)
  }
}

export interface YamuxSessionEvents {
  /** The session ended (error undefined for a clean close). */
  close: [error?: YamuxError]
  /** The peer sent GoAway(0): no new streams. */
  goaway: [code: number]
}

/** A yamux session over a Node.js byte stream. */
export class YamuxSession extends EventEmitter<YamuxSessionEvents> {
  private readonly transport: Transport
  private readonly session: Session
  private readonly streams = new Map<number, YamuxDuplex>()
  private readonly acceptQueue: YamuxDuplex[] = []
  private readonly acceptWaiters: Array<{ resolve(stream: YamuxDuplex): void, reject(err: Error): void }> = []
  private closeError: YamuxError | undefined
  private ended = false

  constructor (transport: Transport, client: boolean, config?: Partial<SessionConfig>) {
    super()
    this.transport = transport
    this.session = new Session({
      client,
      config,
      environment,
      handler: {
        write: (chunks) => {
          if (chunks.length === 1) { return transport.write(chunks[0]) }
          transport.cork()
          let more = true
          for (const chunk of chunks) { more = transport.write(chunk) }
          transport.uncork()
          return more
        },
        queuedBytes: () => transport.writableLength,
        onStream: (id) => {
          const stream = this.track(id)
          const waiter = this.acceptWaiters.shift()
          if (waiter !== undefined) {
            this.session.acceptStream(id)
            waiter.resolve(stream)
          } else {
            this.acceptQueue.push(stream)
          }
        },
        onData: (id, data) => { this.streams.get(id)?.onData(data) },
        onRemoteClose: (id) => { this.streams.get(id)?.onRemoteClose() },
        onStreamReset: (id, error) => {
          const stream = this.streams.get(id)
          this.streams.delete(id)
          if (stream === undefined) { return }
          const queued = this.acceptQueue.indexOf(stream)
          if (queued >= 0) {
            // never handed out: nobody could listen for its error
            this.acceptQueue.splice(queued, 1)
            stream.destroy()
            return
          }
          stream.onReset(error)
        },
        onStreamClosed: (id) => { this.streams.delete(id) },
        onWritable: (id) => { this.streams.get(id)?.onWritable() },
        onGoAway: (code) => { this.emit('goaway', code) },
        onClose: (error) => { this.onClose(error) }
      }
    })
    transport.on('data', (chunk: Uint8Array) => { this.session.receive(chunk) })
    transport.on('drain', () => { this.session.transportDrained() })
    transport.on('error', (err) => { this.session.transportClosed(err) })
    transport.on('close', () => { this.session.transportClosed() })
    transport.on('end', () => { this.session.transportClosed() })
  }

  /** Opens a stream (its SYN leaves with the first write). */
  async open (): Promise<YamuxDuplex> {
    return this.track(this.session.openStream())
  }

  /** Waits for the next stream the peer opens and acknowledges it. */
  async accept (): Promise<YamuxDuplex> {
    const stream = this.acceptQueue.shift()
    if (stream !== undefined) {
      this.session.acceptStream(stream.id)
      return stream
    }
    if (this.ended) { throw this.closeError ?? new SessionShutdownError() }
    return new Promise((resolve, reject) => { this.acceptWaiters.push({ resolve, reject }) })
  }

  /** Round-trip time in ms of one ping. */
  async ping (): Promise<number> {
    return new Promise((resolve, reject) => {
      this.session.ping((err, rtt) => { if (err !== undefined) { reject(err) } else { resolve(rtt) } })
    })
  }

  /** Smoothed RTT in ms, -1 before the first pong. */
  get rtt (): number { return this.session.rtt }
  /** Open streams. */
  get numStreams (): number { return this.session.streamCount }
  get isClosed (): boolean { return this.ended }
  /** Transport counters. */
  get stats (): Session['stats'] { return this.session.stats }

  /** Sends GoAway(0): no new streams either way; open ones carry on. */
  goAway (): void {
    this.session.goAway()
  }

  /** Ends the session: GoAway (code 0, or the error's), then closes the transport. */
  close (error?: Error): void {
    this.session.close(error)
  }

  private track (id: number): YamuxDuplex {
    const stream = new YamuxDuplex(this.session, id)
    // dropped on the session's onStreamClosed/onStreamReset/onClose
    this.streams.set(id, stream)
    return stream
  }

  private onClose (error?: YamuxError): void {
    this.ended = true
    this.closeError = error
    // streams never handed out: nobody could listen for their errors
    const unaccepted = new Set(this.acceptQueue.splice(0))
    for (const stream of unaccepted) { stream.destroy() }
    for (const stream of [...this.streams.values()]) {
      if (!unaccepted.has(stream)) { stream.onSessionEnd(error) }
    }
    this.streams.clear()
    for (const waiter of this.acceptWaiters.splice(0)) { waiter.reject(error ?? new SessionShutdownError()) }
    this.transport.end()
    this.emit('close', error)
  }
}

/** Starts the client side of a session (odd stream ids) on `transport`. */
export function Client (transport: Transport, config?: Partial<SessionConfig>): YamuxSession {
  return new YamuxSession(transport, true, config)
}

/** Starts the server side of a session (even stream ids) on `transport`. */
export function Server (transport: Transport, config?: Partial<SessionConfig>): YamuxSession {
  return new YamuxSession(transport, false, config)
}
