/**
 * The libp2p v2 contenders (`libp2p-yamux/v2` and `@chainsafe/libp2p-yamux`
 * 7) and the source/sink byte pipes they run over: an in-process pair
 * (items passed by reference, 4 MiB high-water mark) and TCP loopback
 * sockets wrapped the way `@libp2p/tcp` 10 wraps them (one `socket.write`
 * per item, lists concatenated, 'drain' honoured).
 */
import { once } from 'node:events'
import net from 'node:net'
import { yamux as chainsafe7Yamux } from '@chainsafe/libp2p-yamux-v7'
import { defaultLogger } from '@libp2p/logger'
import { yamux as ourV2Yamux } from '../src/v2/index.ts'
import type { TransportCounters, TransportKind } from './transports.ts'
import type { YamuxMuxerV2 } from '../src/v2/index.ts'
import type { StreamMuxer as StreamMuxerV2, StreamMuxerFactory as StreamMuxerFactoryV2, StreamMuxerInit as StreamMuxerInitV2 } from '@libp2p/interface-v2'
import type { Source } from 'it-stream-types'
import type { Uint8ArrayList } from 'uint8arraylist'

export type { StreamMuxerV2 }

export interface MuxerV2Contender {
  kind: 'muxer-v2'
  name: string
  label: string
  /** Builds a v2 muxer; `streamLimit` raises every stream-count limit. */
  create(init: StreamMuxerInitV2, streamLimit: number): StreamMuxerV2
  selfStats?(muxer: StreamMuxerV2): { transportWrites: number, windowUpdatesSent: number } | undefined
}

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

const components = { logger: defaultLogger() }

const ourV2Factory = cached((limit): StreamMuxerFactoryV2 => ourV2Yamux({
  enableKeepAlive: false,
  maxInboundStreams: limit,
  maxOutboundStreams: limit,
  // room for every stream's initial window (the default 1 GiB holds 4096)
  maxSessionWindowSize: Math.max(2 ** 30, limit * 256 * 1024)
})(components))

const chainsafe7Factory = cached((limit): StreamMuxerFactoryV2 => chainsafe7Yamux({
  enableKeepAlive: false,
  maxInboundStreams: limit,
  maxOutboundStreams: limit
})(components as any))

export const OURS_V2: MuxerV2Contender = {
  kind: 'muxer-v2',
  name: 'ours-v2',
  label: 'libp2p-yamux/v2 (ours)',
  create: (init, limit) => ourV2Factory(limit).createStreamMuxer(init),
  selfStats: (muxer) => {
    const stats = (muxer as Partial<YamuxMuxerV2>).stats
    return stats === undefined ? undefined : { transportWrites: stats.transportWrites, windowUpdatesSent: stats.windowUpdatesSent }
  }
}

export const CHAINSAFE7: MuxerV2Contender = {
  kind: 'muxer-v2',
  name: 'chainsafe7',
  label: '@chainsafe/libp2p-yamux 7 (libp2p v2)',
  create: (init, limit) => chainsafe7Factory(limit).createStreamMuxer(init)
}

// ---- byte pipes ----

type Item = Uint8Array | Uint8ArrayList

export interface DuplexV2 {
  source: AsyncIterable<Item>
  sink(source: Source<Item>): Promise<void>
}

export interface PairV2 {
  dialer: DuplexV2
  listener: DuplexV2
  counters(): TransportCounters
  close(): Promise<void>
}

const HIGH_WATER = 4 * 1024 * 1024

/** One direction of the in-process pair. */
class Pipe {
  writes = 0
  bytes = 0
  private readonly items: Item[] = []
  private queued = 0
  private ended = false
  private wakeReader: (() => void) | undefined
  private wakeWriter: (() => void) | undefined

  async write (source: Source<Item>): Promise<void> {
    try {
      for await (const item of source) {
        if (this.ended) { break }
        this.items.push(item)
        this.queued += item.byteLength
        this.bytes += item.byteLength
        this.writes++
        this.wakeReader?.()
        if (this.queued >= HIGH_WATER) { await new Promise<void>(resolve => { this.wakeWriter = resolve }) }
      }
    } finally {
      this.end()
    }
  }

  end (): void {
    this.ended = true
    this.wakeReader?.()
    this.wakeWriter?.()
  }

  async * read (): AsyncGenerator<Item> {
    for (;;) {
      const item = this.items.shift()
      if (item !== undefined) {
        this.queued -= item.byteLength
        if (this.queued < HIGH_WATER && this.wakeWriter !== undefined) {
          const wake = this.wakeWriter
          this.wakeWriter = undefined
          wake()
        }
        yield item
        continue
      }
      if (this.ended) { return }
      await new Promise<void>(resolve => { this.wakeReader = resolve })
      this.wakeReader = undefined
    }
  }
}

export function inProcessPairV2 (): PairV2 {
  const ab = new Pipe()
  const ba = new Pipe()
  return {
    dialer: { source: ba.read(), sink: async (source) => { await ab.write(source) } },
    listener: { source: ab.read(), sink: async (source) => { await ba.write(source) } },
    counters: () => ({ writes: ab.writes + ba.writes, bytes: ab.bytes + ba.bytes, socketWrites: ab.writes + ba.writes, socketReads: 0, shortReads: 0 }),
    close: async () => { ab.end(); ba.end() }
  }
}

class SocketDuplex implements DuplexV2 {
  writes = 0
  bytes = 0
  readonly source: AsyncIterable<Item>
  constructor (readonly socket: net.Socket) {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    this.source = socket
  }

  async sink (source: Source<Item>): Promise<void> {
    try {
      for await (const item of source) {
        const buf = item instanceof Uint8Array ? item : item.subarray()
        this.writes++
        this.bytes += buf.byteLength
        if (!this.socket.write(buf)) { await once(this.socket, 'drain') }
      }
    } catch {
      // the socket went away: the run fails elsewhere
    }
    this.socket.end()
  }
}

export async function tcpPairV2 (): Promise<PairV2> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  const accepted = once(server, 'connection')
  const client = net.connect(port, '127.0.0.1')
  await once(client, 'connect')
  const [serverSocket] = await accepted as [net.Socket]
  server.close()
  const a = new SocketDuplex(client)
  const b = new SocketDuplex(serverSocket)
  return {
    dialer: a,
    listener: b,
    counters: () => ({ writes: a.writes + b.writes, bytes: a.bytes + b.bytes, socketWrites: a.writes + b.writes, socketReads: 0, shortReads: 0 }),
    close: async () => { client.destroy(); serverSocket.destroy() }
  }
}

export async function makePairV2 (kind: TransportKind): Promise<PairV2> {
  return kind === 'tcp' ? tcpPairV2() : inProcessPairV2()
}

/** Wires a muxer to its end of a pipe. */
export function attach (muxer: StreamMuxerV2, end: DuplexV2): void {
  void end.sink(muxer.source).catch(() => {})
  // the v2 types ask for an AsyncGenerator; any async iterable is read the same way
  void Promise.resolve(muxer.sink(end.source as AsyncGenerator<Item>)).catch(() => {})
}

export async function closeMuxerV2 (muxer: StreamMuxerV2 | undefined): Promise<void> {
  if (muxer === undefined) { return }
  try {
    await muxer.close({ signal: AbortSignal.timeout(1000) })
  } catch (err: any) {
    try { muxer.abort(err instanceof Error ? err : new Error(String(err))) } catch { /* already closed */ }
  }
}
