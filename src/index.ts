/**
 * @packageDocumentation
 *
 * A yamux stream multiplexer for js-libp2p v3, built on a sans-I/O protocol
 * core (`libp2p-yamux/core`).
 *
 * @example Use it in libp2p
 *
 * ```TypeScript
 * import { createLibp2p } from 'libp2p'
 * import { tcp } from '@libp2p/tcp'
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from 'libp2p-yamux'
 *
 * const node = await createLibp2p({
 *   transports: [tcp()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()]
 * })
 * ```
 *
 * @example Ping the peer of a connection, read the RTT and counters (typed)
 *
 * ```TypeScript
 * import { yamuxOf } from 'libp2p-yamux'
 *
 * const connection = await node.dial(peer)
 * const muxer = yamuxOf(connection) // undefined if another muxer was negotiated
 * if (muxer !== undefined) {
 *   console.log(await muxer.ping(), muxer.rtt, muxer.stats.bytesReceived)
 * }
 * ```
 *
 * @example Tune it
 *
 * ```TypeScript
 * import { yamux } from 'libp2p-yamux'
 *
 * const muxer = yamux({
 *   maxInboundStreams: 500,
 *   maxStreamWindowSize: 4 * 1024 * 1024,
 *   keepAliveInterval: 15_000
 * })
 * ```
 */
import { YamuxEitherFactory } from './libp2p/either-major.ts'
import type { YamuxComponents } from './libp2p/either-major.ts'
import type { YamuxMuxerInit } from './libp2p/options.ts'

export { YamuxFactory, YamuxMuxer, PROTOCOL } from './libp2p/muxer.ts'
export { YamuxEitherFactory, type YamuxComponents } from './libp2p/either-major.ts'
export { YamuxStream } from './libp2p/stream.ts'
export { isYamuxMuxer, yamuxOf } from './libp2p/typed.ts'
export type { YamuxMuxerInit, YamuxStreamOptions } from './libp2p/options.ts'
// every error class of the core, so new ones can never be missing here
export * from './core/errors.ts'
export { GoAwayCode } from './core/constants.ts'
export { activeTimers } from './environment.ts'

/**
 * Creates the yamux muxer for `createLibp2p({ streamMuxers: [yamux()] })`,
 * on libp2p 3 and on libp2p 2 alike (the factory answers each major's
 * calling shape; `libp2p-yamux/v2` is the explicit libp2p 2 entry). Options
 * are validated here: a bad one throws InvalidParametersError.
 */
export function yamux (init: YamuxMuxerInit = {}): (components?: YamuxComponents) => YamuxEitherFactory {
  const factory = new YamuxEitherFactory(init)
  return (components) => components?.logger === undefined ? factory : new YamuxEitherFactory(init, components)
}
