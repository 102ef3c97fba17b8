/**
 * Model-based property tests: two cores over a simulated link (random
 * latency, capacity and re-chunking) driven by random sequences of stream
 * operations. After every step the model checks that data arrives intact and
 * in order, that no sender ever exceeds the credit its receiver granted, that
 * the wire is well-formed, and that streams are forgotten once both sides are
 * done with them.
 *
 * FUZZ_RUNS=<n> runs n cases instead of the quick default; FUZZ_SEED=<n>
 * replays a reported seed.
 */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import {
  Flag, FLUSH_BATCH_BYTES, FrameDecoder, FrameType, INITIAL_STREAM_WINDOW
} from '../../src/core/index.ts'
import { SessionPair, equalBytes, pattern, writeAll } from '../fixtures/session-pair.ts'
import { numberSetting, setting } from '../fixtures/settings.ts'
import type { FrameHeader, SessionConfig, YamuxError } from '../../src/core/index.ts'
import type { Link, Peer, StreamLog } from '../fixtures/session-pair.ts'

type Side = 'client' | 'server'
const SIDES: Side[] = ['client', 'server']
const other = (side: Side): Side => side === 'client' ? 'server' : 'client'

type Op =
  | { kind: 'open', side: Side }
  | { kind: 'write', side: Side, stream: number, size: number, seed: number }
  | { kind: 'consume', side: Side, stream: number, fraction: number }
  | { kind: 'accept', side: Side, stream: number }
  | { kind: 'closeWrite', side: Side, stream: number }
  | { kind: 'reset', side: Side, stream: number }
  | { kind: 'ping', side: Side }
  | { kind: 'goAway', side: Side }
  | { kind: 'run', ms: number }
  | { kind: 'limitWindow', side: Side, stream: number, bytes: number }
  | { kind: 'pause', side: Side, ms: number }

interface Scenario {
  latency: number
  capacity: number
  chunkSize: number
  autoConsume: Record<Side, boolean>
  autoAccept: Record<Side, boolean>
  config: Record<Side, Partial<SessionConfig>>
}

/** Bytes written by one side of a stream, in a growable buffer. */
class ByteLog {
  buf = new Uint8Array(1024)
  length = 0
  append (data: Uint8Array): void {
    if (this.length + data.byteLength > this.buf.byteLength) {
      const next = new Uint8Array(Math.max(this.buf.byteLength * 2, this.length + data.byteLength))
      next.set(this.buf.subarray(0, this.length))
      this.buf = next
    }
    this.buf.set(data, this.length)
    this.length += data.byteLength
  }

  view (): Uint8Array { return this.buf.subarray(0, this.length) }
}

interface StreamModel {
  id: number
  opener: Side
  written: Record<Side, ByteLog>
  closedWrite: Record<Side, boolean>
  /** onWritable count at `side` when its last write on `s` was refused in part. */
  waitingWritable: Record<Side, number | undefined>
  /** Most the receive window may grow to at each side, once limitReceiveWindow() was called. */
  windowLimit: Record<Side, number>
  /** The side that called reset(), if any. */
  resetBy?: Side
  /** Bytes the side's application consumed (when autoConsume is off). */
  consumed: Record<Side, number>
  /** How many of the receiver's log chunks were already checked, and their bytes. */
  checkedChunks: Record<Side, number>
  checkedBytes: Record<Side, number>
}

/** Per direction of the wire: frames seen, per stream. */
interface WireTally {
  data: Map<number, number>
  grants: Map<number, number>
  frames: Map<number, number>
  syn: Map<number, number>
  ack: Map<number, number>
  fin: Map<number, boolean>
  rst: Map<number, boolean>
}

function newTally (): WireTally {
  return { data: new Map(), grants: new Map(), frames: new Map(), syn: new Map(), ack: new Map(), fin: new Map(), rst: new Map() }
}

const bump = (map: Map<number, number>, id: number, n: number): number => {
  const v = (map.get(id) ?? 0) + n
  map.set(id, v)
  return v
}

// ---------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------

const sideArb = fc.constantFrom<Side>('client', 'server')
const streamIdx = fc.nat({ max: 15 })
const sizeArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 200 }) },
  { weight: 3, arbitrary: fc.integer({ min: 201, max: 20_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 20_001, max: 400_000 }) }
)

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ kind: fc.constant('open' as const), side: sideArb }) },
  { weight: 80, arbitrary: fc.record({ kind: fc.constant('write' as const), side: sideArb, stream: streamIdx, size: sizeArb, seed: fc.integer({ min: 1, max: 1 << 30 }) }) },
  { weight: 40, arbitrary: fc.record({ kind: fc.constant('consume' as const), side: sideArb, stream: streamIdx, fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('accept' as const), side: sideArb, stream: streamIdx }) },
  { weight: 15, arbitrary: fc.record({ kind: fc.constant('closeWrite' as const), side: sideArb, stream: streamIdx }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('reset' as const), side: sideArb, stream: streamIdx }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('ping' as const), side: sideArb }) },
  // rare: a GoAway stops all further opens for the rest of the run
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('goAway' as const), side: sideArb }) },
  { weight: 60, arbitrary: fc.record({ kind: fc.constant('run' as const), ms: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 6, max: 400 })) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('limitWindow' as const), side: sideArb, stream: streamIdx, bytes: fc.constantFrom(0, INITIAL_STREAM_WINDOW, 300_000, 1024 * 1024) }) },
  // the receiving end of a link stops reading for a while (the sender sees back-pressure)
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('pause' as const), side: sideArb, ms: fc.integer({ min: 1, max: 2000 }) }) }
)

/** Sequences start by opening a stream from each side, so most operations have a target. */
const opsArb = (maxLength: number, op = opArb): fc.Arbitrary<Op[]> =>
  fc.array(op, { minLength: 1, maxLength, size: 'max' }).map(ops => [
    { kind: 'open', side: 'client' }, { kind: 'open', side: 'server' }, ...ops
  ] satisfies Op[])

const sideConfigArb: fc.Arbitrary<Partial<SessionConfig>> = fc.record({
  initialStreamWindowSize: fc.constantFrom(INITIAL_STREAM_WINDOW, 512 * 1024, 1024 * 1024),
  growTo: fc.constantFrom(1, 2, 64),
  maxFrameSize: fc.constantFrom(1024, 16 * 1024, 64 * 1024, 1024 * 1024),
  enableKeepAlive: fc.boolean(),
  keepAliveInterval: fc.constantFrom(500, 30_000)
}).map(({ growTo, ...c }) => ({
  ...c,
  maxStreamWindowSize: Math.min(c.initialStreamWindowSize * growTo, 16 * 1024 * 1024),
  // timeouts would reset streams the model did not intend to reset
  streamOpenTimeout: 0,
  streamCloseTimeout: 0
}))

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  latency: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
  capacity: fc.constantFrom(1024, 16 * 1024, 64 * 1024, 512 * 1024, 8 * 1024 * 1024),
  chunkSize: fc.constantFrom(0, 0, 1, 5, 12, 13, 100, 1460, 16 * 1024),
  autoConsume: fc.record({ client: fc.boolean(), server: fc.boolean() }),
  autoAccept: fc.record({ client: fc.boolean(), server: fc.boolean() }),
  config: fc.record({ client: sideConfigArb, server: sideConfigArb })
})

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

class Model {
  readonly pair: SessionPair
  readonly scenario: Scenario
  readonly streams: StreamModel[] = []
  readonly byId = new Map<number, StreamModel>()
  readonly goAway: Record<Side, boolean> = { client: false, server: false }
  /** Whether each side's application consumes on arrival (switched on by finish()). */
  readonly autoConsume: Record<Side, boolean>
  /** Streams (id * 2 + direction) whose sender used its whole credit at some check. */
  readonly windowFull = new Set<number>()
  readonly pings: Array<{ side: Side, done: boolean, error?: YamuxError }> = []
  /** Wire seen so far: toServer (client → server), toClient. */
  readonly tally: Record<Side, WireTally> = { client: newTally(), server: newTally() }
  private readonly decoders: Record<Side, FrameDecoder>
  private readonly wireSeen: Record<Side, number> = { client: 0, server: 0 }

  constructor (scenario: Scenario) {
    this.scenario = scenario
    this.autoConsume = { ...scenario.autoConsume }
    this.pair = new SessionPair({
      latency: scenario.latency,
      capacity: scenario.capacity,
      chunkSize: scenario.chunkSize,
      client: scenario.config.client,
      server: scenario.config.server
    })
    for (const side of SIDES) {
      this.peer(side).autoConsume = scenario.autoConsume[side]
      this.peer(side).autoAccept = scenario.autoAccept[side]
      this.link(side).recordWire = true
    }
    this.decoders = {
      client: this.wireDecoder('client'),
      server: this.wireDecoder('server')
    }
  }

  peer (side: Side): Peer { return side === 'client' ? this.pair.client : this.pair.server }
  /** The link `side` writes to. */
  link (side: Side): Link { return side === 'client' ? this.pair.toServer : this.pair.toClient }

  /** Whether `side` knows stream `s` (opened it, or was told of it). */
  knows (side: Side, s: StreamModel): boolean {
    return s.opener === side || this.peer(side).inbound.includes(s.id)
  }

  /** Whether `side`'s session still has `s` open for writing, as far as the model can tell. */
  writable (side: Side, s: StreamModel): boolean {
    return this.knows(side, s) && !s.closedWrite[side] && s.resetBy === undefined && this.peer(side).log(s.id).reset === undefined
  }

  pick (side: Side, index: number): StreamModel | undefined {
    const known = this.streams.filter(s => this.knows(side, s))
    return known.length === 0 ? undefined : known[index % known.length]
  }

  apply (op: Op): void {
    const pair = this.pair
    switch (op.kind) {
      case 'run':
        pair.run(op.ms)
        break
      case 'open': {
        const session = this.peer(op.side).session
        let id: number
        try {
          id = session.openStream()
        } catch (err: any) {
          // only a GoAway (ours or the peer's) stops opens here
          expect(this.goAway.client || this.goAway.server, `openStream threw ${err?.name}`).to.equal(true)
          expect(['SessionShutdownError', 'RemoteGoAwayError']).to.include(err?.name)
          break
        }
        const s: StreamModel = {
          id,
          opener: op.side,
          written: { client: new ByteLog(), server: new ByteLog() },
          closedWrite: { client: false, server: false },
          consumed: { client: 0, server: 0 },
          windowLimit: { client: Infinity, server: Infinity },
          waitingWritable: { client: undefined, server: undefined },
          checkedChunks: { client: 0, server: 0 },
          checkedBytes: { client: 0, server: 0 }
        }
        expect(this.byId.has(id), `id ${id} reused`).to.equal(false)
        this.streams.push(s)
        this.byId.set(id, s)
        break
      }
      case 'write': {
        const s = this.pick(op.side, op.stream)
        if (s === undefined) { break }
        const session = this.peer(op.side).session
        if (!this.writable(op.side, s)) {
          // gone or closed for writing: write must refuse
          if (s.closedWrite[op.side] || s.resetBy === op.side || this.peer(op.side).log(s.id).reset !== undefined) {
            expect(() => session.write(s.id, Uint8Array.of(1))).to.throw().with.property('name', 'StreamClosedError')
          }
          break
        }
        let size = op.size
        // tiny link chunks make big writes slow without testing anything new
        if (this.scenario.chunkSize > 0 && this.scenario.chunkSize < 64) { size = 1 + size % 3000 }
        const data = pattern(size, op.seed)
        const room = session.writableLength(s.id)
        const taken = session.write(s.id, data)
        expect(taken).to.be.within(0, size)
        expect(taken).to.equal(Math.min(room, size))
        s.written[op.side].append(data.subarray(0, taken))
        if (taken < size) { s.waitingWritable[op.side] = this.peer(op.side).log(s.id).writableCalls }
        break
      }
      case 'consume': {
        if (this.autoConsume[op.side]) { break }
        const s = this.pick(op.side, op.stream)
        if (s === undefined) { break }
        const unconsumed = this.peer(op.side).log(s.id).bytes - s.consumed[op.side]
        const n = Math.ceil(unconsumed * op.fraction)
        if (n === 0) { break }
        s.consumed[op.side] += n
        this.peer(op.side).session.consume(s.id, n)
        break
      }
      case 'accept': {
        const s = this.pick(op.side, op.stream)
        if (s === undefined) { break }
        this.peer(op.side).session.acceptStream(s.id)
        break
      }
      case 'closeWrite': {
        const s = this.pick(op.side, op.stream)
        if (s === undefined || s.closedWrite[op.side]) { break }
        s.closedWrite[op.side] = true
        this.peer(op.side).session.closeWrite(s.id)
        break
      }
      case 'reset': {
        const s = this.pick(op.side, op.stream)
        if (s === undefined || s.resetBy !== undefined) { break }
        s.resetBy = op.side
        this.peer(op.side).session.reset(s.id)
        break
      }
      case 'ping': {
        const entry: { side: Side, done: boolean, error?: YamuxError } = { side: op.side, done: false }
        this.pings.push(entry)
        this.peer(op.side).session.ping((err) => { entry.done = true; entry.error = err })
        break
      }
      case 'limitWindow': {
        const s = this.pick(op.side, op.stream)
        if (s === undefined) { break }
        const record = (this.peer(op.side).session as any).streams.get(s.id)
        this.peer(op.side).session.limitReceiveWindow(s.id, op.bytes)
        if (record !== undefined) {
          const max = this.scenario.config[op.side].maxStreamWindowSize ?? Infinity
          s.windowLimit[op.side] = Math.max(record.recvWindow, Math.min(op.bytes, max))
        }
        break
      }
      case 'pause': {
        // the link `side` writes to stops delivering for `ms`
        const link = this.link(op.side)
        link.paused = true
        pair.env.setTimer(() => { link.paused = false }, op.ms)
        break
      }
      case 'goAway':
        this.goAway[op.side] = true
        this.peer(op.side).session.goAway()
        break
      default:
        throw new Error(`unknown op ${JSON.stringify(op)}`)
    }
    this.check()
  }

  /** Decodes `from`'s wire as it is written, checking frame-level rules. */
  private wireDecoder (from: Side): FrameDecoder {
    const tally = this.tally[from]
    const maxFrame = this.scenario.config[from].maxFrameSize ?? 64 * 1024
    return new FrameDecoder({
      onHeader: (h: FrameHeader) => {
        if (h.type === FrameType.Ping || h.type === FrameType.GoAway) {
          expect(h.streamId, 'ping/goaway on stream 0').to.equal(0)
          if (h.type === FrameType.GoAway) { expect(h.length, 'only GoAway(0) is intended').to.equal(0) }
          return
        }
        const id = h.streamId
        expect(id).to.be.greaterThan(0)
        const ours = (id % 2 === 1) === (from === 'client')
        const nth = bump(tally.frames, id, 1)
        expect(tally.rst.get(id), `${from} sent a frame on ${id} after its RST`).to.not.equal(true)
        if ((h.flags & Flag.SYN) !== 0) {
          expect(ours, `${from} sent SYN on a peer id ${id}`).to.equal(true)
          expect(nth, `SYN on stream ${id} not on its first frame`).to.equal(1)
          bump(tally.syn, id, 1)
        } else if (ours && (h.flags & Flag.RST) === 0) {
          expect(tally.syn.get(id), `${from}'s first frame on ${id} lacked SYN`).to.equal(1)
        }
        if ((h.flags & Flag.ACK) !== 0) {
          expect(ours, `${from} ACKed its own stream ${id}`).to.equal(false)
          expect(bump(tally.ack, id, 1), `second ACK on ${id}`).to.equal(1)
        }
        if (h.type === FrameType.Data) {
          expect(h.length, 'data frame size').to.be.within(1, maxFrame)
          expect(tally.fin.get(id), `${from} sent data on ${id} after its FIN`).to.not.equal(true)
          bump(tally.data, id, h.length)
        } else if ((h.flags & Flag.RST) === 0) {
          bump(tally.grants, id, h.length)
        }
        if ((h.flags & Flag.FIN) !== 0) {
          expect(tally.fin.get(id), `second FIN from ${from} on ${id}`).to.not.equal(true)
          tally.fin.set(id, true)
        }
        if ((h.flags & Flag.RST) !== 0) { tally.rst.set(id, true) }
      },
      onPayload: () => {},
      onFrameEnd: () => {}
    })
  }

  check (): void {
    for (const side of SIDES) {
      const peer = this.peer(side)
      expect(peer.closed, `${side} session closed (${peer.closeError?.name}: ${peer.closeError?.message})`).to.equal(false)
      // feed the wire written since the last check
      const link = this.link(side)
      for (let i = this.wireSeen[side]; i < link.wire.length; i++) { this.decoders[side].push(link.wire[i]) }
      link.wire.length = 0
      this.wireSeen[side] = 0
    }

    for (const side of SIDES) {
      const receiver = this.peer(side)
      const sender = other(side)
      const sessionStreams: Map<number, any> = (receiver.session as any).streams
      let lower = 0
      let upper = 0
      for (const s of this.streams) {
        const log = receiver.streams.get(s.id)
        if (log !== undefined) { this.checkPrefix(s, side, log) }

        // flow control: data on the wire never exceeds the credit granted
        const sent = this.tally[sender].data.get(s.id) ?? 0
        const granted = INITIAL_STREAM_WINDOW + (this.tally[side].grants.get(s.id) ?? 0)
        expect(sent, `${sender} sent ${sent} bytes on ${s.id} with ${granted} granted by ${side}`).to.be.at.most(granted)
        if (sent === granted) { this.windowFull.add(s.id * 2 + (side === 'client' ? 0 : 1)) }

        // unconsumed data held for the application never exceeds the receive window
        const record = sessionStreams.get(s.id)
        if (record !== undefined) {
          const consumed = this.autoConsume[side] ? (log?.bytes ?? 0) : s.consumed[side]
          const unconsumed = (log?.bytes ?? 0) - consumed
          expect(unconsumed, `unconsumed on ${s.id} at ${side}`).to.be.at.most(record.recvWindow)
          expect(record.recvAvailable, `recvAvailable on ${s.id} at ${side}`).to.be.at.least(0)
          expect(record.recvWindow).to.be.at.most(this.scenario.config[side].maxStreamWindowSize!)
          expect(record.recvWindow, `recvWindow on ${s.id} at ${side} past its limit`).to.be.at.most(s.windowLimit[side])
        }

        // stream bookkeeping: the session holds exactly the streams still alive
        const gone = s.resetBy === side || log?.reset !== undefined
        const maybeGone = s.resetBy !== undefined || (s.closedWrite[side] && log?.remoteClosed === true)
        if (this.knows(side, s) && !gone) {
          upper++
          if (!maybeGone) { lower++ }
        }
        if (gone) {
          expect(sessionStreams.has(s.id), `${side} still holds reset stream ${s.id}`).to.equal(false)
        }
      }
      const count = receiver.session.streamCount
      expect(count, `${side} streamCount`).to.be.within(lower, upper)
    }
  }

  /** What `side` received on `s` since the last check continues a prefix of what the other side wrote. */
  private checkPrefix (s: StreamModel, side: Side, log: StreamLog): void {
    const sender = other(side)
    const written = s.written[sender].view()
    for (let i = s.checkedChunks[side]; i < log.chunks.length; i++) {
      const chunk = log.chunks[i]
      const at = s.checkedBytes[side]
      expect(at + chunk.byteLength, `${side} received more on ${s.id} than ${sender} wrote`).to.be.at.most(written.byteLength)
      const expected = written.subarray(at, at + chunk.byteLength)
      if (!equalBytes(chunk, expected)) {
        expect.fail(`stream ${s.id}: bytes ${at}..${at + chunk.byteLength} received by ${side} differ from what ${sender} wrote`)
      }
      s.checkedBytes[side] = at + chunk.byteLength
    }
    s.checkedChunks[side] = log.chunks.length
    expect(log.bytes).to.equal(s.checkedBytes[side])
  }

  /** Consumes everything, accepts and closes every stream, and lets the link settle. */
  finish (): void {
    const pair = this.pair
    this.settleWritable()
    for (const side of SIDES) {
      const peer = this.peer(side)
      peer.autoConsume = true
      peer.autoAccept = true
      peer.onInbound = (id) => { this.closeKnown(side, id) }
      for (const s of this.streams) {
        if (!this.knows(side, s)) { continue }
        const unconsumed = peer.log(s.id).bytes - s.consumed[side]
        if (!this.autoConsume[side] && unconsumed > 0) {
          s.consumed[side] += unconsumed
          peer.session.consume(s.id, unconsumed)
        }
        peer.session.acceptStream(s.id)
        this.closeKnown(side, s.id)
      }
      this.autoConsume[side] = true
    }
    this.check()
    pair.runUntil(() => {
      this.check()
      return pair.client.session.streamCount === 0 && pair.server.session.streamCount === 0 &&
        pair.toServer.queue.length === 0 && pair.toClient.queue.length === 0 && this.pings.every(p => p.done)
    }, 600_000)
    this.check()

    for (const s of this.streams) {
      const anyReset = s.resetBy !== undefined || SIDES.some(side => this.peer(side).streams.get(s.id)?.reset !== undefined)
      for (const side of SIDES) {
        const sender = other(side)
        const log = this.peer(side).streams.get(s.id)
        if (anyReset) { continue }
        // untouched by resets: everything written arrived, then the FIN
        expect(log?.bytes ?? 0, `stream ${s.id}: ${side} got all ${sender} wrote`).to.equal(s.written[sender].length)
        expect(log?.remoteClosed, `stream ${s.id}: ${side} saw ${sender}'s FIN`).to.equal(true)
      }
    }
    for (const ping of this.pings) {
      expect(ping.done, 'ping answered').to.equal(true)
      expect(ping.error, 'ping error').to.equal(undefined)
    }
  }

  /**
   * Liveness of onWritable: once the readers accept and consume everything,
   * every write that was refused in part is followed by onWritable (the
   * stream being still open for writing).
   */
  private settleWritable (): void {
    for (const side of SIDES) {
      const peer = this.peer(side)
      peer.autoConsume = true
      peer.autoAccept = true
      for (const s of this.streams) {
        // an un-accepted stream with a window over 256 KiB gets no credit back (see the skipped test below)
        if (this.knows(side, s)) { peer.session.acceptStream(s.id) }
        const unconsumed = peer.log(s.id).bytes - s.consumed[side]
        if (!this.autoConsume[side] && unconsumed > 0) {
          s.consumed[side] += unconsumed
          peer.session.consume(s.id, unconsumed)
        }
      }
      this.autoConsume[side] = true
    }
    // pauses last at most 2 s: after that the links deliver until idle
    this.pair.run(2500)
    this.pair.runUntil(() => this.pair.toServer.queue.length === 0 && this.pair.toClient.queue.length === 0)
    this.pair.run(1000)
    this.check()
    for (const s of this.streams) {
      for (const side of SIDES) {
        const before = s.waitingWritable[side]
        if (before === undefined || !this.writable(side, s)) { continue }
        const session = this.peer(side).session
        expect(session.writableLength(s.id), `room on ${s.id} at ${side} after the reader drained`).to.be.greaterThan(0)
        expect(this.peer(side).log(s.id).writableCalls, `onWritable for ${s.id} at ${side}`).to.be.greaterThan(before)
      }
    }
  }

  private closeKnown (side: Side, id: number): void {
    const s = this.byId.get(id)
    if (s === undefined || s.closedWrite[side]) { return }
    s.closedWrite[side] = true
    this.peer(side).session.closeWrite(id)
  }
}

/** Coverage counters, printed with FUZZ_STATS=1 to see what the runs exercised. */
const stats = { runs: 0, streams: 0, bytes: 0, resets: 0, fullWindows: 0, blocked: 0, goAways: 0, maxWindow: 0, ops: 0 }

function record (model: Model): void {
  stats.runs++
  stats.streams += model.streams.length
  stats.fullWindows += model.windowFull.size
  for (const side of SIDES) {
    const peer = model.peer(side)
    for (const s of model.streams) {
      const log = peer.streams.get(s.id)
      stats.bytes += log?.bytes ?? 0
      if (log?.reset !== undefined) { stats.resets++ }
    }
    for (const id of model.tally[side].data.keys()) {
      const granted = INITIAL_STREAM_WINDOW + (model.tally[other(side)].grants.get(id) ?? 0)
      if (granted > stats.maxWindow) { stats.maxWindow = granted }
    }
    if (model.link(side).maxInFlight > model.link(side).capacity) { stats.blocked++ }
    if (model.goAway[side]) { stats.goAways++ }
  }
}

function runScenario (scenario: Scenario, ops: Op[]): void {
  const model = new Model(scenario)
  for (const op of ops) { model.apply(op) }
  stats.ops += ops.length
  model.finish()
  record(model)
}

const FUZZ_RUNS = numberSetting('FUZZ_RUNS')
const FUZZ_SEED = numberSetting('FUZZ_SEED')
/** With FUZZ_SEED, replays the failing case at this path (as fast-check reports it). */
const FUZZ_PATH = setting('FUZZ_PATH')

function params<T extends unknown[]> (quickRuns: number): fc.Parameters<T> {
  return {
    numRuns: FUZZ_RUNS ?? quickRuns,
    ...(FUZZ_SEED !== undefined ? { seed: FUZZ_SEED } : {}),
    ...(FUZZ_PATH !== undefined ? { path: FUZZ_PATH } : {}),
    // long runs report the first failure unshrunk (seed and path replay it);
    // FUZZ_SHRINK=1 shrinks anyway
    endOnFailure: FUZZ_RUNS !== undefined && setting('FUZZ_SHRINK') === undefined
  }
}

describe('flow control: model-based properties', function () {
  this.timeout(FUZZ_RUNS !== undefined ? 0 : 60_000)

  afterEach(function () {
    if (setting('FUZZ_STATS') !== undefined) { console.log(`      ${JSON.stringify(stats)}`) } // eslint-disable-line no-console
    for (const key of Object.keys(stats) as Array<keyof typeof stats>) { stats[key] = 0 }
  })

  it('random operations on both sides keep every stream intact and within its window', () => {
    fc.assert(fc.property(scenarioArb, opsArb(60), runScenario), params(120))
  })

  it('a slow reader: only writes, runs and partial consumption on few streams', () => {
    const narrowOp: fc.Arbitrary<Op> = fc.oneof(
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('open' as const), side: sideArb }) },
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), side: sideArb, stream: fc.nat({ max: 2 }), size: fc.integer({ min: 10_000, max: 1_000_000 }), seed: fc.integer({ min: 1, max: 1000 }) }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('consume' as const), side: sideArb, stream: fc.nat({ max: 2 }), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('run' as const), ms: fc.integer({ min: 0, max: 200 }) }) }
    )
    const slowReader = scenarioArb.map(s => ({ ...s, chunkSize: s.chunkSize > 0 && s.chunkSize < 64 ? 1460 : s.chunkSize, autoConsume: { client: false, server: false } }))
    fc.assert(fc.property(slowReader, opsArb(40, narrowOp), runScenario), params(40))
  })

  it('many streams opened from both sides at once, each written and closed', () => {
    const burst = fc.array(fc.record({ side: sideArb, size: fc.integer({ min: 0, max: 70_000 }), seed: fc.integer({ min: 1, max: 1000 }) }), { minLength: 1, maxLength: 60 })
    fc.assert(fc.property(scenarioArb, burst, fc.integer({ min: 0, max: 50 }), (scenario, streams, pause) => {
      const ops: Op[] = []
      for (const [i, s] of streams.entries()) {
        ops.push({ kind: 'open', side: s.side })
        if (s.size > 0) { ops.push({ kind: 'write', side: s.side, stream: i, size: s.size, seed: s.seed }) }
      }
      ops.push({ kind: 'run', ms: pause })
      const safe = { ...scenario, chunkSize: scenario.chunkSize > 0 && scenario.chunkSize < 64 ? 0 : scenario.chunkSize }
      // `stream: i` indexes the streams known to the writer: make it the one just opened
      const model = new Model(safe)
      let opened = 0
      for (const op of ops) {
        if (op.kind === 'write') {
          const known = model.streams.filter(st => model.knows(op.side, st))
          op.stream = known.indexOf(model.streams[opened - 1])
        }
        model.apply(op)
        if (op.kind === 'open') { opened = model.streams.length }
      }
      model.finish()
      record(model)
    }), params(40))
  })
})

describe('flow control: transport write sizes', () => {
  /** Records the size of every transport write `side` makes. */
  function writeSizes (link: Link): number[] {
    const sizes: number[] = []
    const send = link.send.bind(link)
    link.send = (chunks, n) => { sizes.push(n); return send(chunks, n) }
    return sizes
  }

  /** One batch: FLUSH_BATCH_BYTES, plus the frame that crossed it, plus headers. */
  const bound = (maxFrameSize: number): number => FLUSH_BATCH_BYTES + maxFrameSize + 64 * 1024

  it('a busy stream is written in batches of about FLUSH_BATCH_BYTES', () => {
    const pair = new SessionPair({ capacity: 64 * 1024 })
    pair.run(10)
    const sizes = writeSizes(pair.toServer)
    const a = pair.client.session.openStream()
    const b = pair.client.session.openStream()
    writeAll(pair.client, a, pattern(1024 * 1024, 1))
    writeAll(pair.client, b, pattern(1024 * 1024, 2))
    pair.run(1000)
    expect(pair.server.log(a).bytes + pair.server.log(b).bytes).to.equal(2 * 1024 * 1024)
    expect(Math.max(...sizes)).to.be.at.most(bound(64 * 1024))
  })

  // Regression (found by this suite): frames emitted from the window-update
  // lane were not counted against
  // FLUSH_BATCH_BYTES: a new stream whose SYN (or ACK) rides on its first data
  // frame got that frame built inside emitWindowUpdates(), which never called
  // emitBatch() and ignored back-pressure, so N new streams with data produce a
  // single transport write of N x maxFrameSize (here 200 x 64 KiB = 13.1 MB in
  // one write to a transport with 64 KiB capacity; with maxAckBacklog 256 and
  // maxFrameSize 1 MiB it would be 256 MiB).
  // Repro: openStream() + write(id, 64 KiB) 200 times, then one flush.
  it('many new streams with data (SYN riding on data) are still written in bounded batches', () => {
    // 12.5 MiB written at once: lift the session-wide queue bound so every write is taken whole
    const pair = new SessionPair({ capacity: 64 * 1024, client: { maxSessionSendQueue: 64 * 1024 * 1024 } })
    pair.run(10)
    const sizes = writeSizes(pair.toServer)
    const ids: number[] = []
    for (let i = 0; i < 200; i++) {
      const id = pair.client.session.openStream()
      pair.client.session.write(id, pattern(64 * 1024, i + 1))
      ids.push(id)
    }
    pair.run(5000)
    for (const id of ids) { expect(pair.server.log(id).bytes).to.equal(64 * 1024) }
    expect(Math.max(...sizes)).to.be.at.most(bound(64 * 1024))
  })

  // Regression: the same path on the accepting side: ACKs riding on the first data
  // frame of many accepted streams leave in one unbounded transport write.
  // Repro: 200 inbound streams accepted and written 64 KiB each before a flush.
  it('many accepted streams answering with data (ACK riding on data) are written in bounded batches', () => {
    const pair = new SessionPair({ capacity: 64 * 1024, server: { maxSessionSendQueue: 64 * 1024 * 1024 } })
    pair.server.autoAccept = false
    pair.run(10)
    const ids: number[] = []
    for (let i = 0; i < 200; i++) { ids.push(pair.client.session.openStream()) }
    pair.run(100)
    expect(pair.server.inbound).to.have.length(200)
    const sizes = writeSizes(pair.toClient)
    for (const id of ids) {
      pair.server.session.acceptStream(id)
      pair.server.session.write(id, pattern(64 * 1024, id))
    }
    pair.run(5000)
    for (const id of ids) { expect(pair.client.log(id).bytes).to.equal(64 * 1024) }
    expect(Math.max(...sizes)).to.be.at.most(bound(64 * 1024))
  })
})

describe('flow control: credit for streams not yet accepted', () => {
  it('with the default 256 KiB window, consuming half of it returns credit before the ACK', () => {
    const pair = new SessionPair()
    pair.server.autoAccept = false
    pair.server.autoConsume = true
    const id = pair.client.session.openStream()
    const writer = writeAll(pair.client, id, pattern(1024 * 1024))
    pair.run(1000)
    expect(pair.server.session.streamCount).to.equal(1)
    // no ACK yet, yet the reader's consumption keeps the data flowing
    expect(writer.done()).to.equal(true)
    pair.run(1000)
    expect(pair.server.log(id).bytes).to.equal(1024 * 1024)
  })

  // Regression: with initialStreamWindowSize > 256 KiB, an inbound stream
  // that was not yet accepted never returned credit, however much
  // the application consumes: consume() compares consumption with half of
  // recvWindow (e.g. 512 KiB of a 1 MiB window), but only the spec's 256 KiB
  // has been granted before the ACK, so the threshold can never be reached and
  // the sender stalls at 256 KiB until acceptStream(). With the default
  // 256 KiB window the same reader gets credit at 128 KiB (test above).
  // Repro: server initialStreamWindowSize 1 MiB, autoAccept off, autoConsume on;
  // client writes 1 MiB on a new stream: the server receives 262144 bytes, then nothing.
  it('with a 1 MiB initial window, consuming everything granted returns credit before the ACK', () => {
    const pair = new SessionPair({ server: { initialStreamWindowSize: 1024 * 1024 } })
    pair.server.autoAccept = false
    pair.server.autoConsume = true
    const id = pair.client.session.openStream()
    const writer = writeAll(pair.client, id, pattern(1024 * 1024))
    pair.run(2000)
    expect(pair.server.log(id).bytes).to.be.greaterThan(INITIAL_STREAM_WINDOW)
    pair.run(2000)
    expect(writer.done()).to.equal(true)
  })
})
