/**
 * Options of the libp2p v2 muxer: the yamux session settings shared with the
 * v3 adapter (same names, same validation) plus the per-stream read buffer.
 */
import { checkReadBufferLength } from '../libp2p/options.ts'
import { positiveInteger, resolveSessionOptions } from '../session-options.ts'
import type { SessionConfig } from '../core/config.ts'
import type { YamuxSessionOptions } from '../session-options.ts'

export interface YamuxV2StreamOptions {
  /**
   * Most unread bytes buffered for a stream whose `source` is not being
   * read. The stream's receive window never grows past it, so a well-behaved
   * peer cannot overflow it. At least `initialStreamWindowSize` (the same
   * check as the v3 muxer): a smaller value throws InvalidParametersError.
   *
   * Left unset it is `maxStreamWindowSize`, so it bounds nothing the window
   * does not already bound.
   *
   * @default 16777216
   */
  maxReadBufferLength?: number
}

export interface YamuxV2Init extends YamuxSessionOptions {
  /** Per-stream settings. */
  streamOptions?: YamuxV2StreamOptions
}

/** The validated settings one v2 muxer runs with. */
export interface ResolvedV2Options {
  session: SessionConfig
  maxReadBufferLength: number
}

/** Validates `init`, throwing InvalidParametersError naming the bad option. */
export function resolveV2Options (init: YamuxV2Init = {}): ResolvedV2Options {
  const streamOptions = init.streamOptions ?? {}
  positiveInteger('streamOptions.maxReadBufferLength', streamOptions.maxReadBufferLength)
  const session = resolveSessionOptions(init)
  checkReadBufferLength(streamOptions.maxReadBufferLength, session)
  return {
    session,
    maxReadBufferLength: streamOptions.maxReadBufferLength ?? session.maxStreamWindowSize
  }
}
