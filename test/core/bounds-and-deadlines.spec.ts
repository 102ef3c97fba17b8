/* Memory bounds (session window budget, send queue bound, pinned views) and deadlines (write stall, FIN, user pings). */
import { expect } from 'aegir/chai'
import { DEFAULT_MAX_SESSION_SEND_QUEUE } from '../../src/core/constants.ts'
import { FLUSH_BATCH_BYTES, Flag, FrameType, StreamLimitError } from '../../src/core/index.ts'
import { RawHarness, frame } from '../fixtures/raw-peer.ts'
import { SessionPair, pattern } from '../fixtures/session-pair.ts'

const KiB = 1024

describe('session bounds: maxSessionWindowSize', () => {
  it('refuses streams once every initial window would exceed the budget, and takes them again when streams end', () => {
    const h = new RawHarness({ config: { maxSessionWindowSize: 512 * KiB } })
    h.send(
      frame(FrameType.WindowUpdate, Flag.SYN, 1, 0),
      frame(FrameType.WindowUpdate, Flag.SYN, 3, 0),
      frame(FrameType.WindowUpdate, Flag.SYN, 5, 0)
    )
    expect(h.peer.inbound).to.deep.equal([1, 3])
    const resets = h.take().filter(f => (f.flags & Flag.RST) !== 0).map(f => f.streamId)
    expect(resets).to.deep.equal([5])
    expect(() => h.session.openStream()).to.throw(StreamLimitError)
    // what the peer may send us now is bounded by the budget: 2 × 256 KiB
    h.send(frame(FrameType.WindowUpdate, Flag.RST, 1, 0))
    h.send(frame(FrameType.WindowUpdate, Flag.SYN, 7, 0))
    expect(h.peer.inbound).to.deep.equal([1, 3, 7])
  })

  it('left unset, the budget grows to admit every stream the stream limits allow', () => {
    const h = new RawHarness({ config: { maxInboundStreams: 5000, maxOutboundStreams: 0 } })
    expect(h.session.config.maxSessionWindowSize).to.equal(5000 * 256 * KiB)
    const syns: Uint8Array[] = []
    for (let i = 0; i < 4500; i++) { syns.push(frame(FrameType.WindowUpdate, Flag.SYN, 1 + 2 * i, 0)) }
    h.send(...syns)
    expect(h.peer.inbound).to.have.length(4500)
    expect(h.take().filter(f => (f.flags & Flag.RST) !== 0)).to.have.length(0)
  })
})

describe('session bounds: payload views', () => {
  it('copies small payloads out of large reads, so a held chunk pins only its own bytes; large ones stay views', () => {
    const h = new RawHarness()
    h.peer.autoConsume = false
    const held: Uint8Array[] = []
    h.peer.onDataHook = (_id, data) => { held.push(data) }
    const parts: Uint8Array[] = []
    for (let id = 1; id <= 15; id += 2) { parts.push(frame(FrameType.Data, Flag.SYN, id, 1, Uint8Array.of(id))) }
    const big = 60 * KiB
    parts.push(frame(FrameType.Data, Flag.SYN, 17, big, new Uint8Array(big).fill(1)))
    let length = 0
    for (const p of parts) { length += p.byteLength }
    const read = new Uint8Array(length)
    let offset = 0
    for (const p of parts) { read.set(p, offset); offset += p.byteLength }
    h.send(read)
    expect(held).to.have.length(9)
    for (const piece of held.slice(0, 8)) {
      expect(piece.byteLength).to.equal(1)
      expect(piece.buffer).to.not.equal(read.buffer)
      expect(piece.buffer.byteLength).to.be.at.most(64)
    }
    expect(held[8].byteLength).to.equal(big)
    expect(held[8].buffer).to.equal(read.buffer) // zero-copy where the view is most of the read
  })

  it('really copies small payloads when reads are Node Buffers, whose slice() returns a view', () => {
    // Buffer's own slice() shares memory; this subclass does the same in any runtime
    class ViewSlicing extends Uint8Array {
      override slice (start?: number, end?: number): ViewSlicing { return this.subarray(start, end) as ViewSlicing }
    }
    const h = new RawHarness()
    h.peer.autoConsume = false
    const held: Uint8Array[] = []
    h.peer.onDataHook = (_id, data) => { held.push(data) }
    const bytes = new Uint8Array([
      ...frame(FrameType.Data, Flag.SYN, 1, 1, Uint8Array.of(7)),
      ...frame(FrameType.Data, Flag.SYN, 3, 60 * KiB, new Uint8Array(60 * KiB))
    ])
    const read = new ViewSlicing(bytes.byteLength)
    read.set(bytes)
    h.send(read)
    expect(held[0]).to.deep.equal(Uint8Array.of(7))
    expect(held[0].buffer).to.not.equal(read.buffer)
    expect(held[0].buffer.byteLength).to.be.at.most(64)
  })

  it('keeps the pieces of a frame at least as long as its reads as views (no copy of the tail a read cut), and still copies small pieces of small frames', () => {
    const h = new RawHarness()
    h.peer.autoConsume = false
    const held: Uint8Array[] = []
    h.peer.onDataHook = (_id, data) => { held.push(data) }
    // 64 KiB, 1 KiB and 48 KiB frames over 64 KiB reads, as TCP cuts them
    const bytes = new Uint8Array([
      ...frame(FrameType.Data, Flag.SYN, 1, 64 * KiB, new Uint8Array(64 * KiB).fill(1)),
      ...frame(FrameType.Data, Flag.SYN, 3, KiB, new Uint8Array(KiB).fill(3)),
      ...frame(FrameType.Data, Flag.SYN, 5, 48 * KiB, new Uint8Array(48 * KiB).fill(5))
    ])
    const reads = [bytes.slice(0, 64 * KiB), bytes.slice(64 * KiB)]
    for (const read of reads) { h.send(read) }
    const pieces = held.map(piece => ({ length: piece.byteLength, view: reads.some(read => read.buffer === piece.buffer) }))
    expect(pieces).to.deep.equal([
      { length: 64 * KiB - 12, view: true },
      // 12 bytes of a second read: kept as a view, since a frame pins at most the reads it spans
      { length: 12, view: true },
      // a small frame's piece, under a quarter of its read: copied
      { length: KiB, view: false },
      { length: 48 * KiB, view: true }
    ])
  })
})

describe('session bounds: bytes queued across streams', () => {
  it('back-pressures writers once the session-wide queue bound is reached, and resumes every stream intact', () => {
    const pair = new SessionPair({ capacity: 64 * KiB })
    pair.run()
    pair.toServer.paused = true // the peer stops reading
    const streams = 100
    const size = 512 * KiB
    const offsets = new Map<number, number>()
    const data = new Map<number, Uint8Array>()
    const pump = (id: number): void => {
      const bytes = data.get(id)!
      let offset = offsets.get(id)!
      while (offset < size) {
        const n = pair.client.session.write(id, bytes.subarray(offset, Math.min(offset + 64 * KiB, size)))
        offset += n
        if (n === 0) { break }
      }
      offsets.set(id, offset)
      if (offset === size) { pair.client.session.closeWrite(id) }
    }
    pair.client.onWritableHook = (id) => { if (offsets.get(id)! < size) { pump(id) } }
    for (let i = 0; i < streams; i++) {
      const id = pair.client.session.openStream()
      data.set(id, pattern(size, id))
      offsets.set(id, 0)
      pump(id)
    }
    pair.run(1000)
    let accepted = 0
    for (const offset of offsets.values()) { accepted += offset }
    // 100 windows of 256 KiB would admit 25 MiB: the default bound (16 MiB) stops it;
    // what already left sits in the paused link
    expect(accepted).to.be.at.most(DEFAULT_MAX_SESSION_SEND_QUEUE + 64 * KiB + 2 * FLUSH_BATCH_BYTES)
    expect(accepted).to.be.at.least(DEFAULT_MAX_SESSION_SEND_QUEUE)
    pair.toServer.paused = false
    pair.runUntil(() => [...data.keys()].every(id => pair.server.log(id).remoteClosed))
    for (const [id, bytes] of data) {
      expect(pair.server.log(id).remoteClosed).to.equal(true)
      expect(pair.server.received(id)).to.deep.equal(bytes)
    }
  })
})

describe('session deadlines', () => {
  it('connectionWriteTimeout counts time without progress, not time since the transport first pushed back', () => {
    const h = new RawHarness({ config: { connectionWriteTimeout: 10_000 } })
    let queued = 400 * KiB
    h.peer.queuedBytes = () => queued
    h.peer.accept = false
    const id = h.session.openStream()
    h.session.write(id, new Uint8Array(200 * KiB))
    h.env.runTasks()
    expect(h.session.isBlocked).to.equal(true)
    // a slow but healthy link: 20 KiB leave every second for 15 s
    for (let s = 0; s < 15; s++) {
      queued -= 20 * KiB
      h.advance(1000)
    }
    expect(h.peer.closed).to.equal(false)
    // then nothing moves
    h.advance(10_500)
    expect(h.peer.closed).to.equal(true)
    expect(h.peer.closeError?.name).to.equal('ConnectionWriteTimeoutError')
  })

  it('a FIN never waits for send window (the queue never exceeds it), so a silent peer is bounded by streamCloseTimeout', () => {
    const h = new RawHarness({ config: { streamCloseTimeout: 5000 } })
    const id = h.session.openStream()
    h.send(frame(FrameType.WindowUpdate, Flag.ACK, id, 0))
    // the peer never grants credit: the write is cut to the window, not queued beyond it
    expect(h.session.write(id, new Uint8Array(300 * 1024))).to.equal(256 * 1024)
    h.session.closeWrite(id)
    h.env.runTasks()
    const fin = h.take().filter(f => f.streamId === id && (f.flags & Flag.FIN) !== 0)
    expect(fin).to.have.length(1) // left at once, with no credit from the peer
    h.advance(5100)
    expect(h.peer.log(id).reset?.name).to.equal('TimeoutError')
    expect(h.take().filter(f => f.streamId === id && (f.flags & Flag.RST) !== 0)).to.have.length(1)
    expect(h.session.streamCount).to.equal(0)
  })

  it('a ping the application sent that times out fails that ping only, even with keep-alive on', () => {
    const pair = new SessionPair({ latency: 5, client: { enableKeepAlive: true, keepAliveInterval: 2000, connectionWriteTimeout: 500 } })
    pair.run(50)
    pair.toClient.dropping = true
    let error: Error | undefined
    pair.client.session.ping((err) => { error = err })
    pair.run(600)
    expect(error?.name).to.equal('TimeoutError')
    expect(pair.client.closed).to.equal(false)
    pair.toClient.dropping = false
    pair.run(10_000)
    expect(pair.client.closed).to.equal(false)
  })
})
