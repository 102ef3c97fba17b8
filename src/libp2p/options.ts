/**
 * Options of the libp2p v3 muxer: libp2p's own `StreamMuxerOptions` plus the
 * yamux session settings (shared with the v2 adapter), validated once when
 * `yamux()` is called.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { positiveInteger, resolveSessionOptions } from '../session-options.ts'
import type { SessionConfig } from '../core/config.ts'
import type { YamuxSessionOptions } from '../session-options.ts'
import type { StreamMuxerOptions, StreamOptions } from '@libp2p/interface'

export interface YamuxStreamOptions extends StreamOptions {
  /**
   * Most unread bytes buffered for a stream (while paused or with no
   * 'message' listener). The stream's receive window never grows past it, so
   * a well-behaved peer cannot overflow it. At least `initialStreamWindowSize`
   * (a peer may send a whole initial window before we can stop it): a
   * smaller value throws InvalidParametersError.
   *
   * Left unset it is `maxStreamWindowSize`, so it bounds nothing the window
   * does not already bound.
   *
   * @default 16777216
   */
  maxReadBufferLength?: number
}

export interface YamuxMuxerInit extends StreamMuxerOptions<YamuxStreamOptions>, YamuxSessionOptions {
  /**
   * Inbound streams queued while nothing listens for the muxer's 'stream'
   * event; one more aborts the muxer (libp2p semantics).
   *
   * @default 256
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
}

/** The validated settings one muxer runs with. */
export interface ResolvedOptions {
  session: SessionConfig
  maxEarlyStreams: number
  streamOptions: YamuxStreamOptions
}

const DEFAULT_MAX_EARLY_STREAMS = 256

/**
 * A stream's read buffer must hold the initial window: the peer may send all
 * of it before any credit is withheld, so less would abort streams whose
 * peer keeps to its window. Throws InvalidParametersError.
 */
export function checkReadBufferLength (maxReadBufferLength: number | undefined, session: SessionConfig, name = 'streamOptions.maxReadBufferLength'): void {
  if (maxReadBufferLength !== undefined && maxReadBufferLength < session.initialStreamWindowSize) {
    throw new InvalidParametersError(`${name} must be at least initialStreamWindowSize (${session.initialStreamWindowSize}), got ${maxReadBufferLength}: a peer may send a whole initial window before it can be stopped`)
  }
}

/** Validates `init`, throwing InvalidParametersError naming the bad option. */
export function resolveOptions (init: YamuxMuxerInit = {}): ResolvedOptions {
  positiveInteger('maxEarlyStreams', init.maxEarlyStreams, true)
  const streamOptions = init.streamOptions ?? {}
  positiveInteger('streamOptions.maxReadBufferLength', streamOptions.maxReadBufferLength)
  positiveInteger('streamOptions.maxWriteBufferLength', streamOptions.maxWriteBufferLength === Infinity ? undefined : streamOptions.maxWriteBufferLength)
  positiveInteger('streamOptions.inactivityTimeout', streamOptions.inactivityTimeout, true)

  const session = resolveSessionOptions(init)
  checkReadBufferLength(streamOptions.maxReadBufferLength, session)

  return {
    session,
    maxEarlyStreams: init.maxEarlyStreams ?? DEFAULT_MAX_EARLY_STREAMS,
    streamOptions
  }
}
