/* Unit properties of flow control (src/core/flow-control.ts), in the style of rust-yamux's flow_control.rs. */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { WindowBudget, addSendCredit, chargeReceive, recordConsumed, takeCredit } from '../../src/core/flow-control.ts'
import { Flag, FrameType, INITIAL_STREAM_WINDOW, InvalidConfigError, MAX_U32, MIN_BUSY_STREAM_WINDOW, ReceiveWindowExceededError, WindowOverflowError, resolveConfig } from '../../src/core/index.ts'
import { StreamRecord } from '../../src/core/stream-record.ts'
import { RawHarness, frame } from '../fixtures/raw-peer.ts'
import { SessionPair, equalBytes, pattern, writeAll } from '../fixtures/session-pair.ts'
import { numberSetting } from '../fixtures/settings.ts'

const runs = numberSetting('FUZZ_RUNS') ?? 200

type Op = { kind: 'send', bytes: number, cut: number } | { kind: 'consume', bytes: number } | { kind: 'tick', ms: number } | { kind: 'flush' }

const op: fc.Arbitrary<Op> = fc.oneof(
  // a frame of `bytes`, of which a read delivered only `cut`% now (the rest comes with the next frame)
  fc.record({ kind: fc.constant('send' as const), bytes: fc.integer({ min: 1, max: 300_000 }), cut: fc.oneof(fc.constant(100), fc.integer({ min: 0, max: 100 })) }),
  fc.record({ kind: fc.constant('consume' as const), bytes: fc.integer({ min: 1, max: 300_000 }) }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ kind: fc.constant('flush' as const) })
)

/** The peer sent `n` bytes on `stream` and the application consumed them. */
function receiveAndConsume (stream: StreamRecord, n: number): void {
  chargeReceive(stream, n)
  recordConsumed(stream, n)
}

describe('flow control: one stream, sender and receiver', () => {
  it('never more in flight than the window, credit equals consumption plus granted growth, budget never exceeded', () => {
    fc.assert(fc.property(
      fc.integer({ min: INITIAL_STREAM_WINDOW, max: 4 * INITIAL_STREAM_WINDOW }),
      fc.integer({ min: 0, max: 8 * 1024 * 1024 }),
      fc.integer({ min: -1, max: 20 }), // -1: no RTT measured yet
      fc.array(op, { maxLength: 200 }),
      (initial, extraMax, srtt, ops) => {
        const max = initial + extraMax
        const budget = new WindowBudget(initial + Math.floor(extraMax / 2))
        budget.used += initial
        let now = 0
        const receiver = new StreamRecord(1, false, initial, max, now)
        const sender = new StreamRecord(1, true, initial, max, now)
        let buffered = 0
        let consumedTotal = 0
        let credited = 0
        let growthTotal = 0
        const initialOwed = receiver.creditOwed
        let rest = 0 // the part of the last frame still arriving
        const frameEnds = (): void => {
          buffered += rest
          rest = 0
          receiver.rxPartial = 0
        }
        for (const o of ops) {
          if (o.kind === 'send') {
            frameEnds()
            const n = Math.min(o.bytes, sender.sendWindow)
            if (n === 0) { continue }
            sender.sendWindow -= n
            chargeReceive(receiver, n) // never throws for a sender within its window
            const arrived = Math.floor(n * o.cut / 100)
            buffered += arrived
            rest = n - arrived
            receiver.rxPartial = rest > 0 ? arrived : 0
          } else if (o.kind === 'consume') {
            const n = Math.min(o.bytes, buffered)
            buffered -= n
            consumedTotal += n
            recordConsumed(receiver, n)
          } else if (o.kind === 'tick') {
            now += o.ms
          } else {
            const before = receiver.recvWindow
            const credit = takeCredit(receiver, now, srtt, budget)
            growthTotal += receiver.recvWindow - before
            credited += credit
            if (credit > 0) { addSendCredit(sender, credit) }
          }
          // the sender's view and ours agree, and nothing exceeds the window
          expect(sender.sendWindow).to.equal(receiver.recvAvailable)
          expect(buffered + rest + receiver.recvAvailable).to.be.at.most(receiver.recvWindow)
          expect(buffered + rest + receiver.recvAvailable + receiver.consumed + receiver.creditOwed).to.equal(receiver.recvWindow)
          expect(receiver.recvWindow).to.be.at.most(max)
          expect(budget.used).to.be.at.most(budget.limit)
        }
        // every credit granted is consumption, the initial extra window, or growth
        expect(credited).to.equal(consumedTotal - receiver.consumed + initialOwed - receiver.creditOwed + growthTotal)
        // never stalled: once the last frame ended and all was read, no update that is due is left unsent
        frameEnds()
        recordConsumed(receiver, buffered)
        buffered = 0
        const credit = takeCredit(receiver, now, srtt, budget)
        if (credit > 0) { addSendCredit(sender, credit) }
        expect(recordConsumed(receiver, 0), 'an update is due but was not sent').to.equal(false)
        expect(sender.sendWindow).to.equal(receiver.recvAvailable)
      }
    ), { numRuns: runs })
  })

  it('asks for an update once half the window the peer knows of is consumed, never after FIN', () => {
    const stream = new StreamRecord(1, false, INITIAL_STREAM_WINDOW, INITIAL_STREAM_WINDOW, 0)
    expect(recordConsumed(stream, INITIAL_STREAM_WINDOW / 2 - 1)).to.equal(false)
    expect(recordConsumed(stream, 1)).to.equal(true)
    stream.readClosed = true
    expect(recordConsumed(stream, INITIAL_STREAM_WINDOW)).to.equal(false)
    expect(takeCredit(stream, 0, 0, new WindowBudget(1 << 30))).to.equal(0)
  })

  it('grants the extra initial window before anything is consumed', () => {
    const stream = new StreamRecord(1, false, 1024 * 1024, 1024 * 1024, 0)
    expect(takeCredit(stream, 0, 0, new WindowBudget(1 << 30))).to.equal(1024 * 1024 - INITIAL_STREAM_WINDOW)
    expect(stream.recvAvailable).to.equal(1024 * 1024)
  })

  it('a busy stream grows to MIN_BUSY_STREAM_WINDOW at its first update whatever its rate, then only when half the window went in under two RTTs, within the budget', () => {
    const budget = new WindowBudget(MIN_BUSY_STREAM_WINDOW + 100_000)
    budget.used = INITIAL_STREAM_WINDOW
    const stream = new StreamRecord(1, false, INITIAL_STREAM_WINDOW, 16 * 1024 * 1024, 0)
    const half = INITIAL_STREAM_WINDOW / 2
    receiveAndConsume(stream, half)
    // slow (100 ms for half the window with a 10 ms RTT), yet it moves data: one jump
    expect(takeCredit(stream, 100, 10, budget)).to.equal(half + MIN_BUSY_STREAM_WINDOW - INITIAL_STREAM_WINDOW)
    expect(stream.recvWindow).to.equal(MIN_BUSY_STREAM_WINDOW)
    // from there a slow consumer gets no growth
    receiveAndConsume(stream, MIN_BUSY_STREAM_WINDOW / 2)
    expect(takeCredit(stream, 300, 10, budget)).to.equal(MIN_BUSY_STREAM_WINDOW / 2)
    // fast: within two RTTs of the last update; growth capped by what the budget has left
    receiveAndConsume(stream, MIN_BUSY_STREAM_WINDOW / 2)
    expect(takeCredit(stream, 305, 10, budget)).to.equal(MIN_BUSY_STREAM_WINDOW / 2 + 100_000)
    expect(budget.used).to.equal(budget.limit)
  })

  it('no window grows before the first RTT is measured: credit only, the busy jump waits for the first pong', () => {
    const budget = new WindowBudget(1 << 30)
    const stream = new StreamRecord(1, false, INITIAL_STREAM_WINDOW, 16 * 1024 * 1024, 0)
    const half = INITIAL_STREAM_WINDOW / 2
    receiveAndConsume(stream, half)
    // srtt -1: no pong yet
    expect(takeCredit(stream, 1, -1, budget)).to.equal(half)
    expect(stream.recvWindow).to.equal(INITIAL_STREAM_WINDOW)
    expect(budget.used).to.equal(0)
    receiveAndConsume(stream, half)
    // the pong came back: the next update makes the jump
    expect(takeCredit(stream, 2, 0.5, budget)).to.equal(half + MIN_BUSY_STREAM_WINDOW - INITIAL_STREAM_WINDOW)
    expect(stream.recvWindow).to.equal(MIN_BUSY_STREAM_WINDOW)
  })

  it('a first ping that failed (no pong) lets the busy jump go ahead; RTT tuning still needs an RTT', () => {
    const budget = new WindowBudget(1 << 30)
    const stream = new StreamRecord(1, false, INITIAL_STREAM_WINDOW, 16 * 1024 * 1024, 0)
    const half = INITIAL_STREAM_WINDOW / 2
    receiveAndConsume(stream, half)
    expect(takeCredit(stream, 1, -1, budget, true)).to.equal(half + MIN_BUSY_STREAM_WINDOW - INITIAL_STREAM_WINDOW)
    expect(stream.recvWindow).to.equal(MIN_BUSY_STREAM_WINDOW)
    // half of the 1 MiB window at once, but no RTT to compare with: no doubling
    receiveAndConsume(stream, MIN_BUSY_STREAM_WINDOW / 2)
    expect(takeCredit(stream, 1, -1, budget, true)).to.equal(MIN_BUSY_STREAM_WINDOW / 2)
    expect(stream.recvWindow).to.equal(MIN_BUSY_STREAM_WINDOW)
  })

  it('a stream whose maximum window is below MIN_BUSY_STREAM_WINDOW grows only to its maximum', () => {
    const budget = new WindowBudget(1 << 30)
    const stream = new StreamRecord(1, false, INITIAL_STREAM_WINDOW, 512 * 1024, 0)
    chargeReceive(stream, INITIAL_STREAM_WINDOW / 2)
    recordConsumed(stream, INITIAL_STREAM_WINDOW / 2)
    takeCredit(stream, 100, 10, budget)
    expect(stream.recvWindow).to.equal(512 * 1024)
  })

  it('a paused reader never grows its window: growth needs consumption', () => {
    const budget = new WindowBudget(1 << 30)
    const stream = new StreamRecord(1, false, INITIAL_STREAM_WINDOW, 16 * 1024 * 1024, 0)
    chargeReceive(stream, INITIAL_STREAM_WINDOW)
    expect(takeCredit(stream, 100, 10, budget)).to.equal(0)
    expect(stream.recvWindow).to.equal(INITIAL_STREAM_WINDOW)
  })

  it('rejects data beyond the window and grants past 2^32-1', () => {
    const stream = new StreamRecord(1, false, INITIAL_STREAM_WINDOW, INITIAL_STREAM_WINDOW, 0)
    expect(() => { chargeReceive(stream, INITIAL_STREAM_WINDOW + 1) }).to.throw(ReceiveWindowExceededError)
    expect(() => addSendCredit(stream, MAX_U32)).to.throw(WindowOverflowError)
    expect(addSendCredit(stream, 1)).to.equal(false)
  })
})

describe('flow control: growth waits for the session\'s first ping', () => {
  /** A session facing a peer that sends `n` bytes of Data on stream 1 (SYN on the first); returns the credit it granted. */
  function feed (h: RawHarness, n: number, syn: boolean): number {
    h.send(frame(FrameType.Data, syn ? Flag.SYN : 0, 1, n, pattern(n)))
    return h.take().filter(f => f.type === FrameType.WindowUpdate && f.streamId === 1).reduce((sum, f) => sum + f.length, 0)
  }

  it('before the pong, updates return credit only; after it, the busy jump', () => {
    const h = new RawHarness()
    const [ping] = h.take()
    expect(feed(h, INITIAL_STREAM_WINDOW / 2, true)).to.equal(INITIAL_STREAM_WINDOW / 2)
    h.send(frame(FrameType.Ping, Flag.ACK, 0, ping.length))
    expect(h.session.rtt).to.be.at.least(0)
    expect(feed(h, INITIAL_STREAM_WINDOW / 2, false)).to.equal(INITIAL_STREAM_WINDOW / 2 + MIN_BUSY_STREAM_WINDOW - INITIAL_STREAM_WINDOW)
  })

  it('a peer that never answers the ping delays the jump by the ping\'s timeout, no more', () => {
    const h = new RawHarness({ config: { connectionWriteTimeout: 1000 } })
    h.take()
    expect(feed(h, INITIAL_STREAM_WINDOW / 2, true)).to.equal(INITIAL_STREAM_WINDOW / 2)
    h.advance(1000) // the ping times out; the session stays up
    expect(h.session.isClosed).to.equal(false)
    expect(h.session.rtt).to.equal(-1)
    expect(feed(h, INITIAL_STREAM_WINDOW / 2, false)).to.equal(INITIAL_STREAM_WINDOW / 2 + MIN_BUSY_STREAM_WINDOW - INITIAL_STREAM_WINDOW)
  })

  it('with growAfterFirstPing off, the busy jump comes with the first update, the ping still in flight', () => {
    const h = new RawHarness({ config: { growAfterFirstPing: false } })
    const [ping] = h.take()
    expect(ping.type).to.equal(FrameType.Ping)
    expect(feed(h, INITIAL_STREAM_WINDOW / 2, true)).to.equal(INITIAL_STREAM_WINDOW / 2 + MIN_BUSY_STREAM_WINDOW - INITIAL_STREAM_WINDOW)
    expect(h.session.rtt).to.equal(-1)
    // RTT tuning past the jump still needs an RTT: half of the 1 MiB window
    // consumed at once grants credit only
    expect(feed(h, MIN_BUSY_STREAM_WINDOW / 2, false)).to.equal(MIN_BUSY_STREAM_WINDOW / 2)
  })

  it('growAfterFirstPing is on by default and must be a boolean', () => {
    expect(resolveConfig().growAfterFirstPing).to.equal(true)
    expect(() => resolveConfig({ growAfterFirstPing: 'no' as unknown as boolean })).to.throw(InvalidConfigError, 'growAfterFirstPing must be a boolean')
  })
})

describe('flow control: grants follow the sender\'s frames', () => {
  it('holds back the credit of a frame still arriving, and grants it with the next update', () => {
    const stream = new StreamRecord(1, false, INITIAL_STREAM_WINDOW, INITIAL_STREAM_WINDOW, 0)
    const budget = new WindowBudget(1 << 30)
    // two whole 64 KiB frames and half of a third arrived and were consumed
    chargeReceive(stream, 3 * 65536)
    stream.rxPartial = 32768
    recordConsumed(stream, 2 * 65536 + 32768)
    expect(takeCredit(stream, 0, 0, budget)).to.equal(2 * 65536)
    // the frame ended: its second half was consumed, then two more frames
    stream.rxPartial = 0
    recordConsumed(stream, 32768)
    chargeReceive(stream, 2 * 65536)
    recordConsumed(stream, 2 * 65536)
    // the held-back half goes with this grant: nothing consumed is left uncredited
    expect(takeCredit(stream, 0, 0, budget)).to.equal(3 * 65536)
    expect(stream.recvAvailable).to.equal(INITIAL_STREAM_WINDOW)
    expect(stream.consumed).to.equal(0)
  })

  it('keeps every data frame whole when the transport\'s reads cut frames in two (no silly window)', () => {
    // 64 KiB reads cut every 65,548-byte frame, as a TCP socket's reads do
    const pair = new SessionPair({ chunkSize: 65536 })
    const id = pair.client.session.openStream()
    const data = pattern(8 * 1024 * 1024)
    const writer = writeAll(pair.client, id, data, true)
    pair.run()
    expect(writer.done()).to.equal(true)
    expect(equalBytes(pair.server.received(id), data)).to.equal(true)
    // 128 frames of 64 KiB: a grant that ended mid-frame would make the
    // sender cut a short frame, and every frame after it would straddle reads
    expect(pair.client.session.stats.dataFramesSent).to.equal(data.byteLength / 65536)
  })
})
