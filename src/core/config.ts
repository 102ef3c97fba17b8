/**
 * Session configuration: hashicorp/yamux's `Config` in camelCase, plus the
 * limits this implementation adds. Every field has a safe default.
 */
import {
  DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_SESSION_SEND_QUEUE, DEFAULT_MAX_STREAM_WINDOW, INITIAL_STREAM_WINDOW, MAX_ACK_BACKLOG,
  MAX_FRAME_SIZE_LIMIT, MAX_U32, MIN_FRAME_SIZE
} from './constants.ts'
import { InvalidConfigError } from './errors.ts'

/** A logger the core calls on rare events only (never per frame). */
export interface CoreLogger {
  (formatter: string, ...args: unknown[]): void
  error?(formatter: string, ...args: unknown[]): void
}

export interface SessionConfig {
  /**
   * Inbound streams the peer may open that the application has not yet
   * accepted; a SYN beyond it is answered with RST (hashicorp: AcceptBacklog).
   *
   * @default 256
   */
  acceptBacklog: number
  /**
   * Send pings periodically and close the session if one goes unanswered.
   *
   * @default true
   */
  enableKeepAlive: boolean
  /**
   * Milliseconds between keep-alive pings; a ping is only sent after this
   * long without hearing from the peer.
   *
   * @default 30000
   */
  keepAliveInterval: number
  /**
   * Milliseconds a ping may wait for its pong, and the transport may refuse
   * writes while we have frames to send, before the session fails.
   *
   * @default 10000
   */
  connectionWriteTimeout: number
  /**
   * Receive window (bytes) we advertise for each new stream. The spec fixes
   * 256 KiB as the starting point; anything above it is granted in the SYN/ACK.
   *
   * @default 262144
   */
  initialStreamWindowSize: number
  /**
   * Largest receive window (bytes) a stream grows to by auto-tuning.
   *
   * @default 16777216
   */
  maxStreamWindowSize: number
  /**
   * Sum of all streams' receive windows (bytes) this session may grant: caps
   * the memory a peer can make us buffer when the application stops reading.
   * A stream whose initial window does not fit is refused; auto-tuning stops
   * growing windows once it is reached. Left unset, it is 1 GiB or, if
   * larger, enough for every stream the stream limits allow at its initial
   * window (so the default never refuses a stream the limits admit).
   *
   * @default 1073741824
   */
  maxSessionWindowSize: number
  /**
   * Milliseconds a stream we opened may wait for the peer's ACK before it is
   * reset with a TimeoutError. 0 disables.
   *
   * @default 75000
   */
  streamOpenTimeout: number
  /**
   * Milliseconds a stream we half-closed may wait without hearing from the
   * peer before it is reset with a TimeoutError. 0 disables.
   *
   * @default 300000
   */
  streamCloseTimeout: number
  /**
   * Largest payload (bytes) of a Data frame we send. At most 1 MiB, the
   * largest frame every implementation accepts.
   *
   * @default 65536
   */
  maxFrameSize: number
  /**
   * Most streams the peer may have open at once; a SYN beyond it is answered
   * with RST, the session carries on.
   *
   * @default 1000
   */
  maxInboundStreams: number
  /**
   * Most streams we may have open at once; opening another throws
   * StreamLimitError.
   *
   * @default 1000
   */
  maxOutboundStreams: number
  /**
   * Most of our streams that may wait for an ACK at once (libp2p/specs#547).
   * Streams opened beyond it are held back, SYN unsent, until an ACK arrives.
   *
   * @default 256
   */
  maxAckBacklog: number
  /**
   * Most bytes all streams together may have accepted from `write()` and not
   * yet framed. Past it writes are refused in part (back-pressure, then
   * `onWritable` once half of it is free), so a peer that stops reading
   * cannot make the session queue more than this however many streams write.
   *
   * @default 16777216
   */
  maxSessionSendQueue: number
  /**
   * Let a new stream's SYN ride on its first Data frame (the data leaves in
   * the same round trip as the open). Off: the SYN leaves on a WindowUpdate
   * of its own, as hashicorp/yamux does; yamux-js 0.2 drops the payload of a
   * Data frame that carries SYN, so its compatibility layer turns this off.
   *
   * @default true
   */
  synOnData: boolean
  /**
   * Copy a received piece that is under a quarter of the transport chunk it
   * came in before handing it to `onData` (see `keepable`), so the owner may
   * keep any piece without pinning a larger buffer. An owner that copies only
   * what it does keep (and hands the rest on at once) turns this off.
   *
   * @default true
   */
  copySmallPieces: boolean
  /**
   * Hold every receive window at its initial size until the session's first
   * ping has come back or failed. On a TCP connection no byte has crossed
   * yet, a megabyte of credit granted in the first round trip can leave
   * Linux's receive-buffer tuning stuck small for the connection's life (see
   * takeCredit). libp2p's adapters default it off: the upgrade's round
   * trips (the security handshake, multistream-select of the muxer) cross
   * the same connection before the muxer starts, and waiting for a pong that
   * a busy or paused event loop delays costs the first transfer its ramp.
   *
   * @default true
   */
  growAfterFirstPing: boolean
  /** Optional logger for session events (protocol errors, GoAway, timeouts). */
  logger?: CoreLogger
}

export function defaultConfig (): SessionConfig {
  return {
    acceptBacklog: 256,
    enableKeepAlive: true,
    keepAliveInterval: 30_000,
    connectionWriteTimeout: 10_000,
    initialStreamWindowSize: INITIAL_STREAM_WINDOW,
    maxStreamWindowSize: DEFAULT_MAX_STREAM_WINDOW,
    maxSessionWindowSize: 1024 * 1024 * 1024,
    streamOpenTimeout: 75_000,
    streamCloseTimeout: 300_000,
    maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
    maxInboundStreams: 1000,
    maxOutboundStreams: 1000,
    maxAckBacklog: MAX_ACK_BACKLOG,
    maxSessionSendQueue: DEFAULT_MAX_SESSION_SEND_QUEUE,
    synOnData: true,
    copySmallPieces: true,
    growAfterFirstPing: true
  }
}

function check (ok: boolean, message: string): void {
  if (!ok) { throw new InvalidConfigError(message) }
}

function isCount (n: unknown): n is number {
  return typeof n === 'number' && (Number.isSafeInteger(n) || n === Infinity) && n >= 0
}

function isMillis (n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0
}

/** Throws InvalidConfigError naming the first value out of range. */
export function verifyConfig (config: SessionConfig): void {
  check(isCount(config.acceptBacklog) && config.acceptBacklog > 0, 'acceptBacklog must be a positive integer')
  check(typeof config.enableKeepAlive === 'boolean', 'enableKeepAlive must be a boolean')
  check(isMillis(config.keepAliveInterval) && config.keepAliveInterval > 0, 'keepAliveInterval must be a positive number of milliseconds')
  check(isMillis(config.connectionWriteTimeout) && config.connectionWriteTimeout > 0, 'connectionWriteTimeout must be a positive number of milliseconds')
  check(Number.isSafeInteger(config.initialStreamWindowSize) && config.initialStreamWindowSize >= INITIAL_STREAM_WINDOW && config.initialStreamWindowSize <= MAX_U32,
    `initialStreamWindowSize must be an integer from ${INITIAL_STREAM_WINDOW} to ${MAX_U32}`)
  check(Number.isSafeInteger(config.maxStreamWindowSize) && config.maxStreamWindowSize >= config.initialStreamWindowSize && config.maxStreamWindowSize <= MAX_U32,
    `maxStreamWindowSize must be an integer from initialStreamWindowSize to ${MAX_U32}`)
  check(Number.isSafeInteger(config.maxSessionWindowSize) && config.maxSessionWindowSize >= config.initialStreamWindowSize,
    'maxSessionWindowSize must be an integer of at least initialStreamWindowSize')
  check(isMillis(config.streamOpenTimeout), 'streamOpenTimeout must be a number of milliseconds (0 disables)')
  check(isMillis(config.streamCloseTimeout), 'streamCloseTimeout must be a number of milliseconds (0 disables)')
  check(Number.isSafeInteger(config.maxFrameSize) && config.maxFrameSize >= MIN_FRAME_SIZE && config.maxFrameSize <= MAX_FRAME_SIZE_LIMIT,
    `maxFrameSize must be an integer from ${MIN_FRAME_SIZE} to ${MAX_FRAME_SIZE_LIMIT}`)
  check(isCount(config.maxInboundStreams), 'maxInboundStreams must be a non-negative integer')
  check(isCount(config.maxOutboundStreams), 'maxOutboundStreams must be a non-negative integer')
  check(isCount(config.maxAckBacklog) && config.maxAckBacklog > 0, 'maxAckBacklog must be a positive integer')
  check(Number.isSafeInteger(config.maxSessionSendQueue) && config.maxSessionSendQueue >= MIN_FRAME_SIZE,
    `maxSessionSendQueue must be an integer of at least ${MIN_FRAME_SIZE}`)
  check(typeof config.synOnData === 'boolean', 'synOnData must be a boolean')
  check(typeof config.copySmallPieces === 'boolean', 'copySmallPieces must be a boolean')
  check(typeof config.growAfterFirstPing === 'boolean', 'growAfterFirstPing must be a boolean')
  check(config.logger === undefined || typeof config.logger === 'function', 'logger must be a function')
}

/** Defaults overlaid with `overrides` (undefined values ignored), verified. */
export function resolveConfig (overrides: Partial<SessionConfig> = {}): SessionConfig {
  const config = defaultConfig()
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) { (config as unknown as Record<string, unknown>)[key] = value }
  }
  if (overrides.maxSessionWindowSize === undefined) {
    const needed = (config.maxInboundStreams + config.maxOutboundStreams) * config.initialStreamWindowSize
    if (Number.isSafeInteger(needed) && needed > config.maxSessionWindowSize) { config.maxSessionWindowSize = needed }
  }
  verifyConfig(config)
  return config
}
