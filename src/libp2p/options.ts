/**
 * Options of the libp2p v3 muxer: libp2p's own `StreamMuxerOptions` plus the
 * yamux session settings, validated once when `yamux()` is called.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { resolveConfig } from '../core/config.ts'
import { InvalidConfigError } from '../core/errors.ts'
import type { SessionConfig } from '../core/config.ts'
import type { StreamMuxerOptions, StreamOptions } from '@libp2p/interface'

export interface YamuxStreamOptions extends StreamOptions {
  /**
   * Most unread bytes buffered for a stream (while paused or with no
   * 'message' listener). The stream's receive window never grows past it, so
   * a well-behaved peer cannot overflow it.
   *
   * @default 4194304
   */
  maxReadBufferLength?: number
}

export interface YamuxMuxerInit extends StreamMuxerOptions<YamuxStreamOptions> {
  /**
   * Inbound streams queued while nothing listens for the muxer's 'stream'
   * event; one more aborts the muxer (libp2p semantics).
   *
   * @default 10
   */
  maxEarlyStreams?: number
  /**
   * Largest Data frame payload we send, in bytes (1024 to 1 MiB).
   *
   * @default 65536
   */
  maxMessageSize?: number
  /**
   * Streams the peer may have open at once; one more is reset, the
   * connection stays up.
   *
   * @default 1000
   */
  maxInboundStreams?: number
  /**
   * Streams we may have open at once; `createStream` beyond it throws
   * TooManyOutboundProtocolStreamsError.
   *
   * @default 1000
   */
  maxOutboundStreams?: number
  /**
   * Ping an idle connection every `keepAliveInterval` ms and close it if the
   * pong does not arrive within `connectionWriteTimeout`.
   *
   * @default true
   */
  enableKeepAlive?: boolean
  /** @default 30000 */
  keepAliveInterval?: number
  /**
   * Milliseconds a ping may go unanswered, and the connection may refuse
   * writes while we have frames queued, before the connection is closed.
   *
   * @default 10000
   */
  connectionWriteTimeout?: number
  /**
   * Receive window each new stream starts with (at least 256 KiB; the part
   * above 256 KiB is granted in the SYN/ACK).
   *
   * @default 262144
   */
  initialStreamWindowSize?: number
  /**
   * Largest receive window a stream grows to by auto-tuning.
   *
   * @default 16777216
   */
  maxStreamWindowSize?: number
  /**
   * Sum of all streams' receive windows on one connection: auto-tuning stops
   * growing windows past it.
   *
   * @default 1073741824
   */
  maxSessionWindowSize?: number
  /**
   * Milliseconds a stream we opened waits for the peer's ACK before it is
   * reset (0 disables).
   *
   * @default 75000
   */
  streamOpenTimeout?: number
  /**
   * Milliseconds a stream we closed for writing may stay silent before it is
   * reset (0 disables).
   *
   * @default 300000
   */
  streamCloseTimeout?: number
  /**
   * Most of our streams awaiting the peer's ACK (libp2p/specs#547); further
   * opens go out as ACKs return.
   *
   * @default 256
   */
  maxAckBacklog?: number
  /**
   * Bytes all streams of a connection may queue for sending; past it `send()`
   * returns false until half of it has left (bounds what a peer that stops
   * reading costs).
   *
   * @default 4194304
   */
  maxSessionSendQueue?: number
}

/** The validated settings one muxer runs with. */
export interface ResolvedOptions {
  session: SessionConfig
  maxEarlyStreams: number
  streamOptions: YamuxStreamOptions
}

const DEFAULT_MAX_EARLY_STREAMS = 256

function positiveInteger (name: string, value: unknown, allowZero = false): void {
  if (value === undefined) { return }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new InvalidParametersError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`)
  }
}

/** Validates `init`, throwing InvalidParametersError naming the bad option. */
export function resolveOptions (init: YamuxMuxerInit = {}): ResolvedOptions {
  positiveInteger('maxEarlyStreams', init.maxEarlyStreams, true)
  const streamOptions = init.streamOptions ?? {}
  positiveInteger('streamOptions.maxReadBufferLength', streamOptions.maxReadBufferLength)
  positiveInteger('streamOptions.maxWriteBufferLength', streamOptions.maxWriteBufferLength === Infinity ? undefined : streamOptions.maxWriteBufferLength)
  positiveInteger('streamOptions.inactivityTimeout', streamOptions.inactivityTimeout, true)

  let session: SessionConfig
  try {
    session = resolveConfig({
      enableKeepAlive: init.enableKeepAlive,
      keepAliveInterval: init.keepAliveInterval,
      connectionWriteTimeout: init.connectionWriteTimeout,
      initialStreamWindowSize: init.initialStreamWindowSize,
      maxStreamWindowSize: init.maxStreamWindowSize,
      maxSessionWindowSize: init.maxSessionWindowSize,
      streamOpenTimeout: init.streamOpenTimeout,
      streamCloseTimeout: init.streamCloseTimeout,
      maxFrameSize: init.maxMessageSize,
      maxInboundStreams: init.maxInboundStreams,
      maxOutboundStreams: init.maxOutboundStreams,
      maxAckBacklog: init.maxAckBacklog,
      maxSessionSendQueue: init.maxSessionSendQueue
    })
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      // speak libp2p's option names: the core calls maxMessageSize maxFrameSize
      throw new InvalidParametersError(err.message.replace(/^maxFrameSize/, 'maxMessageSize'))
    }
    throw err
  }

  return {
    session,
    maxEarlyStreams: init.maxEarlyStreams ?? DEFAULT_MAX_EARLY_STREAMS,
    streamOptions
  }
}
