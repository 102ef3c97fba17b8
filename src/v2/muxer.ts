/**
 * The libp2p v2 stream muxer: a Duplex whose `sink` feeds the connection's
 * bytes to a core `Session` and whose `source` yields the bytes the session
 * writes, with core stream ids mapped to `YamuxStreamV2`s. Protocol decisions
 * all live in the session; this file only translates events and errors.
 */
import { MuxerClosedError, TooManyOutboundProtocolStreamsError } from '@libp2p/interface'
import { RemoteGoAwayError, SessionShutdownError, StreamLimitError } from '../core/errors.ts'
import { Session } from '../core/session.ts'
import { environment } from '../environment.ts'
import { ChunkSource } from './chunk-source.ts'
import { YamuxStreamV2, raceAbort } from './stream.ts'
import type { ResolvedV2Options } from './options.ts'
import type { StreamOwner } from './stream.ts'
import type { YamuxError } from '../core/errors.ts'
import type { SessionHandler } from '../core/session.ts'
import type { AbortOptions, Logger, Stream, StreamMuxer, StreamMuxerInit } from '@libp2p/interface-v2'
import type { Source } from 'it-stream-types'
import type { Uint8ArrayList } from 'uint8arraylist'

export const PROTOCOL = '/yamux/1.0.0'

/**
 * Bytes handed to `source` and not yet pulled by the transport beyond which
 * the session is told to wait (it keeps further frames in its own queues).
 */
const OUTPUT_HIGH_WATER = 256 * 1024

/** How long `close()` without a signal lets streams finish their writes. */
const CLOSE_TIMEOUT = 500

export class YamuxMuxerV2 implements StreamMuxer, StreamOwner {
  readonly protocol = PROTOCOL
  readonly source: AsyncGenerator<Uint8Array | Uint8ArrayList>
  readonly sink: (source: Source<Uint8Array | Uint8ArrayList>) => Promise<void>
  readonly session: Session
  readonly log: Logger

  private readonly output: ChunkSource
  /** Every stream the session still knows, by yamux id. */
  private readonly byId = new Map<number, YamuxStreamV2>()
  /** Streams not yet ended: what `streams` lists. */
  private readonly live = new Set<YamuxStreamV2>()
  private readonly init: StreamMuxerInit
  private readonly options: ResolvedV2Options
  /** Iterators of the transport sources being read, stopped when the session ends. */
  private readonly inputs = new Set<AsyncIterator<Uint8Array | Uint8ArrayList> | Iterator<Uint8Array | Uint8ArrayList>>()
  private closing = false
  private ended = false

  constructor (init: StreamMuxerInit, options: ResolvedV2Options, log: Logger) {
    this.init = init
    this.options = options
    this.log = log
    this.output = new ChunkSource({
      coalesce: true,
      onPull: () => {
        // the transport took everything queued: let the session write again
        if (this.session.isBlocked) { this.session.transportDrained() }
      },
      // the transport stopped reading our bytes (its socket failed): what the
      // session writes from now on is dropped; its read side reports the end
      onAbandon: () => { this.log('transport stopped reading the muxer output') }
    })
    this.source = this.output as AsyncGenerator<Uint8Array | Uint8ArrayList>
    this.session = new Session({
      client: init.direction === 'outbound',
      environment,
      handler: this.sessionHandler(),
      config: { ...options.session, logger: log.enabled ? (fmt, ...args) => { log(fmt, ...args) } : undefined }
    })
    this.sink = async (source) => { await this.readTransport(source) }
  }

  /** Streams open in either direction (a stream leaves once closed both ways or reset). */
  get streams (): Stream[] {
    return [...this.live]
  }

  /** Smoothed round-trip time to the peer in ms, or -1 before the first pong. */
  get rtt (): number {
    return this.session.rtt
  }

  /** Transport counters (writes, frames, window updates, bytes). */
  get stats (): Session['stats'] {
    return this.session.stats
  }

  /** Pings the peer and resolves with the round-trip time in ms. */
  async ping (): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.session.ping((err, rtt) => { if (err !== undefined) { reject(err) } else { resolve(rtt) } })
    })
  }

  newStream (): YamuxStreamV2 {
    if (this.closing) { throw new MuxerClosedError('muxer closed') }
    let id: number
    try {
      id = this.session.openStream()
    } catch (err) {
      if (err instanceof SessionShutdownError || err instanceof RemoteGoAwayError) { throw new MuxerClosedError(err.message) }
      if (err instanceof StreamLimitError) { throw new TooManyOutboundProtocolStreamsError(err.message) }
      throw err
    }
    return this.track(id, 'outbound')
  }

  /**
   * Closes gracefully: no new streams (GoAway), open streams close (their
   * pending writes get until `options.signal`, 500 ms by default), then the
   * session ends and resolves once the transport has taken its last bytes.
   */
  async close (options?: AbortOptions): Promise<void> {
    if (this.closing) { return }
    this.closing = true
    this.session.goAway()
    const streams = [...this.live]
    const reading = this.output.started
    const signal = streams.length > 0 || reading ? options?.signal ?? AbortSignal.timeout(CLOSE_TIMEOUT) : undefined
    try {
      if (streams.length > 0) {
        await raceAbort(Promise.all(streams.map(async (stream) => { await stream.close({ signal }) })), signal)
      }
      this.session.close()
      // libp2p 2 closes the transport as soon as this resolves: first let it
      // take the last frames (FINs, GoAway), or the peer sees a bare EOF
      if (reading) { await raceAbort(this.output.whenFinished(), signal) }
    } catch (err) {
      this.log('muxer did not close in time - %e', err)
      this.session.close()
    }
  }

  abort (err: Error): void {
    if (this.ended) { return }
    this.closing = true
    // GoAway with the error's code (internal error if it has none); the
    // session's onClose then aborts every stream
    this.session.close(err)
  }

  // ---- StreamOwner ----

  streamEnded (stream: YamuxStreamV2): void {
    if (!this.live.delete(stream)) { return }
    this.init.onStreamEnd?.(stream)
  }

  // ---- transport → core ----

  private async readTransport (source: Source<Uint8Array | Uint8ArrayList>): Promise<void> {
    const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()
    this.inputs.add(iterator)
    try {
      for (;;) {
        const result = await iterator.next()
        if (result.done === true || this.ended) { break }
        const chunk = result.value
        if (chunk instanceof Uint8Array) {
          this.session.receive(chunk)
        } else {
          for (const buf of chunk) { this.session.receive(buf) }
        }
      }
      this.session.transportClosed()
    } catch (err: any) {
      this.session.transportClosed(err)
    } finally {
      this.inputs.delete(iterator)
    }
  }

  // ---- core → libp2p ----

  private sessionHandler (): SessionHandler {
    const streams = this.byId
    return {
      write: (chunks) => {
        for (let i = 0; i < chunks.length; i++) { this.output.push(chunks[i]) }
        return this.output.bytes < OUTPUT_HIGH_WATER
      },
      // bytes the transport has not pulled yet: their shrinking is progress
      queuedBytes: () => this.output.bytes,
      onStream: (id) => {
        const onIncoming = this.init.onIncomingStream
        if (onIncoming === undefined) {
          // nobody could ever read it
          this.session.reset(id)
          return
        }
        this.session.acceptStream(id)
        onIncoming(this.track(id, 'inbound'))
      },
      onData: (id, data) => {
        const stream = streams.get(id)
        // closed here both ways while the peer still sends: let it finish
        if (stream === undefined) { this.session.consume(id, data.byteLength) } else { stream.onData(data) }
      },
      onRemoteClose: (id) => { streams.get(id)?.onRemoteClose() },
      onStreamReset: (id, error, remote) => {
        const stream = streams.get(id)
        if (stream === undefined) { return }
        streams.delete(id)
        if (remote) { stream.onRemoteReset() } else { stream.onSessionError(error) }
      },
      onStreamClosed: (id) => { streams.delete(id) },
      onWritable: (id) => { streams.get(id)?.onWritable() },
      onGoAway: (code) => { this.log('remote sent GoAway(%d): no new streams', code) },
      onClose: (error) => { this.onSessionClosed(error) }
    }
  }

  private onSessionClosed (error?: YamuxError): void {
    this.ended = true
    this.closing = true
    const streams = [...this.byId.values()]
    this.byId.clear()
    if (error === undefined) {
      for (const stream of streams) { stream.onSessionClosed() }
    } else {
      this.log.error('session ended - %e', error)
      for (const stream of streams) { stream.onSessionError(error) }
    }
    // streams the session forgot earlier but the application has not closed
    for (const stream of [...this.live]) {
      if (error === undefined) { stream.onSessionClosed() } else { stream.onSessionError(error) }
    }
    // what the session wrote last (GoAway) is still delivered, then the end
    this.output.end()
    for (const iterator of this.inputs) {
      try {
        const result = iterator.return?.()
        if (result instanceof Promise) { result.catch(() => {}) }
      } catch {
        // the transport's source may throw while stopping
      }
    }
  }

  private track (id: number, direction: 'inbound' | 'outbound'): YamuxStreamV2 {
    const log = this.log
    // scoped loggers cost a debug instance each: only build them when logging is on
    const stream = new YamuxStreamV2(this, id, direction, log.enabled ? log.newScope(`${direction}:${id}`) : log)
    this.session.limitReceiveWindow(id, this.options.maxReadBufferLength)
    this.byId.set(id, stream)
    this.live.add(stream)
    return stream
  }
}
