import { serviceCapabilities } from '@libp2p/interface'
import { expect } from 'aegir/chai'
import { Uint8ArrayList } from 'uint8arraylist'
import * as coreErrors from '../../src/core/errors.ts'
import * as root from '../../src/index.ts'
import { activeTimers, isYamuxMuxer, yamux } from '../../src/index.ts'
import { coreRecord, coreStreamCount, muxers, sendAll, settle, until } from './helpers.ts'
import type { Muxers } from './helpers.ts'
import type { YamuxMuxerInit } from '../../src/index.ts'
import type { Stream } from '@libp2p/interface'

/**
 * A stream whose reader consumed `bytes` fast (auto-tuning would grow its window if it could),
 * then paused while the writer sends as much again.
 */
async function pausedAfterFastReads (maxReadBufferLength: number, bytes: number): Promise<Muxers & { stream: Stream }> {
  const m = muxers({}, { streamOptions: { maxReadBufferLength } })
  await m.dialer.ping()
  const stream = await m.dialer.createStream()
  stream.send(Uint8Array.of(0))
  await until(() => m.inbound.length === 1)
  let received = 0
  m.inbound[0].addEventListener('message', (evt) => { received += evt.data.byteLength })
  await sendAll(stream, bytes)
  await until(() => received === bytes + 1)
  m.inbound[0].pause()
  void sendAll(stream, bytes).catch(() => {})
  return { ...m, stream }
}

describe('libp2p muxer: factory and options', () => {
  it('is a stream-muxer factory for /yamux/1.0.0', () => {
    const factory = yamux()()
    expect(factory.protocol).to.equal('/yamux/1.0.0')
    expect(Object.prototype.toString.call(factory)).to.equal('[object libp2p-yamux]')
    expect((factory as any)[serviceCapabilities]).to.deep.equal(['@libp2p/stream-multiplexing'])
  })

  const bad: Array<[string, YamuxMuxerInit]> = [
    ['maxMessageSize', { maxMessageSize: 10 }],
    ['maxMessageSize', { maxMessageSize: 2 * 1024 * 1024 }],
    ['keepAliveInterval', { keepAliveInterval: -1 }],
    ['initialStreamWindowSize', { initialStreamWindowSize: 1024 }],
    ['maxStreamWindowSize', { maxStreamWindowSize: 2 ** 33 }],
    ['maxInboundStreams', { maxInboundStreams: -1 }],
    ['maxEarlyStreams', { maxEarlyStreams: 1.5 }],
    ['streamOptions.maxReadBufferLength', { streamOptions: { maxReadBufferLength: 0 } }],
    // below the initial window: a peer keeping to its window would overflow it
    ['streamOptions.maxReadBufferLength', { streamOptions: { maxReadBufferLength: 64 * 1024 } }],
    ['streamOptions.maxReadBufferLength', { initialStreamWindowSize: 1024 * 1024, streamOptions: { maxReadBufferLength: 512 * 1024 } }],
    ['connectionWriteTimeout', { connectionWriteTimeout: Number.NaN }]
  ]
  for (const [name, init] of bad) {
    it(`rejects a bad ${name} with InvalidParametersError naming it`, () => {
      expect(() => yamux(init)).to.throw().with.property('name', 'InvalidParametersError')
      expect(() => yamux(init)).to.throw(name)
    })
  }
})

describe('libp2p muxer: package root', () => {
  it('exports every error class of the core', () => {
    const names = Object.keys(coreErrors)
    expect(names).to.include.members(['TransportError', 'TransportClosedError', 'InternalError'])
    for (const name of names) { expect((root as Record<string, unknown>)[name], name).to.equal((coreErrors as Record<string, unknown>)[name]) }
  })

  it('isYamuxMuxer recognises our muxers, also from another copy of the package, and nothing else', () => {
    const { dialer } = muxers()
    expect(isYamuxMuxer(dialer)).to.equal(true)
    // what a second copy's muxer looks like: the registered brand, not our class
    expect(isYamuxMuxer({ [Symbol.for('libp2p-yamux/muxer')]: true })).to.equal(true)
    for (const other of [undefined, null, {}, 'yamux', { protocol: '/yamux/1.0.0' }]) { expect(isYamuxMuxer(other)).to.equal(false) }
  })

  it('createStream() sends the SYN at once: the peer sees the stream before any write', async () => {
    const { dialer, inbound } = muxers()
    await dialer.createStream()
    await until(() => inbound.length === 1)
  })

  it('a write right after `await createStream()` leaves with the SYN: one frame, one transport write', async () => {
    // what libp2p's newStream does: multistream-select writes as soon as the stream is there
    const { dialer, inbound } = muxers()
    await settle()
    const before = { ...dialer.stats }
    const stream = await dialer.createStream()
    stream.send(Uint8Array.of(1, 2, 3))
    await until(() => inbound.length === 1 && inbound[0].readBufferLength === 3)
    expect(dialer.stats.framesSent - before.framesSent).to.equal(1)
    expect(dialer.stats.dataFramesSent - before.dataFramesSent).to.equal(1)
    expect(dialer.stats.transportWrites - before.transportWrites).to.equal(1)
  })
})

describe('libp2p muxer: back-pressure', () => {
  it('a paused reader stops the sender within one window', async () => {
    const { dialer, listener, inbound } = muxers()
    const stream = await dialer.createStream()
    stream.send(Uint8Array.of(0))
    await until(() => inbound.length === 1)
    inbound[0].addEventListener('message', () => {})
    inbound[0].pause()
    void sendAll(stream, 8 * 1024 * 1024).catch(() => {})
    await settle(100)
    const received = listener.stats.bytesReceived
    expect(received).to.be.lessThan(256 * 1024 + 4096)
    expect(inbound[0].readBufferLength).to.be.at.most(256 * 1024)
    expect(inbound[0].status).to.equal('open')
    inbound[0].resume()
    await until(() => listener.stats.bytesReceived > 8 * 1024 * 1024)
  })

  it('an async iterator that stops pulling stops the sender within one window', async () => {
    const { dialer, listener, inbound } = muxers()
    const stream = await dialer.createStream()
    stream.send(Uint8Array.of(0))
    await until(() => inbound.length === 1)
    const iterator = inbound[0][Symbol.asyncIterator]()
    await iterator.next()
    void sendAll(stream, 8 * 1024 * 1024).catch(() => {})
    await settle(100)
    expect(listener.stats.bytesReceived).to.be.lessThan(2 * 256 * 1024 + 4096)
    // pulling again lets the data flow to the end
    let total = 0
    const done = (async () => {
      for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) {
        total += r.value.byteLength
        if (total >= 8 * 1024 * 1024) { break }
      }
    })()
    await done
    expect(total).to.equal(8 * 1024 * 1024)
  })

  it('a message listener that keeps up receives everything', async () => {
    const { dialer, inbound } = muxers()
    const stream = await dialer.createStream()
    let received = 0
    stream.send(Uint8Array.of(0))
    await until(() => inbound.length === 1)
    inbound[0].addEventListener('message', (evt) => { received += evt.data.byteLength })
    await sendAll(stream, 32 * 1024 * 1024)
    await until(() => received === 32 * 1024 * 1024 + 1)
  })

  it("wakes only the streams whose writes were held with 'drain'", async () => {
    const { dialer, inbound } = muxers({}, {}, 256 * 1024)
    const idle = await Promise.all(Array.from({ length: 10 }, async () => dialer.createStream()))
    const drains = { idle: 0 }
    const countIdleDrain = (): void => { drains.idle++ }
    for (const s of idle) {
      s.send(Uint8Array.of(1))
      s.addEventListener('drain', countIdleDrain)
    }
    const busy = await dialer.createStream()
    let busyDrains = 0
    busy.addEventListener('drain', () => { busyDrains++ })
    busy.send(Uint8Array.of(1))
    await until(() => inbound.length === 11)
    inbound[10].addEventListener('message', () => {})
    await sendAll(busy, 16 * 1024 * 1024)
    expect(busyDrains).to.be.greaterThan(0)
    expect(drains.idle).to.equal(0)
  })

  it('by default a stream may grow its window to maxStreamWindowSize (its read buffer bound follows it), unless maxReadBufferLength is set', async () => {
    const windowCaps = async (dialerInit: YamuxMuxerInit, listenerInit: YamuxMuxerInit, streamInit?: { maxReadBufferLength: number }): Promise<[number, number]> => {
      const { dialer, listener, inbound } = muxers(dialerInit, listenerInit)
      const stream = await dialer.createStream(streamInit)
      stream.send(Uint8Array.of(1))
      await until(() => inbound.length === 1)
      return [coreRecord(dialer, stream)?.maxRecvWindow ?? -1, coreRecord(listener, inbound[0])?.maxRecvWindow ?? -1]
    }
    expect(await windowCaps({}, {})).to.deep.equal([16 * 1024 * 1024, 16 * 1024 * 1024])
    expect(await windowCaps({ maxStreamWindowSize: 8 * 1024 * 1024 }, { maxStreamWindowSize: 2 * 1024 * 1024 })).to.deep.equal([8 * 1024 * 1024, 2 * 1024 * 1024])
    expect(await windowCaps({}, { streamOptions: { maxReadBufferLength: 1024 * 1024 } }, { maxReadBufferLength: 512 * 1024 })).to.deep.equal([512 * 1024, 1024 * 1024])
  })

  it('caps the receive window at maxReadBufferLength so a paused stream is not aborted', async () => {
    const { inbound } = await pausedAfterFastReads(1024 * 1024, 16 * 1024 * 1024)
    await settle(100)
    expect(inbound[0].status).to.equal('open')
    expect(inbound[0].readBufferLength).to.be.at.most(1024 * 1024)
  })

  it('rejects createStream with a maxReadBufferLength below the initial window, opening nothing', async () => {
    const { dialer } = muxers()
    await expect(dialer.createStream({ maxReadBufferLength: 1000 })).to.eventually.be.rejected
      .with.property('name', 'InvalidParametersError')
    expect(dialer.streams).to.have.length(0)
    expect(coreStreamCount(dialer)).to.equal(0)
  })

  it('a maxReadBufferLength of exactly the initial window holds a paused stream whose peer fills its window', async () => {
    const { dialer, stream, inbound } = await pausedAfterFastReads(256 * 1024, 8 * 1024 * 1024)
    // the sender runs out of window with data still queued
    await until(() => coreRecord(dialer, stream)?.sendWindow === 0 && inbound[0].readBufferLength > 0)
    await settle(50)
    expect(inbound[0].status).to.equal('open')
    expect(inbound[0].readBufferLength).to.be.at.most(256 * 1024)
  })

  it('bytes put back with unshift() do not count against maxReadBufferLength: a peer filling its window is not an overflow', async () => {
    const { dialer, inbound } = muxers({}, { streamOptions: { maxReadBufferLength: 256 * 1024 } })
    const stream = await dialer.createStream()
    stream.send(new Uint8Array(200 * 1024))
    await until(() => inbound.length === 1)
    // as byteStream().unwrap() after protocol negotiation: read, put what is left back
    const taken = new Uint8ArrayList()
    const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }): void => { taken.append(evt.data) }
    inbound[0].addEventListener('message', onMessage)
    await until(() => taken.byteLength === 200 * 1024)
    inbound[0].removeEventListener('message', onMessage)
    inbound[0].unshift(taken)
    inbound[0].pause()
    // the peer got its credit back and fills its whole window
    void sendAll(stream, 1024 * 1024).catch(() => {})
    await until(() => coreRecord(dialer, stream)?.sendWindow === 0 && inbound[0].readBufferLength > 200 * 1024)
    await settle(50)
    expect(inbound[0].status).to.equal('open')
    expect(inbound[0].readBufferLength).to.be.greaterThan(256 * 1024)
  })

  it('cuts data frames at maxMessageSize', async () => {
    const { dialer, inbound } = muxers({ maxMessageSize: 16 * 1024 })
    const stream = await dialer.createStream()
    stream.send(new Uint8Array(1))
    await until(() => inbound.length === 1)
    const sizes: number[] = []
    inbound[0].addEventListener('message', (evt) => { sizes.push(evt.data.byteLength) })
    stream.send(new Uint8Array(100 * 1024))
    await until(() => sizes.reduce((a, b) => a + b, 0) === 1 + 100 * 1024)
    expect(Math.max(...sizes)).to.equal(16 * 1024)
  })
})

describe('libp2p muxer: reading', () => {
  it('an iterator started after the remote closed still ends (with and without buffered data)', async () => {
    const { dialer, inbound } = muxers()
    const withData = await dialer.createStream()
    withData.send(Uint8Array.of(1, 2, 3))
    await withData.close()
    const empty = await dialer.createStream()
    await empty.close()
    await until(() => inbound.length === 2 && inbound.every(s => s.remoteWriteStatus === 'closed'))
    await settle(20)
    const read = async (stream: Stream): Promise<number[]> => {
      const out: number[] = []
      for await (const chunk of stream) { out.push(...chunk.subarray()) }
      return out
    }
    expect(await read(inbound[0])).to.deep.equal([1, 2, 3])
    expect(await read(inbound[1])).to.deep.equal([])
  })
})

describe('libp2p muxer: limits and errors', () => {
  it('resets inbound streams beyond maxInboundStreams, keeping the connection', async () => {
    const { dialer, inbound } = muxers({}, { maxInboundStreams: 2 })
    const errors: Array<string | undefined> = []
    const streams: Stream[] = []
    for (let i = 0; i < 3; i++) {
      const stream = await dialer.createStream()
      stream.addEventListener('close', (evt) => { errors.push(evt.error?.name) })
      streams.push(stream)
    }
    await until(() => errors.length === 1)
    expect(errors).to.deep.equal(['StreamResetError'])
    expect(inbound).to.have.length(2)
    expect(streams[0].status).to.equal('open')
    expect(dialer.status).to.equal('open')
  })

  it('aborts a stream idle past an inactivityTimeout the caller set; the peer sees a reset', async () => {
    const timersBefore = activeTimers()
    const { dialer, listener, inbound } = muxers()
    // the busy stream sends every 40 ms: a 500 ms timeout leaves room for a
    // loaded machine's pauses, and the loop outlasts the idle stream's timeout
    const idle = await dialer.createStream({ inactivityTimeout: 500 })
    const busy = await dialer.createStream({ inactivityTimeout: 500 })
    const untimed = await dialer.createStream()
    for (const s of [idle, busy, untimed]) { s.send(Uint8Array.of(1)) }
    await until(() => inbound.length === 3)
    const idleClosed = new Promise<string | undefined>(resolve => { idle.addEventListener('close', (evt) => { resolve(evt.error?.name) }) })
    const remoteClosed = new Promise<string | undefined>(resolve => { inbound[0].addEventListener('close', (evt) => { resolve(evt.error?.name) }) })
    const start = Date.now()
    while (Date.now() - start < 1200) {
      busy.send(Uint8Array.of(2))
      await settle(40)
    }
    expect(await idleClosed).to.equal('TimeoutError')
    expect(await remoteClosed).to.equal('StreamResetError')
    expect(busy.status).to.equal('open')
    expect(untimed.status).to.equal('open')
    await dialer.close()
    await listener.close()
    // the sweep timer (and the sessions' own) are gone
    expect(activeTimers()).to.be.at.most(timersBefore)
  })

  it('throws TooManyOutboundProtocolStreamsError beyond maxOutboundStreams', async () => {
    const { dialer } = muxers({ maxOutboundStreams: 1 })
    await dialer.createStream()
    await expect(dialer.createStream()).to.eventually.be.rejected.with.property('name', 'TooManyOutboundProtocolStreamsError')
  })

  it('pings the peer and reports the RTT', async () => {
    const { dialer } = muxers()
    const rtt = await dialer.ping()
    expect(rtt).to.be.a('number').and.at.least(0)
    expect(dialer.rtt).to.be.at.least(0)
  })

  it('rejects createStream after close with MuxerClosedError', async () => {
    const { dialer } = muxers()
    await dialer.close()
    await expect(dialer.createStream()).to.eventually.be.rejected.with.property('name', 'MuxerClosedError')
  })

  it('abort resets the peer streams and ends the peer session with RemoteGoAwayError', async () => {
    const { dialer, listener, inbound } = muxers()
    const stream = await dialer.createStream()
    stream.send(Uint8Array.of(1))
    await until(() => inbound.length === 1)
    const closed = new Promise<Error | undefined>(resolve => { inbound[0].addEventListener('close', (evt) => { resolve(evt.error) }) })
    dialer.abort(new Error('local failure'))
    const error = await closed
    expect(error?.name).to.equal('RemoteGoAwayError')
    expect(listener.status).to.equal('closed')
  })

  it('throws StreamStateError when writing after close', async () => {
    const { dialer } = muxers()
    const stream = await dialer.createStream()
    await stream.close()
    expect(() => stream.send(Uint8Array.of(1))).to.throw().with.property('name', 'StreamStateError')
  })
})
