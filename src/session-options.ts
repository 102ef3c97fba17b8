/**
 * The yamux session settings both libp2p adapters (v3 at the root, v2 at
 * `libp2p-yamux/v2`) accept under the same names, and their validation.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { resolveConfig } from './core/config.ts'
import { InvalidConfigError } from './core/errors.ts'
import type { SessionConfig } from './core/config.ts'

export interface YamuxSessionOptions {
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
   * Streams we may have open at once; opening another throws
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
   * Sum of all streams' receive windows on one connection: a stream whose
   * initial window does not fit is refused, and auto-tuning stops growing
   * windows past it. Unset: 1 GiB, or enough for every stream the stream
   * limits allow if that is more.
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
   * Bytes all streams of a connection may queue for sending; past it writes
   * wait until half of it has left (bounds what a peer that stops reading
   * costs).
   *
   * @default 16777216
   */
  maxSessionSendQueue?: number
  /**
   * Hold every stream's receive window at its initial size until the
   * session's first ping has come back. Off here: libp2p's upgrade (the
   * security handshake, multistream-select of the muxer) makes round trips
   * on the connection before the muxer starts, and a pong that a busy event
   * loop delays would cost the first transfer its ramp. Turn it on to run
   * the muxer on a TCP connection nothing has crossed yet, where a megabyte
   * of credit in the first round trip can leave Linux's receive buffer
   * stuck small (see growAfterFirstPing in the core, on by default there).
   *
   * @default false
   */
  growAfterFirstPing?: boolean
}

/** Throws InvalidParametersError unless `value` is undefined or a (non-negative if allowed) safe integer. */
export function positiveInteger (name: string, value: unknown, allowZero = false): void {
  if (value === undefined) { return }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new InvalidParametersError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`)
  }
}

/** The core session config for `init`; a bad value throws InvalidParametersError naming the option. */
export function resolveSessionOptions (init: YamuxSessionOptions): SessionConfig {
  try {
    return resolveConfig({
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
      maxSessionSendQueue: init.maxSessionSendQueue,
      growAfterFirstPing: init.growAfterFirstPing ?? false
    })
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      // speak libp2p's option names: the core calls maxMessageSize maxFrameSize
      throw new InvalidParametersError(err.message.replace(/^maxFrameSize/, 'maxMessageSize'))
    }
    throw err
  }
}
