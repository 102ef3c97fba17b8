/**
 * Two real libp2p 2.10 nodes over TCP + noise: one muxes with
 * `libp2p-yamux/v2`, the other with `@chainsafe/libp2p-yamux` 7, in both
 * dialing directions (and ours with ours); and the package root's `yamux()`
 * on libp2p 2, both ways.
 */
import { noise } from '@chainsafe/libp2p-noise-v16'
import { yamux as chainsafeYamux } from '@chainsafe/libp2p-yamux-v7'
import { tcp } from '@libp2p/tcp-v10'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p-v2'
import { yamux as rootYamux } from '../../src/index.ts'
import { yamux } from '../../src/v2/index.ts'
import type { Connection, Stream, StreamMuxerFactory } from '@libp2p/interface-v2'
import type { Libp2p } from 'libp2p-v2'

const ECHO = '/test/echo/1.0.0'
const HOLD = '/test/hold/1.0.0'
const LIMITS = { maxInboundStreams: 1000, maxOutboundStreams: 1000 }

type MuxerFn = (components: any) => StreamMuxerFactory

interface TestNode { node: Libp2p, held: Stream[] }

async function createNode (muxer: MuxerFn): Promise<TestNode> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer],
    connectionMonitor: { enabled: false }
  })
  const held: Stream[] = []
  // echo: every byte back, then close
  await node.handle(ECHO, ({ stream }) => {
    stream.sink(stream.source).catch((err: Error) => { stream.abort(err) })
  }, LIMITS)
  // hold: keep the stream for the test to inspect
  await node.handle(HOLD, ({ stream }) => { held.push(stream) }, LIMITS)
  return { node, held }
}

function pattern (length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) { out[i] = (i * 31 + seed) & 0xff }
  return out
}

async function * pieces (data: Uint8Array, size = 65536): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.byteLength; offset += size) { yield data.subarray(offset, offset + size) }
}

/** Reads a source to its end into one buffer (copied). */
async function collect (stream: Stream): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let total = 0
  for await (const chunk of stream.source) {
    parts.push(chunk.subarray().slice())
    total += chunk.byteLength
  }
  const out = new Uint8Array(total)
  let at = 0
  for (const part of parts) { out.set(part, at); at += part.byteLength }
  return out
}

/** Writes `data`, closes for writing, and returns everything echoed back. */
async function roundTrip (stream: Stream, data: Uint8Array): Promise<Uint8Array> {
  const reading = collect(stream)
  await stream.sink(pieces(data))
  return reading
}

/** How the read side of `stream` ends: 'end' or the error's name. */
async function readEnd (stream: Stream): Promise<string> {
  try {
    const iterator = stream.source[Symbol.asyncIterator]()
    while ((await iterator.next()).done !== true) { /* drain */ }
    return 'end'
  } catch (err: any) {
    return err.name
  }
}

async function waitFor (condition: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) { throw new Error('condition not met in time') }
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

const pairings: Array<[string, MuxerFn, MuxerFn]> = [
  ['ours dials chainsafe 7', yamux(), chainsafeYamux()],
  ['chainsafe 7 dials ours', chainsafeYamux(), yamux()],
  ['ours dials ours', yamux(), yamux()],
  // the package root's yamux() answers libp2p 2's calling shape too
  ['root yamux() dials chainsafe 7', rootYamux(), chainsafeYamux()],
  ['chainsafe 7 dials root yamux()', chainsafeYamux(), rootYamux()]
]

for (const [title, dialerMuxer, listenerMuxer] of pairings) {
  describe(`libp2p 2.10 + TCP + noise: ${title}`, function () {
    this.timeout(60_000)
    let dialer: TestNode
    let listener: TestNode
    const unhandled: unknown[] = []
    const onUnhandled = (err: unknown): void => { unhandled.push(err) }

    beforeEach(async () => {
      unhandled.length = 0
      process.on('unhandledRejection', onUnhandled)
      process.on('uncaughtException', onUnhandled)
      dialer = await createNode(dialerMuxer)
      listener = await createNode(listenerMuxer)
    })

    afterEach(async () => {
      await dialer?.node.stop()
      await listener?.node.stop()
      // late errors (after the streams ended) count too
      await new Promise(resolve => setTimeout(resolve, 50))
      process.off('unhandledRejection', onUnhandled)
      process.off('uncaughtException', onUnhandled)
      expect(unhandled.map(String)).to.deep.equal([])
    })

    async function connect (): Promise<{ out: Connection, back: Connection }> {
      const out = await dialer.node.dial(listener.node.getMultiaddrs()[0])
      await waitFor(() => listener.node.getConnections(dialer.node.peerId).length > 0)
      return { out, back: listener.node.getConnections(dialer.node.peerId)[0] }
    }

    it('echoes 1 MiB byte-exact each way', async () => {
      const { out, back } = await connect()
      const there = pattern(1024 * 1024, 7)
      expect(await roundTrip(await out.newStream(ECHO), there)).to.deep.equal(there)
      // the same connection, opened by the listener
      const andBack = pattern(1024 * 1024, 11)
      expect(await roundTrip(await back.newStream(ECHO), andBack)).to.deep.equal(andBack)
    })

    it('echoes 1 KiB on each of 200 concurrent streams', async () => {
      const { out } = await connect()
      const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
        const stream = await out.newStream(ECHO, LIMITS)
        const data = pattern(1024, i)
        const back = await roundTrip(stream, data)
        return back.byteLength === 1024 && back.every((b, j) => b === data[j])
      }))
      expect(results.filter(Boolean)).to.have.length(200)
      // closed streams leave the connection's list (libp2p counts protocol limits over it)
      await waitFor(() => out.streams.length === 0)
    })

    it('a close and a reset are seen on the other side, either way', async () => {
      const { out, back } = await connect()
      for (const [opener, other] of [[out, listener], [back, dialer]] as const) {
        const before = other.held.length
        const closing = await opener.newStream(HOLD)
        await waitFor(() => other.held.length === before + 1)
        const remoteClosed = readEnd(other.held[before])
        await closing.close()
        expect(await remoteClosed).to.equal('end')

        const resetting = await opener.newStream(HOLD)
        await waitFor(() => other.held.length === before + 2)
        const remoteReset = readEnd(other.held[before + 1])
        resetting.abort(new Error('changed my mind'))
        expect(await remoteReset).to.equal('StreamResetError')
      }
    })

    const stoppingEndsStreams = (stopping: 'dialer' | 'listener'): void => {
      it(`stopping the ${stopping} ends its streams on both sides`, async () => {
        const { out } = await connect()
        const streams = await Promise.all([0, 1, 2].map(async () => out.newStream(HOLD)))
        const held = listener.held
        await waitFor(() => held.length === 3)
        const all = [...streams, ...held]
        const ends = all.map(readEnd)
        await (stopping === 'dialer' ? dialer : listener).node.stop()
        // every read side ends: cleanly where the peer's FIN or GoAway got
        // through, else with a typed error (chainsafe 7's last frames can
        // lose the race with libp2p closing the socket)
        const how = await Promise.all(ends)
        for (const end of how) { expect(end).to.be.oneOf(['end', 'TransportClosedError']) }
        // and then the streams themselves, both ways
        await waitFor(() => all.every(s => s.status !== 'open'))
        const nodes = [dialer.node, listener.node]
        await waitFor(() => nodes.every(node => node.getConnections().length === 0))
      })
    }
    stoppingEndsStreams('dialer')
    stoppingEndsStreams('listener')
  })
}
