/**
 * The contenders: the bare transport (no muxer), our yamux,
 * `@chainsafe/libp2p-yamux` 8 and `@libp2p/mplex` 12 (plus the libp2p v2
 * contenders of v2.ts), each configured the same
 * way for benchmarking: keep-alive off (no timers), stream limits raised so
 * that no scenario trips them, mplex's rate limit and buffer caps lifted.
 * Everything else stays at each library's defaults.
 */
import { yamux as chainsafeYamux } from '@chainsafe/libp2p-yamux'
import { mplex } from '@libp2p/mplex'
import { yamux as ourYamux } from '../src/index.ts'
import { CHAINSAFE7, OURS_V2 } from './v2.ts'
import type { MuxerV2Contender } from './v2.ts'
import type { YamuxMuxer, YamuxMuxerInit } from '../src/index.ts'
import type { MessageStream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'

export interface MuxerContender {
  kind: 'muxer'
  name: string
  label: string
  /** Builds a muxer over `conn`; `streamLimit` raises every stream-count limit. */
  create(conn: MessageStream, streamLimit: number): StreamMuxer
  /** The same muxer as a libp2p `streamMuxers` entry, for the full-stack nodes. */
  libp2p(streamLimit: number): Libp2pMuxer
  /** The muxer's own counters, when it has any. */
  selfStats?(muxer: StreamMuxer): { transportWrites: number, windowUpdatesSent: number } | undefined
}

/** What `createLibp2p({ streamMuxers: [...] })` takes. */
export type Libp2pMuxer = (components: any) => StreamMuxerFactory

export interface BareContender {
  kind: 'bare'
  name: 'bare'
  label: string
}

export type Contender = BareContender | MuxerContender | MuxerV2Contender

/** Default stream limit: above every scenario's concurrent stream count. */
export const STREAM_LIMIT = 20_000

function cached<T> (make: (limit: number) => T): (limit: number) => T {
  const factories = new Map<number, T>()
  return (limit) => {
    let factory = factories.get(limit)
    if (factory === undefined) {
      factory = make(limit)
      factories.set(limit, factory)
    }
    return factory
  }
}

const ourMuxer = (limit: number, extra: YamuxMuxerInit = {}): Libp2pMuxer => ourYamux({
  ...extra,
  enableKeepAlive: false,
  maxInboundStreams: limit,
  maxOutboundStreams: limit,
  maxEarlyStreams: limit,
  // a stream limit too: every stream holds a 256 KiB receive window from
  // the start, and the 1 GiB default refuses streams past 4,096 of them
  maxSessionWindowSize: Math.max(limit * 256 * 1024, 1024 * 1024 * 1024)
})

const chainsafeMuxer = (limit: number): Libp2pMuxer => chainsafeYamux({
  enableKeepAlive: false,
  maxInboundStreams: limit,
  maxOutboundStreams: limit,
  maxEarlyStreams: limit
})

const mplexMuxer = (limit: number): Libp2pMuxer => {
  const init: Parameters<typeof mplex>[0] & { maxEarlyStreams: number } = {
    // its default closes the connection past 5 new streams per second
    disconnectThreshold: Number.MAX_SAFE_INTEGER,
    // default 4 MB: one delivered chunk may hold more queued frames than that
    maxUnprocessedMessageQueueSize: 256 * 1024 * 1024,
    maxEarlyStreams: limit
  }
  return mplex(init)
}

const ourFactory = cached((limit) => ourMuxer(limit)({}) as StreamMuxerFactory<YamuxMuxer>)

/**
 * Options of the `ours-x` contender: ours with `BENCH_OURS_X` (JSON, e.g.
 * `{"maxSessionSendQueue":4194304}`) merged over the settings above, for
 * interleaved A/B runs of a setting against the default (`BENCH_CONTENDERS=ours,ours-x`).
 */
function experimentOptions (): YamuxMuxerInit {
  const json = process.env.BENCH_OURS_X
  return json === undefined || json === '' ? {} : JSON.parse(json)
}
const chainsafeFactory = cached((limit) => chainsafeMuxer(limit)({}))
const mplexFactory = cached((limit) => mplexMuxer(limit)({}))

export const BARE: BareContender = { kind: 'bare', name: 'bare', label: 'bare transport' }

export const OURS: MuxerContender = {
  kind: 'muxer',
  name: 'ours',
  label: 'libp2p-yamux (ours)',
  create: (conn, limit) => ourFactory(limit).createStreamMuxer(conn),
  libp2p: ourMuxer,
  selfStats: (muxer) => {
    const stats = (muxer as Partial<YamuxMuxer>).stats
    return stats === undefined ? undefined : { transportWrites: stats.transportWrites, windowUpdatesSent: stats.windowUpdatesSent }
  }
}

/** Ours with other settings; `libp2p(limit)` makes its libp2p muxer. */
function ourVariant (name: string, label: string, libp2p: (limit: number) => Libp2pMuxer): MuxerContender {
  const factory = cached((limit) => libp2p(limit)({}) as StreamMuxerFactory<YamuxMuxer>)
  return { ...OURS, name, label, create: (conn, limit) => factory(limit).createStreamMuxer(conn), libp2p }
}

export const OURS_X = ourVariant('ours-x', 'ours with BENCH_OURS_X', (limit) => ourMuxer(limit, experimentOptions()))

/** Ours holding windows until the first pong, as on a connection nothing crossed (fresh-connection.ts). */
export const OURS_WAIT = ourVariant('ours-wait', 'ours with growAfterFirstPing', (limit) => ourMuxer(limit, { growAfterFirstPing: true }))

export const CHAINSAFE: MuxerContender = {
  kind: 'muxer',
  name: 'chainsafe',
  label: '@chainsafe/libp2p-yamux 8',
  create: (conn, limit) => chainsafeFactory(limit).createStreamMuxer(conn),
  libp2p: chainsafeMuxer
}

export const MPLEX: MuxerContender = {
  kind: 'muxer',
  name: 'mplex',
  label: '@libp2p/mplex 12',
  create: (conn, limit) => mplexFactory(limit).createStreamMuxer(conn),
  libp2p: mplexMuxer
}

/**
 * In report order: the bare transport first, then ours, chainsafe, mplex;
 * then the libp2p v2 pair (ours-v2 next to chainsafe 7).
 */
export const ALL_CONTENDERS: Contender[] = [BARE, OURS, CHAINSAFE, MPLEX, OURS_V2, CHAINSAFE7]

/** Contenders run only when named in BENCH_CONTENDERS. */
const ON_REQUEST: Contender[] = [OURS_X, OURS_WAIT]

export function isYamux (contender: Contender): boolean {
  return contender.name === 'ours' || contender.name === 'chainsafe'
}

export function selectContenders (names: string[]): Contender[] {
  if (names.length === 0) { return ALL_CONTENDERS }
  return [...ALL_CONTENDERS, ...ON_REQUEST].filter(c => names.includes(c.name))
}
