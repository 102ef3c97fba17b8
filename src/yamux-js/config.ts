/**
 * yamux-js's `Config` (its keys and units: seconds for the two timeouts)
 * and its translation to our session config (milliseconds).
 */
import type { SessionConfig } from '../node/index.ts'

/** Session settings, as yamux-js 0.2 names them. Every key is optional. */
export interface Config {
  /**
   * Streams the peer may open that have not been handed to `onStream` yet
   * (hashicorp's meaning: a backlog, not a total); a stream beyond it is
   * reset.
   *
   * @default 256
   */
  acceptBacklog?: number
  /**
   * Ping the peer periodically; the session fails with KeepAliveTimeoutError
   * if a ping goes unanswered for `connectionWriteTimeout`.
   *
   * @default true
   */
  enableKeepAlive?: boolean
  /**
   * Seconds between keep-alive pings.
   *
   * @default 30
   */
  keepAliveInterval?: number
  /**
   * Seconds a ping may wait for its answer, and the connection may refuse
   * writes while frames wait to be sent, before the session fails.
   *
   * @default 10
   */
  connectionWriteTimeout?: number
  /**
   * Largest receive window (bytes) of a stream. Streams start at 256 KiB
   * and grow up to this while a fast reader keeps up.
   *
   * @default 16777216
   */
  maxStreamWindowSize?: number
  /** Called (printf style, like `console.log`) on rare session events only. Nothing is logged without it. */
  logger?(message?: any, ...optionalParams: any[]): void
  /**
   * Not in yamux-js (which has no such limit): most streams the peer may
   * have open at once; a stream beyond it is reset, the session carries on.
   *
   * @default 1000
   */
  maxInboundStreams?: number
  /**
   * Not in yamux-js (which has no such limit): most streams we may have
   * open at once; `open()` beyond it throws StreamLimitError.
   *
   * @default 1000
   */
  maxOutboundStreams?: number
}

/** The config a session runs with, yamux-js units (`logger` undefined when none was given). */
export interface ResolvedConfig {
  acceptBacklog: number
  enableKeepAlive: boolean
  keepAliveInterval: number
  connectionWriteTimeout: number
  maxStreamWindowSize: number
  logger?: Config['logger']
  maxInboundStreams: number
  maxOutboundStreams: number
}

function seconds (value: number | undefined): number | undefined {
  return value === undefined ? undefined : value * 1000
}

/** Our session config for a yamux-js one; out-of-range values throw InvalidConfigError when the session starts. */
export function toSessionConfig (config: Config = {}): Partial<SessionConfig> {
  return {
    acceptBacklog: config.acceptBacklog,
    enableKeepAlive: config.enableKeepAlive,
    keepAliveInterval: seconds(config.keepAliveInterval),
    connectionWriteTimeout: seconds(config.connectionWriteTimeout),
    maxStreamWindowSize: config.maxStreamWindowSize,
    logger: config.logger,
    maxInboundStreams: config.maxInboundStreams,
    maxOutboundStreams: config.maxOutboundStreams,
    // yamux-js 0.2 drops the payload of a Data frame that carries SYN
    synOnData: false
  }
}

/** The settings `session.config` reports, from the session's resolved config. */
export function toResolvedConfig (config: SessionConfig): ResolvedConfig {
  return {
    acceptBacklog: config.acceptBacklog,
    enableKeepAlive: config.enableKeepAlive,
    keepAliveInterval: config.keepAliveInterval / 1000,
    connectionWriteTimeout: config.connectionWriteTimeout / 1000,
    maxStreamWindowSize: config.maxStreamWindowSize,
    logger: config.logger,
    maxInboundStreams: config.maxInboundStreams,
    maxOutboundStreams: config.maxOutboundStreams
  }
}
