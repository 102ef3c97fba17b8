/**
 * The session's contracts with its owner: the injected environment, the
 * handler it reports to, how it is created and the counters it keeps.
 */
import type { SessionConfig } from './config.ts'
import type { YamuxError } from './errors.ts'

/**
 * Clock and scheduling, injected. The session calls these as methods of the
 * object (`env.now()`, `env.defer(task)`): pass functions that work when
 * called that way. Browser globals do not: storing `queueMicrotask` itself
 * as the `defer` member makes Chromium throw `TypeError: Illegal
 * invocation` on the call; wrap or bind them.
 */
export interface SessionEnvironment {
  /** Milliseconds on a monotonic clock. */
  now(): number
  /** Runs `task` soon, after the current synchronous work (a microtask). */
  defer(task: () => void): void
  /** Runs `task` once after `delay` ms; returns a handle for clearTimer. */
  setTimer(task: () => void, delay: number): unknown
  clearTimer(handle: unknown): void
}

/** What the session tells its owner. All calls are synchronous. */
export interface SessionHandler {
  /**
   * Bytes for the transport, in order. Return false when the transport wants
   * us to wait; call {@link Session.transportDrained} once it can take more.
   */
  write(chunks: Uint8Array[], byteLength: number): boolean
  /**
   * Optional: bytes handed to `write` that the transport still holds. While
   * the transport pushes back, the session polls it so that
   * `connectionWriteTimeout` counts time without progress rather than time
   * since the first refusal (a slow, healthy link never times out). Without
   * it, only `transportDrained` counts as progress.
   */
  queuedBytes?(): number
  /** The peer opened stream `id`; call {@link Session.acceptStream} to ACK it. */
  onStream(id: number): void
  /**
   * Payload for stream `id`. With `copySmallPieces` (the default) it may be
   * kept: it is a view that is most of the chunk it came from, or of a frame
   * at least as long as that chunk, or else a copy (see `keepable`), so a held
   * piece never pins a much larger transport buffer. Without, it is always a
   * view: pass what you keep through `keepable`.
   * `more` is true when the frame this piece belongs to goes on in a later
   * chunk from the transport (a read cut it): an owner may hold the piece
   * and hand it on together with the rest, one delivery per frame. Its
   * credit is held back until the frame ends anyway.
   */
  onData(id: number, data: Uint8Array, more: boolean): void
  /** The peer half-closed stream `id` (FIN): no more data will arrive. */
  onRemoteClose(id: number): void
  /**
   * Stream `id` is gone: reset by the peer (`remote` true, ConnectionResetError)
   * or by the session (timeouts, GoAway). Not called for local `reset()`.
   */
  onStreamReset(id: number, error: YamuxError, remote: boolean): void
  /**
   * Stream `id` had a write refused in part and can take more now. If this
   * throws, that stream is reset (InternalError); other streams are unaffected.
   */
  onWritable(id: number): void
  /**
   * Stream `id` is finished as far as the wire goes (FIN both ways, or reset
   * by `reset()`): no event for it will follow. Not called when
   * `onStreamReset` reports the end instead, nor when the session ends.
   */
  onStreamClosed(id: number): void
  /** The peer sent GoAway(0): no new streams; open ones may finish. */
  onGoAway(code: number): void
  /** The session ended; `error` is undefined for a clean close. Streams are forgotten. */
  onClose(error?: YamuxError): void
}

export interface SessionInit {
  /** The client (dialer) uses odd stream ids, the server even ones. */
  client: boolean
  config?: Partial<SessionConfig>
  environment: SessionEnvironment
  handler: SessionHandler
  /** First id we allocate (tests use it to reach id exhaustion). Must have our parity. */
  firstStreamId?: number
}

/** Counters for benchmarks and diagnostics. */
export interface SessionStats {
  transportWrites: number
  bytesWritten: number
  framesSent: number
  dataFramesSent: number
  /** WindowUpdate frames of any kind, flag-only ones (SYN/ACK/FIN) included. */
  windowUpdatesSent: number
  /** WindowUpdate frames that grant credit. */
  creditUpdatesSent: number
  bytesReceived: number
}

export function emptyStats (): SessionStats {
  return { transportWrites: 0, bytesWritten: 0, framesSent: 0, dataFramesSent: 0, windowUpdatesSent: 0, creditUpdatesSent: 0, bytesReceived: 0 }
}
