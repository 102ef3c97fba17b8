/**
 * The factory behind the root `yamux()`: libp2p 3 hands `createStreamMuxer`
 * a MessageStream (the connection), libp2p 2 an init object; each gets the
 * muxer of its major (`YamuxMuxer` or the `libp2p-yamux/v2` muxer), with the
 * same validated options.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { YamuxMuxerV2 } from '../v2/muxer.ts'
import { resolveV2Options } from '../v2/options.ts'
import { PROTOCOL, YamuxFactory } from './muxer.ts'
import type { YamuxMuxer } from './muxer.ts'
import type { YamuxMuxerInit } from './options.ts'
import type { ResolvedV2Options } from '../v2/options.ts'
import type { MessageStream, StreamMuxerFactory } from '@libp2p/interface'
import type { ComponentLogger, Logger, StreamMuxerInit as StreamMuxerInitV2 } from '@libp2p/interface-v2'

/** What either libp2p major hands a muxer factory (only the logger is used, by libp2p 2 muxers). */
export interface YamuxComponents {
  logger?: ComponentLogger
}

function isMessageStream (value: unknown): value is MessageStream {
  return typeof (value as MessageStream | undefined)?.send === 'function'
}

export class YamuxEitherFactory implements StreamMuxerFactory<YamuxMuxer> {
  readonly protocol = PROTOCOL
  readonly [Symbol.toStringTag] = 'libp2p-yamux'
  readonly [serviceCapabilities]: string[] = ['@libp2p/stream-multiplexing']
  private readonly v3: YamuxFactory
  private readonly v2: ResolvedV2Options
  private readonly logger: ComponentLogger | undefined
  private v2Log: Logger | undefined

  constructor (init: YamuxMuxerInit = {}, components: YamuxComponents = {}) {
    this.v3 = new YamuxFactory(init)
    this.v2 = resolveV2Options(init)
    this.logger = components.logger
  }

  /** libp2p 3: a muxer over the connection's MessageStream. */
  createStreamMuxer (maConn: MessageStream): YamuxMuxer
  /** libp2p 2: a source/sink muxer (as from `libp2p-yamux/v2`). */
  createStreamMuxer (init?: StreamMuxerInitV2): YamuxMuxerV2
  createStreamMuxer (arg?: MessageStream | StreamMuxerInitV2): YamuxMuxer | YamuxMuxerV2 {
    if (isMessageStream(arg)) { return this.v3.createStreamMuxer(arg) }
    const init = arg ?? {}
    return new YamuxMuxerV2(init, this.v2, init.log ?? this.fallbackLog())
  }

  private fallbackLog (): Logger {
    this.v2Log ??= this.logger?.forComponent('libp2p:yamux') ?? silentLogger
    return this.v2Log
  }
}

const silentLogger: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: () => silentLogger
})
