/**
 * The interop driver's libp2p 2 peering: a libp2p 2.10 node (TCP + noise)
 * muxing with `libp2p-yamux/v2`, against the go-libp2p peer. Its channels
 * drive v2 source/sink streams.
 */
import { noise } from '@chainsafe/libp2p-noise-v16'
import { tcp } from '@libp2p/tcp-v10'
import { multiaddr } from '@multiformats/multiaddr-v12'
import { createLibp2p } from 'libp2p-v2'
import { yamux } from '../../src/v2/index.ts'
import { concat } from '../fixtures/session-pair.ts'
import type { Channel, Peering, Role, StartPeer } from './types.ts'
import type { YamuxMuxerV2 } from '../../src/v2/index.ts'
import type { Connection, Stream } from '@libp2p/interface-v2'

/**
 * A channel over a v2 stream: writes go through one long-lived `sink`
 * whose source hands over one buffer at a time; `write` resolves when the
 * sink has taken it (so the stream's back-pressure reaches the caller).
 */
function v2Channel (stream: Stream): Channel {
  interface Item { data?: Uint8Array, resolve(): void }
  let next: Item | undefined
  let wake: ((item: Item) => void) | undefined
  const take = async (): Promise<Item> => {
    const item = next
    if (item !== undefined) { next = undefined; return item }
    return new Promise<Item>(resolve => { wake = resolve })
  }
  async function * outgoing (): AsyncGenerator<Uint8Array> {
    for (;;) {
      const item = await take()
      item.resolve()
      if (item.data === undefined) { return }
      yield item.data
    }
  }
  const sinking = stream.sink(outgoing())
  sinking.catch(() => {})
  const hand = async (data?: Uint8Array): Promise<void> => {
    await new Promise<void>(resolve => {
      const item = { data, resolve }
      const waiting = wake
      wake = undefined
      if (waiting !== undefined) { waiting(item) } else { next = item }
    })
  }
  return {
    async write (data) { await hand(data) },
    async end () {
      await hand(undefined)
      await sinking
    },
    async readAll (onChunk) {
      const chunks: Uint8Array[] = []
      for await (const chunk of stream.source) {
        const bytes = chunk.subarray()
        chunks.push(bytes)
        onChunk?.(bytes.byteLength)
      }
      return concat(chunks)
    },
    reset () { stream.abort(new Error('reset by the interop driver')) }
  }
}

export async function connectLibp2pV2 (role: Role, startPeer: StartPeer, protocol: string): Promise<{ peering: Peering, cleanup(): void }> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ enableKeepAlive: false })],
    connectionMonitor: { enabled: false }
  })
  const inbound: Channel[] = []
  let onInbound: (() => void) | undefined
  await node.handle(protocol, ({ stream }) => {
    inbound.push(v2Channel(stream))
    onInbound?.()
  }, { maxInboundStreams: 2000, maxOutboundStreams: 2000 })
  let peer: ReturnType<StartPeer>
  let connection: Connection
  if (role === 'we dial') {
    peer = startPeer('go-libp2p', ['listen'])
    connection = await node.dial(multiaddr(await peer.ready))
  } else {
    const connected = new Promise<Connection>(resolve => { node.addEventListener('connection:open', (evt) => { resolve(evt.detail) }, { once: true }) })
    peer = startPeer('go-libp2p', ['dial', node.getMultiaddrs()[0].toString()])
    peer.ready.catch(() => {})
    connection = await connected
  }
  const muxer = (connection as unknown as { muxer: YamuxMuxerV2 }).muxer
  const ended = new Promise<string>(resolve => {
    node.addEventListener('connection:close', (evt) => { if (evt.detail === connection) { resolve('closed') } })
  })
  const peering: Peering = {
    inbound,
    get onInbound () { return onInbound },
    set onInbound (fn: (() => void) | undefined) { onInbound = fn },
    async open () {
      return v2Channel(await connection.newStream(protocol, { maxOutboundStreams: 2000, runOnLimitedConnection: true }))
    },
    async ping () { return muxer.ping() },
    goAway () { throw new Error('not used') },
    ended,
    isOpen: () => connection.status === 'open',
    async close () { await connection.close() }
  }
  return { peering, cleanup: () => { void node.stop(); peer.child.kill() } }
}
