/**
 * Two real libp2p v3 nodes over TCP + noise: one muxes with ours, the other
 * with `@chainsafe/libp2p-yamux`, in both dialing directions.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux as chainsafeYamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { isYamuxMuxer, yamux, yamuxOf } from '../../src/index.ts'
import { ECHO, echo, roundTrip, testData } from '../fixtures/echo.ts'
import type { Stream, StreamMuxerFactory } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

type MuxerFn = (components: any) => StreamMuxerFactory

async function createNode (muxer: MuxerFn): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer],
    connectionMonitor: { enabled: false }
  })
  await node.handle(ECHO, (stream) => { echo(stream) }, { maxInboundStreams: 1000, maxOutboundStreams: 1000 })
  return node
}

const pairings: Array<[string, MuxerFn, MuxerFn]> = [
  ['ours dials chainsafe', yamux(), chainsafeYamux()],
  ['chainsafe dials ours', chainsafeYamux(), yamux()],
  ['ours dials ours', yamux(), yamux()]
]

for (const [title, dialerMuxer, listenerMuxer] of pairings) {
  describe(`libp2p + TCP + noise: ${title}`, function () {
    this.timeout(60_000)
    let dialer: Libp2p
    let listener: Libp2p

    beforeEach(async () => {
      dialer = await createNode(dialerMuxer)
      listener = await createNode(listenerMuxer)
    })

    afterEach(async () => {
      await dialer?.stop()
      await listener?.stop()
    })

    it('echoes 1 MiB on one stream', async () => {
      const stream = await dialer.dialProtocol(listener.getMultiaddrs()[0], ECHO)
      const data = testData(1024 * 1024, 7)
      const back = await roundTrip(stream, data)
      expect(back.byteLength).to.equal(data.byteLength)
      expect(back).to.deep.equal(data)
    })

    it('echoes 1 KiB on each of 200 concurrent streams', async () => {
      const connection = await dialer.dial(listener.getMultiaddrs()[0])
      // a first round trip makes sure the listener's libp2p has attached its
      // stream handler: @chainsafe/libp2p-yamux kills a connection that sees
      // more than 10 streams before that (ours holds them un-ACKed instead)
      await roundTrip(await connection.newStream(ECHO), testData(16, 1))
      const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
        const stream = await connection.newStream(ECHO, { maxOutboundStreams: 1000 })
        const data = testData(1024, i)
        const back = await roundTrip(stream, data)
        return back.byteLength === 1024 && back.every((b, j) => b === data[j])
      }))
      expect(results.filter(Boolean)).to.have.length(200)
    })

    it('a close and a reset are seen on the other side', async () => {
      const inbound: Stream[] = []
      await listener.unhandle(ECHO)
      await listener.handle(ECHO, (stream) => { inbound.push(stream) }, { maxInboundStreams: 1000 })
      const connection = await dialer.dial(listener.getMultiaddrs()[0])

      const closing = await connection.newStream(ECHO)
      await waitFor(() => inbound.length === 1)
      const remoteClosed = new Promise<void>(resolve => { inbound[0].addEventListener('remoteCloseWrite', () => { resolve() }) })
      await closing.close()
      await remoteClosed

      const resetting = await connection.newStream(ECHO)
      await waitFor(() => inbound.length === 2)
      const remoteReset = new Promise<string | undefined>(resolve => { inbound[1].addEventListener('close', (evt) => { resolve(evt.error?.name) }) })
      resetting.abort(new Error('changed my mind'))
      expect(await remoteReset).to.equal('StreamResetError')
    })

    it('stopping a node ends its streams on both sides', async () => {
      const inbound: Stream[] = []
      await listener.unhandle(ECHO)
      await listener.handle(ECHO, (stream) => { inbound.push(stream) }, { maxInboundStreams: 1000 })
      const connection = await dialer.dial(listener.getMultiaddrs()[0])
      const streams = await Promise.all([0, 1, 2].map(async () => connection.newStream(ECHO)))
      await waitFor(() => inbound.length === 3)
      const closed = Promise.all([...streams, ...inbound].map(async s => new Promise<void>(resolve => {
        if (s.status !== 'open') { resolve(); return }
        s.addEventListener('close', () => { resolve() })
      })))
      await dialer.stop()
      await closed
      for (const s of [...streams, ...inbound]) { expect(s.status).to.not.equal('open') }
      // the listener learns of the closed TCP socket a moment later
      await waitFor(() => listener.getConnections().length === 0)
    })
  })
}

describe('libp2p + TCP + noise: typed access to the muxer (yamuxOf)', function () {
  this.timeout(60_000)
  const nodes: Libp2p[] = []

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  it('yamuxOf(connection) gives our muxer, typed: ping(), rtt, stats', async () => {
    const [dialer, listener] = await Promise.all([createNode(yamux()), createNode(yamux())])
    nodes.push(dialer, listener)
    const connection = await dialer.dial(listener.getMultiaddrs()[0])
    const muxer = yamuxOf(connection)
    if (muxer === undefined) { throw new Error('no yamux muxer on a yamux connection') }
    const rtt: number = await muxer.ping()
    expect(rtt).to.be.at.least(0)
    expect(muxer.rtt).to.be.at.least(0)
    expect(muxer.stats.bytesReceived).to.be.greaterThan(0)
  })

  it('yamuxOf is undefined and isYamuxMuxer false when another muxer was negotiated', async () => {
    const [dialer, listener] = await Promise.all([createNode(chainsafeYamux()), createNode(yamux())])
    nodes.push(dialer, listener)
    const connection = await dialer.dial(listener.getMultiaddrs()[0])
    expect(yamuxOf(connection)).to.equal(undefined)
    expect(isYamuxMuxer((connection as any).muxer)).to.equal(false)
    // the listener's end of the same connection is ours
    await waitFor(() => listener.getConnections().length === 1)
    expect(isYamuxMuxer((listener.getConnections()[0] as any).muxer)).to.equal(true)
  })
})

async function waitFor (condition: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) { throw new Error('condition not met in time') }
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}
