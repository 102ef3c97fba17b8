import { expect } from 'aegir/chai'
import {
  ConnectionResetError, Flag, FLUSH_BATCH_BYTES, ReceiveWindowExceededError, FrameType, GoAwayCode, INITIAL_STREAM_WINDOW, MIN_BUSY_STREAM_WINDOW, RemoteGoAwayError,
  SessionShutdownError, StreamClosedError, StreamLimitError, StreamsExhaustedError
} from '../../src/core/index.ts'
import { decodeAll } from '../fixtures/raw-peer.ts'
import { SessionPair, concat, pattern, writeAll } from '../fixtures/session-pair.ts'
import type { WireFrame } from '../fixtures/raw-peer.ts'

describe('session: two cores back to back', () => {
  it('opens a stream from the client, echoes, half-closes both ways and forgets it', () => {
    const pair = new SessionPair()
    pair.server.onInbound = (id) => {
      pair.server.onDataHook = (sid, data) => { pair.server.session.write(sid, data.slice()) }
      void id
    }
    const id = pair.client.session.openStream()
    expect(id).to.equal(1)
    pair.client.session.write(id, Uint8Array.of(1, 2, 3))
    pair.run()
    expect(pair.server.inbound).to.deep.equal([1])
    expect([...pair.server.received(1)]).to.deep.equal([1, 2, 3])
    expect([...pair.client.received(1)]).to.deep.equal([1, 2, 3])

    pair.client.session.closeWrite(id)
    pair.run()
    expect(pair.server.log(1).remoteClosed).to.equal(true)
    expect(pair.client.session.streamCount).to.equal(1)
    pair.server.session.closeWrite(1)
    pair.run()
    expect(pair.client.log(1).remoteClosed).to.equal(true)
    expect(pair.client.session.streamCount).to.equal(0)
    expect(pair.server.session.streamCount).to.equal(0)
    expect(pair.client.log(1).closed).to.equal(true)
    expect(pair.server.log(1).closed).to.equal(true)
  })

  it('opens a stream from the server side with an even id', () => {
    const pair = new SessionPair()
    const id = pair.server.session.openStream()
    expect(id).to.equal(2)
    expect(pair.server.session.openStream()).to.equal(4)
    pair.server.session.write(id, Uint8Array.of(9))
    pair.run()
    expect(pair.client.inbound).to.deep.equal([2, 4])
    expect([...pair.client.received(2)]).to.deep.equal([9])
  })

  it('sends the first data with the SYN (0-RTT open) and ACKs on accept', () => {
    const pair = new SessionPair()
    pair.toServer.recordWire = true
    pair.toClient.recordWire = true
    const id = pair.client.session.openStream()
    pair.client.session.write(id, Uint8Array.of(1))
    pair.run()
    const sent = decodeAll(concat(pair.toServer.wire)).filter(f => f.streamId === id)
    expect(sent).to.have.length(1)
    expect(sent[0]).to.include({ type: FrameType.Data, flags: Flag.SYN, length: 1 })
    const back = decodeAll(concat(pair.toClient.wire)).filter(f => f.streamId === id)
    expect(back).to.have.length(1)
    expect(back[0]).to.include({ type: FrameType.WindowUpdate, flags: Flag.ACK, length: 0 })
  })

  it('a write made one deferral after openStream() (a caller that awaited the open) still carries the SYN', () => {
    const pair = new SessionPair()
    pair.toServer.recordWire = true
    const id = pair.client.session.openStream()
    // the continuation of `await createStream()` runs as the next microtask
    pair.env.defer(() => { pair.client.session.write(id, Uint8Array.of(7)) })
    pair.run()
    const sent = decodeAll(concat(pair.toServer.wire)).filter(f => f.streamId === id)
    expect(sent.map(f => [f.type, f.flags, f.length])).to.deep.equal([[FrameType.Data, Flag.SYN, 1]])
  })

  it('opens, writes and closes in one frame (SYN|FIN on Data)', () => {
    const pair = new SessionPair()
    pair.toServer.recordWire = true
    const id = pair.client.session.openStream()
    pair.client.session.write(id, Uint8Array.of(5))
    pair.client.session.closeWrite(id)
    pair.run()
    const sent = decodeAll(concat(pair.toServer.wire)).filter(f => f.streamId === id)
    // @chainsafe/libp2p-yamux drops the payload of a Data|FIN frame
    expect(sent.map(f => [f.type, f.flags, f.length])).to.deep.equal([[FrameType.Data, Flag.SYN, 1], [FrameType.WindowUpdate, Flag.FIN, 0]])
    expect(pair.server.log(id).remoteClosed).to.equal(true)
  })

  it('copies small writes, so the caller may reuse the buffer at once', () => {
    const pair = new SessionPair()
    const id = pair.client.session.openStream()
    const buf = Uint8Array.of(1, 2, 3)
    pair.client.session.write(id, buf)
    buf.fill(9)
    pair.client.session.write(id, buf)
    pair.run()
    expect([...pair.server.received(id)]).to.deep.equal([1, 2, 3, 9, 9, 9])
  })

  it('resets a stream from either side', () => {
    const pair = new SessionPair()
    const a = pair.client.session.openStream()
    const b = pair.client.session.openStream()
    pair.client.session.write(a, Uint8Array.of(1))
    pair.client.session.write(b, Uint8Array.of(1))
    pair.run()
    pair.client.session.reset(a)
    pair.server.session.reset(b)
    pair.run()
    expect(pair.server.log(a).reset).to.be.instanceOf(ConnectionResetError)
    expect(pair.server.log(a).resetRemote).to.equal(true)
    expect(pair.client.log(b).reset?.name).to.equal('ConnectionResetError')
    // a local reset ends the stream with onStreamClosed, a remote one with onStreamReset only
    expect(pair.client.log(a).closed).to.equal(true)
    expect(pair.server.log(a).closed).to.equal(undefined)
    expect(pair.client.session.streamCount).to.equal(0)
    expect(pair.server.session.streamCount).to.equal(0)
    expect(() => pair.client.session.write(a, Uint8Array.of(1))).to.throw(StreamClosedError)
  })

  it('carries 1000 concurrent streams, each echoed, then forgets them all', () => {
    const pair = new SessionPair()
    pair.server.onDataHook = (id, data) => { pair.server.session.write(id, data.slice()) }
    pair.server.onInbound = () => {}
    const ids: number[] = []
    for (let i = 0; i < 1000; i++) {
      const id = pair.client.session.openStream()
      ids.push(id)
      pair.client.session.write(id, pattern(1024, i + 1))
    }
    pair.run()
    for (const [i, id] of ids.entries()) {
      expect(pair.client.received(id)).to.deep.equal(pattern(1024, i + 1))
      pair.client.session.closeWrite(id)
      pair.server.session.closeWrite(id)
    }
    pair.run()
    expect(pair.client.session.streamCount).to.equal(0)
    expect(pair.server.session.streamCount).to.equal(0)
  })

  it('moves 8 MiB on one stream intact, in order, with the window never exceeded', () => {
    const pair = new SessionPair({ chunkSize: 1500, latency: 5 })
    const data = pattern(8 * 1024 * 1024, 3)
    const id = pair.client.session.openStream()
    const writer = writeAll(pair.client, id, data, true)
    pair.runUntil(() => pair.server.log(id).remoteClosed)
    expect(writer.done()).to.equal(true)
    expect(pair.server.received(id)).to.deep.equal(data)
  })
})

describe('session: churn', () => {
  it('keeps its deadline queues proportional to live streams under heavy churn', () => {
    // 20,000 streams opened, used and closed well inside the open/close timeouts:
    // queues compacted lazily must not hold every one of them until the timer fires
    const pair = new SessionPair({ latency: 0 })
    pair.server.onDataHook = (id) => { pair.server.session.closeWrite(id) }
    for (let i = 0; i < 20_000; i++) {
      const id = pair.client.session.openStream()
      pair.client.session.write(id, Uint8Array.of(1))
      pair.client.session.closeWrite(id)
      if (i % 100 === 99) { pair.run(0) }
    }
    pair.run(0)
    expect(pair.client.session.streamCount).to.equal(0)
    // white-box: the queues the single timer walks
    const internals = pair.client.session as unknown as { openDeadlines: unknown[], closeDeadlines: unknown[] }
    expect(internals.openDeadlines.length).to.be.at.most(2 * 100 + 64)
    expect(internals.closeDeadlines.length).to.be.at.most(2 * 100 + 64)
  })
})

describe('session: flow control', function () {
  // hang detection only: two cases push 32-64 MiB through the virtual link (about 1 s each)
  this.timeout(10_000)

  it('a reader that stops consuming stops the sender within one window', () => {
    const pair = new SessionPair({ latency: 2 })
    pair.server.autoConsume = false
    const id = pair.client.session.openStream()
    const data = pattern(4 * 1024 * 1024)
    const writer = writeAll(pair.client, id, data)
    pair.run(5_000)
    expect(writer.done()).to.equal(false)
    // nothing consumed: the peer may only have sent the initial window
    expect(pair.server.log(id).bytes).to.equal(INITIAL_STREAM_WINDOW)
    expect(pair.client.session.writableLength(id)).to.equal(0)

    // consuming returns credit, once half a window has been consumed; that
    // first update also grows the window to MIN_BUSY_STREAM_WINDOW
    pair.server.session.consume(id, INITIAL_STREAM_WINDOW / 2 - 1)
    pair.run(1_000)
    expect(pair.server.log(id).bytes).to.equal(INITIAL_STREAM_WINDOW)
    pair.server.session.consume(id, 1)
    pair.run(1_000)
    expect(pair.server.log(id).bytes).to.equal(MIN_BUSY_STREAM_WINDOW + INITIAL_STREAM_WINDOW / 2)
    expect(pair.client.session.writableLength(id)).to.equal(0)

    pair.server.autoConsume = true
    pair.server.session.consume(id, pair.server.log(id).bytes - INITIAL_STREAM_WINDOW / 2)
    pair.runUntil(() => writer.done() && pair.server.log(id).bytes === data.byteLength)
    expect(pair.server.received(id)).to.deep.equal(data)
  })

  it('grows the window with auto-tuning on a high-latency link, and sends few window updates', () => {
    const pair = new SessionPair({ latency: 25, capacity: 64 * 1024 * 1024 })
    pair.toClient.recordWire = true
    pair.run(200) // the initial ping measures the RTT
    expect(pair.server.session.rtt).to.be.greaterThan(0)
    const id = pair.client.session.openStream()
    const data = pattern(64 * 1024 * 1024, 9)
    writeAll(pair.client, id, data, true)
    const start = pair.env.now()
    pair.runUntil(() => pair.server.log(id).remoteClosed)
    const elapsed = pair.env.now() - start
    // with a fixed 256 KiB window this would take 256 round trips (12.8 s)
    expect(elapsed).to.be.lessThan(2_000)
    const updates = decodeAll(concat(pair.toClient.wire)).filter(f => f.type === FrameType.WindowUpdate && f.streamId === id)
    const mib = data.byteLength / (1024 * 1024)
    expect(updates.length / mib).to.be.at.most(2)
    const maxGrant = Math.max(...updates.map(u => u.length))
    expect(maxGrant).to.be.greaterThan(INITIAL_STREAM_WINDOW)
    expect(pair.server.received(id)).to.deep.equal(data)
  })

  it('never lets the window grow past maxStreamWindowSize', () => {
    const max = 1024 * 1024
    const pair = new SessionPair({ latency: 50, server: { maxStreamWindowSize: max } })
    pair.run(200)
    const id = pair.client.session.openStream()
    pair.toServer.recordWire = true
    writeAll(pair.client, id, pattern(32 * 1024 * 1024), true)
    let maxInFlight = 0
    pair.server.onDataHook = () => {}
    const orig = pair.toServer.send.bind(pair.toServer)
    pair.toServer.send = (chunks, n) => { const r = orig(chunks, n); maxInFlight = Math.max(maxInFlight, pair.toServer.inFlight); return r }
    pair.runUntil(() => pair.server.log(id).remoteClosed)
    // payload plus 12-byte headers in flight never exceeds the window
    expect(maxInFlight).to.be.at.most(max + 12 * (max / 65536 + 8))
    expect(maxInFlight).to.be.greaterThan(INITIAL_STREAM_WINDOW)
  })

  it('grants a larger initial window in a WindowUpdate right after the SYN (additive delta; yamux-js ignores a delta on SYN)', () => {
    const big = 1024 * 1024
    const pair = new SessionPair({ latency: 10, client: { initialStreamWindowSize: big } })
    pair.toServer.recordWire = true
    pair.client.autoConsume = false
    const id = pair.client.session.openStream()
    pair.run()
    const [syn, grant] = decodeAll(concat(pair.toServer.wire)).filter(f => f.streamId === id)
    expect(syn).to.include({ type: FrameType.WindowUpdate, flags: Flag.SYN, length: 0 })
    expect(grant).to.include({ type: FrameType.WindowUpdate, flags: 0, length: big - INITIAL_STREAM_WINDOW })
    writeAll(pair.server, id, pattern(4 * big))
    pair.run(5_000)
    expect(pair.client.log(id).bytes).to.equal(big)
  })

  it('caps data frames at maxFrameSize and shares the link round-robin', () => {
    const pair = new SessionPair({ client: { maxFrameSize: 16 * 1024 } })
    pair.toServer.recordWire = true
    pair.run()
    const a = pair.client.session.openStream()
    const b = pair.client.session.openStream()
    pair.client.session.write(a, pattern(100 * 1024, 1))
    pair.client.session.write(b, pattern(100 * 1024, 2))
    pair.run()
    const data = decodeAll(concat(pair.toServer.wire)).filter(f => f.type === FrameType.Data)
    expect(Math.max(...data.map(f => f.length))).to.equal(16 * 1024)
    // strict alternation while both have data
    const order = data.map(f => f.streamId)
    for (let i = 1; i < 12; i++) { expect(order[i]).to.not.equal(order[i - 1]) }
  })

  it('puts control frames ahead of queued data', () => {
    const pair = new SessionPair()
    pair.toServer.recordWire = true
    pair.run()
    const a = pair.client.session.openStream()
    pair.client.session.write(a, pattern(200 * 1024))
    pair.client.session.ping(() => {})
    pair.run()
    const frames = decodeAll(concat(pair.toServer.wire.slice(-1)))
    expect(frames[0].type).to.equal(FrameType.Ping)
  })

  it('tells only the streams whose writes were held that they may write again', () => {
    const pair = new SessionPair({ capacity: 128 * 1024 })
    pair.run()
    const quiet = pair.client.session.openStream()
    pair.client.session.write(quiet, Uint8Array.of(1))
    const busy = pair.client.session.openStream()
    writeAll(pair.client, busy, pattern(2 * 1024 * 1024), true)
    pair.runUntil(() => pair.server.log(busy).remoteClosed)
    expect(pair.client.log(busy).writableCalls).to.be.greaterThan(0)
    expect(pair.client.log(quiet).writableCalls).to.equal(0)
  })

  it('stops emitting while the transport is full and resumes on drain', () => {
    const pair = new SessionPair({ capacity: 64 * 1024 })
    pair.toServer.paused = true
    pair.run()
    const id = pair.client.session.openStream()
    writeAll(pair.client, id, pattern(1024 * 1024))
    pair.run(1000)
    expect(pair.client.session.isBlocked).to.equal(true)
    // one batch may overshoot the transport's mark before it says stop
    expect(pair.toServer.inFlight).to.be.lessThan(64 * 1024 + FLUSH_BATCH_BYTES + 64 * 1024)
    pair.toServer.paused = false
    pair.run(1000)
    expect(pair.server.log(id).bytes).to.equal(1024 * 1024)
  })
})

describe('session: stream limits and ids', () => {
  it('resets inbound streams beyond maxInboundStreams and keeps the session', () => {
    const pair = new SessionPair({ server: { maxInboundStreams: 3 } })
    const ids = [0, 1, 2, 3, 4].map(() => pair.client.session.openStream())
    for (const id of ids) { pair.client.session.write(id, Uint8Array.of(1)) }
    pair.run()
    expect(pair.server.inbound).to.deep.equal(ids.slice(0, 3))
    expect(pair.client.log(ids[3]).reset?.name).to.equal('ConnectionResetError')
    expect(pair.client.log(ids[4]).reset?.name).to.equal('ConnectionResetError')
    expect(pair.client.closed).to.equal(false)
    expect(pair.server.closed).to.equal(false)
    // once one closes there is room again
    pair.client.session.reset(ids[0])
    pair.run()
    const another = pair.client.session.openStream()
    pair.client.session.write(another, Uint8Array.of(1))
    pair.run()
    expect(pair.server.inbound).to.include(another)
  })

  it('throws StreamLimitError beyond maxOutboundStreams', () => {
    const pair = new SessionPair({ client: { maxOutboundStreams: 2 } })
    pair.client.session.openStream()
    pair.client.session.openStream()
    expect(() => pair.client.session.openStream()).to.throw(StreamLimitError)
  })

  it('throws StreamsExhaustedError once ids pass 2^32-1', () => {
    const pair = new SessionPair({ clientFirstStreamId: 0xFFFF_FFFF })
    expect(pair.client.session.openStream()).to.equal(0xFFFF_FFFF)
    expect(() => pair.client.session.openStream()).to.throw(StreamsExhaustedError)
    pair.client.session.write(0xFFFF_FFFF, Uint8Array.of(7))
    pair.run()
    expect([...pair.server.received(0xFFFF_FFFF)]).to.deep.equal([7])
  })

  it('holds opens beyond an ACK backlog of 256 until ACKs return', () => {
    const pair = new SessionPair()
    pair.server.autoAccept = false
    pair.toServer.recordWire = true
    const ids = Array.from({ length: 300 }, () => pair.client.session.openStream())
    pair.run()
    const syns = (): WireFrame[] => decodeAll(concat(pair.toServer.wire)).filter(f => (f.flags & Flag.SYN) !== 0 && f.streamId !== 0)
    expect(syns()).to.have.length(256)
    expect(pair.server.inbound).to.have.length(256)
    for (const id of pair.server.inbound.slice(0, 10)) { pair.server.session.acceptStream(id) }
    pair.run()
    expect(syns()).to.have.length(266)
    expect(syns().map(f => f.streamId)).to.deep.equal(ids.slice(0, 266))
  })
})

describe('session: ping and keep-alive', () => {
  it('measures the round-trip time', () => {
    const pair = new SessionPair({ latency: 20 })
    let rtt = -1
    pair.run(100)
    pair.client.session.ping((err, value) => { expect(err).to.equal(undefined); rtt = value })
    pair.run(100)
    expect(rtt).to.equal(40)
    expect(pair.client.session.rtt).to.equal(40)
  })

  it('reports an RTT of 0 ms as 0, not as "none measured" (a peer in the same tick, a coarse browser clock)', () => {
    const pair = new SessionPair({ latency: 0 })
    expect(pair.client.session.rtt).to.equal(-1)
    let rtt = -1
    pair.client.session.ping((err, value) => { expect(err).to.equal(undefined); rtt = value })
    pair.run(10)
    expect(rtt).to.equal(0)
    expect(pair.client.session.rtt).to.equal(0)
  })

  it('shares one ping in flight among callers', () => {
    const pair = new SessionPair({ latency: 5 })
    pair.toServer.recordWire = true
    pair.run(50)
    const results: number[] = []
    for (let i = 0; i < 5; i++) { pair.client.session.ping((_e, rtt) => results.push(rtt)) }
    pair.run(50)
    expect(results).to.deep.equal([10, 10, 10, 10, 10])
    const pings = decodeAll(concat(pair.toServer.wire)).filter(f => f.type === FrameType.Ping && f.flags === Flag.SYN)
    expect(pings).to.have.length(2) // the initial RTT ping and this one
  })

  it('closes a dead session with KeepAliveTimeoutError and GoAway(2)', () => {
    const pair = new SessionPair({ latency: 5, client: { enableKeepAlive: true, keepAliveInterval: 1000, connectionWriteTimeout: 500 } })
    pair.run(2500)
    expect(pair.client.closed).to.equal(false) // the live peer answers
    pair.toServer.recordWire = true
    pair.toClient.dropping = true
    pair.run(3000)
    expect(pair.client.closed).to.equal(true)
    expect(pair.client.closeError?.name).to.equal('KeepAliveTimeoutError')
    const last = decodeAll(concat(pair.toServer.wire)).pop()
    expect(last).to.include({ type: FrameType.GoAway, length: GoAwayCode.InternalError })
    expect(pair.env.pendingTimers).to.equal(0)
  })

  it('only pings an idle session', () => {
    const pair = new SessionPair({ latency: 1, client: { enableKeepAlive: true, keepAliveInterval: 1000 } })
    pair.run(10)
    pair.toServer.recordWire = true
    const id = pair.server.session.openStream()
    // the peer talks every 100 ms: no keep-alive ping is needed
    for (let t = 0; t < 50; t++) {
      pair.server.session.write(id, Uint8Array.of(t))
      pair.run(100)
    }
    const pings = decodeAll(concat(pair.toServer.wire)).filter(f => f.type === FrameType.Ping && f.flags === Flag.SYN)
    expect(pings).to.have.length(0)
    pair.run(3000)
    const later = decodeAll(concat(pair.toServer.wire)).filter(f => f.type === FrameType.Ping && f.flags === Flag.SYN)
    expect(later.length).to.be.within(1, 3)
  })

  it('fails a ping with TimeoutError when keep-alive is off, leaving the session up', () => {
    const pair = new SessionPair({ latency: 5, client: { connectionWriteTimeout: 100 } })
    pair.run(50)
    pair.toClient.dropping = true
    let error: Error | undefined
    pair.client.session.ping((err) => { error = err })
    pair.run(200)
    expect(error?.name).to.equal('TimeoutError')
    expect(pair.client.closed).to.equal(false)
  })
})

describe('session: GoAway', () => {
  it('GoAway(0) stops new streams and lets open ones finish', () => {
    const pair = new SessionPair()
    const id = pair.client.session.openStream()
    pair.client.session.write(id, Uint8Array.of(1))
    pair.run()
    pair.server.session.goAway()
    pair.run()
    expect(pair.client.goAways).to.deep.equal([0])
    expect(() => pair.client.session.openStream()).to.throw(RemoteGoAwayError)
    expect(() => pair.server.session.openStream()).to.throw(SessionShutdownError)
    const data = pattern(1024 * 1024)
    writeAll(pair.client, id, data, true)
    writeAll(pair.server, id, data, true)
    pair.run()
    expect(pair.server.log(id).bytes).to.equal(1 + data.byteLength)
    expect(pair.client.received(id)).to.deep.equal(data)
    expect(pair.client.session.streamCount).to.equal(0)
    expect(pair.client.closed).to.equal(false)
  })

  it('after sending GoAway, a new inbound SYN is reset', () => {
    const pair = new SessionPair()
    pair.server.session.goAway()
    // the client opens before it has seen the GoAway
    const id = pair.client.session.openStream()
    pair.client.session.write(id, Uint8Array.of(1))
    pair.run()
    expect(pair.server.inbound).to.deep.equal([])
    expect(pair.client.log(id).reset?.name).to.equal('ConnectionResetError')
  })

  const failures: Array<[string, () => Error, number]> = [
    ['a protocol error', () => new ReceiveWindowExceededError(), GoAwayCode.ProtocolError],
    ['an internal error', () => new Error('boom'), GoAwayCode.InternalError]
  ]
  for (const [what, makeError, code] of failures) {
    it(`close() with ${what} sends GoAway(${code}); the peer ends with RemoteGoAwayError`, () => {
      const pair = new SessionPair()
      const id = pair.client.session.openStream()
      pair.client.session.write(id, Uint8Array.of(1))
      pair.run()
      pair.server.session.close(makeError())
      pair.run()
      expect(pair.server.closeError?.goAwayCode).to.equal(code)
      expect(pair.client.closed).to.equal(true)
      expect(pair.client.closeError).to.be.instanceOf(RemoteGoAwayError)
      expect((pair.client.closeError as RemoteGoAwayError).code).to.equal(code)
      expect(pair.client.session.streamCount).to.equal(0)
    })
  }

  it('close() flushes queued data, then sends GoAway(0), then ends', () => {
    const pair = new SessionPair()
    pair.toServer.recordWire = true
    const id = pair.client.session.openStream()
    pair.client.session.write(id, pattern(100 * 1024))
    pair.client.session.close()
    expect(pair.client.closed).to.equal(true)
    expect(pair.client.closeError).to.equal(undefined)
    pair.run()
    const frames = decodeAll(concat(pair.toServer.wire))
    expect(frames.pop()).to.include({ type: FrameType.GoAway, length: 0 })
    expect(pair.server.log(id).bytes).to.equal(100 * 1024)
    expect(pair.server.goAways).to.deep.equal([0])
    expect(pair.env.pendingTimers).to.equal(0)
  })
})
