/**
 * yamux-js's session shape: a `stream.Transform` the user attaches with
 * `session.pipe(socket).pipe(session)`, holding a `YamuxSession` of
 * libp2p-yamux/node that runs over a {@link Bridge} to the Transform.
 */
import { Transform } from 'node:stream'
import { resolveConfig } from '../core/config.ts'
import { YamuxDuplex, YamuxSession } from '../node/index.ts'
import { Bridge } from './bridge.ts'
import { toResolvedConfig, toSessionConfig } from './config.ts'
import type { Config, ResolvedConfig } from './config.ts'
import type { YamuxError } from '../node/index.ts'
import type { Readable, TransformCallback, Writable } from 'node:stream'

/** A yamux stream: a Node.js Duplex with yamux-js's `ID()` and `close()`. */
export class Stream extends YamuxDuplex {
  /** The yamux stream id (odd: opened by the client, even: by the server). */
  ID (): number {
    return this.id
  }

  /** Half-closes the stream (sends FIN), the same as `end()`. */
  close (): void {
    this.end()
  }
}

/** The session inside the Transform: its streams are {@link Stream}s. */
class StreamSession extends YamuxSession {
  protected override createStream (id: number): Stream {
    return new Stream(this, id)
  }
}

/** Bytes the Transform's readable side and the bridge may each hold before pushing back. */
const HIGH_WATER_MARK = 64 * 1024

export class Session extends Transform {
  /** The settings this session runs with, in yamux-js units (seconds). */
  readonly config: ResolvedConfig
  private readonly session: StreamSession
  private readonly bridge: Bridge
  private handler: ((stream: Stream) => void) | undefined
  private accepting = false
  /** close() was called or the session ended. */
  private shutdown = false
  /** The bridge's output ended (the session closed its transport). */
  private outputEnded = false
  private heldFlush: TransformCallback | undefined
  private readonly sources = new Set<Readable>()
  private readonly destinations = new Set<Writable>()

  constructor (client: boolean, config?: Config, onStream?: (stream: Stream) => void) {
    super({ readableHighWaterMark: HIGH_WATER_MARK })
    const sessionConfig = toSessionConfig(config)
    this.config = toResolvedConfig(resolveConfig(sessionConfig))
    this.bridge = new Bridge({
      pushOutput: (chunk) => this.push(chunk),
      endOutput: () => { this.onOutputEnded() }
    }, HIGH_WATER_MARK)
    this.session = new StreamSession(this.bridge, client, sessionConfig)
    this.session.on('close', (error) => { this.onSessionClose(error) })
    this.on('pipe', (source: Readable) => { this.track(source) })
    this.on('unpipe', (source: Readable) => { this.sources.delete(source) })
    if (onStream !== undefined) { this.onStream = onStream }
  }

  /** Called with each stream the peer opens. Until one is set, streams wait (up to `acceptBacklog`). */
  get onStream (): ((stream: Stream) => void) | undefined {
    return this.handler
  }

  set onStream (handler: ((stream: Stream) => void) | undefined) {
    this.handler = handler
    if (handler !== undefined && !this.accepting) { void this.acceptLoop() }
  }

  /**
   * Opens a stream; its SYN leaves at once, on a frame of its own (data
   * follows: yamux-js drops a payload sent with SYN). Throws
   * SessionShutdownError after close(), RemoteGoAwayError after the peer's
   * GoAway, StreamLimitError past `maxOutboundStreams` (1000) open streams.
   */
  open (): Stream {
    return this.session.openStream() as Stream
  }

  /** True once close() was called or the session ended. */
  isClosed (): boolean {
    return this.shutdown || this.session.isClosed
  }

  /**
   * Ends the session: GoAway (code 0, or internal error with `error`, which
   * is also emitted as 'error'), then the end of the output, which ends the
   * socket it is piped to. Every open stream ends.
   */
  close (error?: Error): void {
    this.shutdown = true
    this.session.close(error)
  }

  /** Round-trip time in ms of one ping. */
  async ping (): Promise<number> {
    return this.session.ping()
  }

  override _transform (chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.outputEnded) {
      // the session is over: the peer's bytes go nowhere
      callback()
      return
    }
    this.bridge.input(chunk, callback)
  }

  override _flush (callback: TransformCallback): void {
    // the peer's bytes ended: the session ends, and with it the output
    if (this.outputEnded) {
      callback()
      return
    }
    this.heldFlush = callback
    this.bridge.inputEnded()
  }

  override _read (size: number): void {
    this.bridge.outputWanted()
    super._read(size)
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    this.shutdown = true
    if (!this.bridge.destroyed) { this.bridge.destroy(err ?? undefined) }
    if ((err as { code?: string } | null)?.code === 'ERR_STREAM_DESTROYED' && this.writableFinished && this.readableEnded) {
      // pipeline() tearing down a session that has already ended both ways,
      // before its 'close' (the socket closed in the same tick): not an error
      callback(null)
      return
    }
    callback(err)
  }

  override pipe<T extends NodeJS.WritableStream> (destination: T, options?: { end?: boolean }): T {
    this.destinations.add(destination as unknown as Writable)
    return super.pipe(destination, options)
  }

  private async acceptLoop (): Promise<void> {
    this.accepting = true
    try {
      for (;;) {
        const stream = await this.session.accept() as Stream
        const handler = this.handler
        if (handler === undefined) {
          stream.destroy()
          continue
        }
        try {
          handler(stream)
        } catch (err) {
          // the application's own bug: uncaught, as from an event listener
          process.nextTick(() => { throw err })
        }
      }
    } catch {
      // the session ended
    } finally {
      this.accepting = false
    }
  }

  /** A source piped into us (the socket): its abrupt close ends the session. */
  private track (source: Readable): void {
    this.sources.add(source)
    source.once('close', () => {
      if (!this.sources.has(source) || this.outputEnded || this.bridge.destroyed) { return }
      if (source.readableEnded) { return }
      // closed without a clean end (reset, destroyed): the transport is gone
      this.bridge.destroy(source.errored ?? undefined)
    })
  }

  private onOutputEnded (): void {
    if (this.outputEnded) { return }
    this.outputEnded = true
    this.shutdown = true
    this.push(null)
    const flush = this.heldFlush
    this.heldFlush = undefined
    flush?.()
  }

  private onSessionClose (error?: YamuxError): void {
    this.shutdown = true
    if (error === undefined || this.destroyed) { return }
    this.closeTransportsAfterError()
    this.emit('error', error)
  }

  /**
   * After a fatal error the GoAway has been handed to the socket, which the
   * end of our output ends; a peer that keeps it open gets it destroyed once
   * it is flushed, or after `connectionWriteTimeout`.
   */
  private closeTransportsAfterError (): void {
    const transports = [...this.sources].filter(s => this.destinations.has(s as unknown as Writable))
    if (transports.length === 0) { return }
    const destroyAll = (): void => {
      clearTimeout(timer)
      for (const transport of transports) { transport.destroy() }
    }
    const timer = setTimeout(destroyAll, this.config.connectionWriteTimeout * 1000)
    timer.unref()
    const unfinished = transports.filter(t => !(t as unknown as Writable).writableFinished)
    let pending = unfinished.length
    const onFinish = (): void => { if (--pending === 0) { destroyAll() } }
    for (const transport of unfinished) { transport.once('finish', onFinish) }
    if (pending === 0) { destroyAll() }
  }
}

/** The client side of a session: it opens streams with odd ids. */
export class Client extends Session {
  constructor (config?: Config) {
    super(true, config)
  }
}

/** The server side of a session: it opens streams with even ids. */
export class Server extends Session {
  constructor (onStream?: (stream: Stream) => void, config?: Config) {
    super(false, config, onStream)
  }
}
