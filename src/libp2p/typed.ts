/**
 * Typed access to a connection's yamux muxer (`ping()`, `rtt`, `stats`),
 * which libp2p only exposes as the untyped `connection.muxer`.
 */
import { YAMUX_MUXER, YamuxMuxer } from './muxer.ts'
import type { Connection } from '@libp2p/interface'

/** True if `value` is a muxer made by this package's `yamux()`. */
export function isYamuxMuxer (value: unknown): value is YamuxMuxer {
  if (value instanceof YamuxMuxer) { return true }
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[YAMUX_MUXER] === true
}

/**
 * The yamux muxer of a libp2p connection, or undefined when the connection
 * is not multiplexed by this package (another muxer, or none yet).
 */
export function yamuxOf (connection: Connection): YamuxMuxer | undefined {
  const muxer = (connection as Connection & { muxer?: unknown }).muxer
  return isYamuxMuxer(muxer) ? muxer : undefined
}
