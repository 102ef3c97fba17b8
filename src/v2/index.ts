/**
 * @packageDocumentation
 *
 * The yamux stream multiplexer for js-libp2p **v2** (libp2p 2.x): the
 * source/sink muxer shape, on the same sans-I/O core as the libp2p v3 muxer
 * at the package root. Same options, same errors.
 *
 * @example
 *
 * ```TypeScript
 * import { createLibp2p } from 'libp2p' // 2.x
 * import { tcp } from '@libp2p/tcp'
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from 'libp2p-yamux/v2'
 *
 * const node = await createLibp2p({
 *   transports: [tcp()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()]
 * })
 * ```
 */
import { serviceCapabilities } from '@libp2p/interface'
import { PROTOCOL, YamuxMuxerV2 } from './muxer.ts'
import { resolveV2Options } from './options.ts'
import type { ResolvedV2Options, YamuxV2Init } from './options.ts'
import type { ComponentLogger, Logger, StreamMuxerFactory, StreamMuxerInit } from '@libp2p/interface-v2'

export { YamuxMuxerV2, PROTOCOL } from './muxer.ts'
export { YamuxStreamV2 } from './stream.ts'
export type { YamuxV2Init, YamuxV2StreamOptions } from './options.ts'
// every error class of the core, as from the package root
export * from '../core/errors.ts'
export { GoAwayCode } from '../core/constants.ts'

/** What libp2p 2 hands a muxer factory (only the logger is used). */
export interface YamuxV2Components {
  logger?: ComponentLogger
}

export class YamuxV2Factory implements StreamMuxerFactory {
  readonly protocol = PROTOCOL
  readonly [Symbol.toStringTag] = 'libp2p-yamux/v2'
  readonly [serviceCapabilities]: string[] = ['@libp2p/stream-multiplexing']
  private readonly options: ResolvedV2Options
  private readonly log: Logger

  constructor (options: ResolvedV2Options, components: YamuxV2Components = {}) {
    this.options = options
    this.log = components.logger?.forComponent('libp2p:yamux') ?? silentLogger
  }

  createStreamMuxer (init: StreamMuxerInit = {}): YamuxMuxerV2 {
    return new YamuxMuxerV2(init, this.options, init.log ?? this.log)
  }
}

/**
 * Creates the yamux muxer for libp2p 2.x:
 * `createLibp2p({ streamMuxers: [yamux()] })`. Options are validated here: a
 * bad one throws InvalidParametersError.
 */
export function yamux (init: YamuxV2Init = {}): (components?: YamuxV2Components) => YamuxV2Factory {
  const options = resolveV2Options(init)
  return (components) => new YamuxV2Factory(options, components)
}

const silentLogger: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: () => silentLogger
})
