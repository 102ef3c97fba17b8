/**
 * The libp2p v2 adapter in process: two muxers whose sources feed each
 * other's sinks directly. Options, consumption-driven credit, stream
 * bookkeeping, resets and the hostile-frame smoke test.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { expect } from 'aegir/chai'
import { Uint8ArrayList } from 'uint8arraylist'
import { Flag, FrameType, GoAwayCode, INITIAL_STREAM_WINDOW, MIN_BUSY_STREAM_WINDOW } from '../../src/core/index.ts'
import { yamux } from '../../src/v2/index.ts'
import { decodeAll, frame } from '../fixtures/raw-peer.ts'
import type { YamuxMuxerV2, YamuxV2Init } from '../../src/v2/index.ts'
import type { Stream } from '@libp2p/interface-v2'

interface Pair { dialer: YamuxMuxerV2, listener: YamuxMuxerV2, inbound: Stream[], ended: Stream[] }

function pair (init: YamuxV2Init = {}): Pair {
  const inbound: Stream[] = []
  const ended: Stream[] = []
  const dialer = yamux({ enableKeepAlive: false, ...init })().createStreamMuxer({ direction: 'outbound' })
  const listener = yamux({ enableKeepAlive: false, ...init })().createStreamMuxer({
    direction: 'inbound',
    onIncomingStream: (stream) => { inbound.push(stream) },
    onStreamEnd: (stream) => { ended.push(stream) }
  })
  void listener.sink(dialer.source)
  void dialer.sink(listener.source)
  return { dialer, listener, inbound, ended }
}

async function until (condition: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) { throw new Error('condition not met in time') }
    await new Promise(resolve => setTimeout(resolve, 2))
  }
}

async function * chunks (total: number, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(size).fill(1)
  for (let sent = 0; sent < total; sent += size) { yield buf.subarray(0, Math.min(size, total - sent)) }
}

/** Yields one byte, then waits (the stream stays open for writing) until `release` resolves. */
async function * oneThenWait (release: Promise<void>): AsyncGenerator<Uint8Array> {
  yield Uint8Array.of(1)
  await release
}

async function readAll (stream: Stream): Promise<number> {
  let total = 0
  for await (const chunk of stream.source) { total += chunk.byteLength }
  return total
}

/** Collects unhandled rejections and uncaught exceptions while a test runs. */
function watchUnhandled (): { errors: unknown[], stop(): void } {
  const errors: unknown[] = []
  const onError = (err: unknown): void => { errors.push(err) }
  const proc = (globalThis as any).process
  proc?.on('unhandledRejection', onError)
  proc?.on('uncaughtException', onError)
  return {
    errors,
    stop: () => {
      proc?.off('unhandledRejection', onError)
      proc?.off('uncaughtException', onError)
    }
  }
}

describe('libp2p v2 muxer: factory and options', () => {
  it('is a stream-muxer factory for /yamux/1.0.0', () => {
    const factory = yamux()()
    expect(factory.protocol).to.equal('/yamux/1.0.0')
    expect((factory as any)[serviceCapabilities]).to.deep.equal(['@libp2p/stream-multiplexing'])
    expect(factory.createStreamMuxer({ direction: 'outbound' }).protocol).to.equal('/yamux/1.0.0')
  })

  const bad: Array<[string, YamuxV2Init]> = [
    ['maxMessageSize', { maxMessageSize: 10 }],
    ['initialStreamWindowSize', { initialStreamWindowSize: 1024 }],
    ['maxInboundStreams', { maxInboundStreams: -1 }],
    ['keepAliveInterval', { keepAliveInterval: 0 }],
    ['streamOptions.maxReadBufferLength', { streamOptions: { maxReadBufferLength: 0 } }],
    ['streamOptions.maxReadBufferLength', { streamOptions: { maxReadBufferLength: 64 * 1024 } }]
  ]
  for (const [name, init] of bad) {
    it(`rejects ${JSON.stringify(init)} with InvalidParametersError naming ${name}`, () => {
      expect(() => yamux(init)).to.throw().with.property('name', 'InvalidParametersError')
      expect(() => yamux(init)).to.throw(name)
    })
  }
})

describe('libp2p v2 muxer: streams', () => {
  it('credit follows consumption: an unread source stops the sender within one window', async () => {
    const { dialer, listener, inbound } = pair()
    const stream = dialer.newStream()
    const writing = stream.sink(chunks(8 * 1024 * 1024))
    await until(() => inbound.length === 1)
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(listener.stats.bytesReceived).to.be.lessThan(256 * 1024 + 4096)
    expect(stream.writeStatus).to.equal('writing')
    expect(await readAll(inbound[0])).to.equal(8 * 1024 * 1024)
    await writing
    expect(stream.writeStatus).to.equal('closed')
  })

  it('by default a stream may grow its window to maxStreamWindowSize; streamOptions.maxReadBufferLength caps it', async () => {
    const cap = (muxer: YamuxMuxerV2, stream: Stream): number => (muxer as any).session.streams.get(Number(stream.id))?.maxRecvWindow ?? -1
    const defaults = pair()
    const stream = defaults.dialer.newStream()
    void stream.sink(chunks(1))
    await until(() => defaults.inbound.length === 1)
    expect([cap(defaults.dialer, stream), cap(defaults.listener, defaults.inbound[0])]).to.deep.equal([16 * 1024 * 1024, 16 * 1024 * 1024])
    const capped = pair({ maxStreamWindowSize: 8 * 1024 * 1024, streamOptions: { maxReadBufferLength: 1024 * 1024 } })
    const other = capped.dialer.newStream()
    void other.sink(chunks(1))
    await until(() => capped.inbound.length === 1)
    expect([cap(capped.dialer, other), cap(capped.listener, capped.inbound[0])]).to.deep.equal([1024 * 1024, 1024 * 1024])
  })

  it('closed streams leave muxer.streams on both sides; libp2p may reassign protocol and direction', async () => {
    const { dialer, listener, inbound, ended } = pair()
    const stream = dialer.newStream()
    expect(dialer.streams).to.include(stream)
    expect(stream.direction).to.equal('outbound')
    stream.protocol = '/echo/1.0.0'
    stream.direction = 'outbound'
    expect(stream.protocol).to.equal('/echo/1.0.0')
    await stream.sink([Uint8Array.of(1, 2, 3)])
    expect(stream.writeStatus).to.equal('closed')
    expect(stream.status).to.equal('open')
    await until(() => inbound.length === 1)
    const remote = inbound[0]
    expect(remote.direction).to.equal('inbound')
    expect(listener.streams).to.include(remote)
    const got = new Uint8ArrayList()
    for await (const chunk of remote.source) { got.append(chunk) }
    expect(got.subarray()).to.deep.equal(Uint8Array.of(1, 2, 3))
    expect(remote.readStatus).to.equal('closed')
    await remote.close()
    expect(remote.status).to.equal('closed')
    expect(remote.timeline.close).to.be.a('number')
    expect(listener.streams).to.not.include(remote)
    expect(ended).to.include(remote)
    // the dialer's read side ends on the listener's FIN
    expect(await readAll(stream)).to.equal(0)
    await until(() => dialer.streams.length === 0)
    expect(stream.status).to.equal('closed')
  })

  it('a reset is seen on the other side as StreamResetError', async () => {
    const { dialer, listener, inbound } = pair()
    const stream = dialer.newStream()
    let release = (): void => {}
    void stream.sink(oneThenWait(new Promise(resolve => { release = resolve }))).catch(() => {})
    await until(() => inbound.length === 1)
    const reading = readAll(inbound[0]).then(() => undefined, (err: Error) => err)
    stream.abort(new Error('changed my mind'))
    expect(stream.status).to.equal('aborted')
    expect(dialer.streams).to.have.length(0)
    const err = await reading
    expect(err).to.have.property('name', 'StreamResetError')
    expect(inbound[0].status).to.equal('reset')
    expect(listener.streams).to.have.length(0)
    release()
  })

  it('throws TooManyOutboundProtocolStreamsError beyond maxOutboundStreams, MuxerClosedError after close', async () => {
    const { dialer } = pair({ maxOutboundStreams: 2 })
    dialer.newStream()
    dialer.newStream()
    expect(() => dialer.newStream()).to.throw().with.property('name', 'TooManyOutboundProtocolStreamsError')
    await dialer.close()
    expect(() => dialer.newStream()).to.throw().with.property('name', 'MuxerClosedError')
    expect(dialer.streams).to.have.length(0)
  })

  it('abort ends our streams with the error and the peer session with RemoteGoAwayError', async () => {
    const { dialer, listener, inbound } = pair()
    const stream = dialer.newStream()
    let release = (): void => {}
    void stream.sink(oneThenWait(new Promise(resolve => { release = resolve }))).catch(() => {})
    await until(() => inbound.length === 1)
    const local = readAll(stream).then(() => undefined, (err: Error) => err)
    const remote = readAll(inbound[0]).then(() => undefined, (err: Error) => err)
    dialer.abort(new Error('boom'))
    expect((await local)?.message).to.equal('boom')
    expect(await remote).to.have.property('name', 'RemoteGoAwayError')
    expect(listener.streams).to.have.length(0)
    release()
  })
})

describe('libp2p v2 muxer: hostile peer smoke test', () => {
  it('a bad frame gives GoAway(1) on the wire and a clean muxer abort', async () => {
    const watch = watchUnhandled()
    try {
      const muxer = yamux({ enableKeepAlive: false })().createStreamMuxer({ direction: 'outbound' })
      const stream = muxer.newStream()
      void stream.sink([Uint8Array.of(1)]).catch(() => {})
      const reading = readAll(stream).then(() => undefined, (err: Error) => err)
      const bad = frame(FrameType.Ping, 0, 0, 1)
      bad[0] = 7 // version 7
      const sinking = muxer.sink([bad])
      const out = new Uint8ArrayList()
      for await (const chunk of muxer.source) { out.append(chunk) }
      await sinking
      const goAway = decodeAll(out.subarray()).filter(f => f.type === FrameType.GoAway)
      expect(goAway.map(f => f.length)).to.deep.equal([GoAwayCode.ProtocolError])
      expect(await reading).to.have.property('name', 'InvalidVersionError')
      expect(stream.status).to.equal('aborted')
      expect(muxer.streams).to.have.length(0)
      expect(() => muxer.newStream()).to.throw().with.property('name', 'MuxerClosedError')
      await new Promise(resolve => setTimeout(resolve, 20))
      expect(watch.errors).to.deep.equal([])
    } finally {
      watch.stop()
    }
  })
})

describe('libp2p v2 muxer: window growth before the first pong', () => {
  /** Credit the muxer grants on stream 1 for half a window of data from a peer that never answers its ping. */
  async function creditBeforePong (init: YamuxV2Init): Promise<number> {
    const muxer = yamux({ enableKeepAlive: false, ...init })().createStreamMuxer({
      direction: 'inbound',
      onIncomingStream: (stream) => { void readAll(stream).catch(() => {}) }
    })
    let release = (): void => {}
    const held = new Promise<void>(resolve => { release = resolve })
    void muxer.sink((async function * () {
      yield frame(FrameType.Data, Flag.SYN, 1, INITIAL_STREAM_WINDOW / 2, new Uint8Array(INITIAL_STREAM_WINDOW / 2))
      await held // the peer goes quiet: the ping stays unanswered
    })())
    const out = new Uint8ArrayList()
    let credit = 0
    for await (const chunk of muxer.source) {
      out.append(chunk)
      credit = decodeAll(out.subarray()).filter(f => f.type === FrameType.WindowUpdate && f.streamId === 1).reduce((sum, f) => sum + f.length, 0)
      if (credit > 0) { break }
    }
    release()
    muxer.abort(new Error('done'))
    return credit
  }

  it('by default the first update makes the busy jump; with growAfterFirstPing, credit only', async () => {
    expect(await creditBeforePong({})).to.equal(INITIAL_STREAM_WINDOW / 2 + MIN_BUSY_STREAM_WINDOW - INITIAL_STREAM_WINDOW)
    expect(await creditBeforePong({ growAfterFirstPing: true })).to.equal(INITIAL_STREAM_WINDOW / 2)
  })
})
