/**
 * A hostile or buggy peer, frame by frame: every malformed or out-of-place
 * input has one defined outcome, asserted on what the session reports
 * (closeError, stream resets) and on the exact frames it writes back.
 */
import { expect } from 'aegir/chai'
import {
  Flag, FrameType, GoAwayCode, INITIAL_STREAM_WINDOW, MAX_PENDING_PONGS, MAX_U32, RemoteGoAwayError, Session
} from '../../src/core/index.ts'
import { RawHarness, frame } from '../fixtures/raw-peer.ts'
import { Link, Peer, concat, pattern } from '../fixtures/session-pair.ts'
import { VirtualEnvironment } from '../fixtures/virtual-environment.ts'
import type { SessionConfig } from '../../src/core/index.ts'
import type { WireFrame } from '../fixtures/raw-peer.ts'

const { Data, WindowUpdate, Ping, GoAway } = FrameType
const { SYN, ACK, FIN, RST } = Flag

interface HarnessOptions { client?: boolean, config?: Partial<SessionConfig>, firstStreamId?: number }

/** A harness whose construction output (the initial RTT ping) has been taken. */
function harness (options: HarnessOptions = {}): RawHarness {
  const h = new RawHarness(options)
  const first = h.take()
  expect(first.map(f => [f.type, f.flags])).to.deep.equal([[Ping, SYN]])
  return h
}

function bytes (n: number, seed = 1): Uint8Array {
  return pattern(n, seed)
}

/** A Data frame carrying `payload` (length taken from it). */
function data (flags: number, id: number, payload: Uint8Array): Uint8Array {
  return frame(Data, flags, id, payload.byteLength, payload)
}

function summary (frames: WireFrame[]): Array<[number, number, number, number]> {
  return frames.map(f => [f.type, f.flags, f.streamId, f.length])
}

/** The session answers a ping with value `value` and is otherwise silent. */
function expectAlive (h: RawHarness, value = 0xC0FFEE): void {
  expect(h.session.isClosed).to.equal(false)
  expect(h.peer.closed).to.equal(false)
  h.send(frame(Ping, SYN, 0, value))
  expect(summary(h.take())).to.deep.equal([[Ping, ACK, 0, value]])
}

/**
 * The session ended with `name`; what it wrote since the last take() ends
 * with exactly one GoAway(`code`) (none when `code` is undefined); no timers
 * are left, every stream is forgotten and later input is ignored.
 */
function expectFatal (h: RawHarness, name: string, code: number | undefined): WireFrame[] {
  expect(h.session.isClosed, 'session closed').to.equal(true)
  expect(h.peer.closed).to.equal(true)
  expect(h.peer.closeError?.name).to.equal(name)
  const out = h.take()
  const goAways = out.filter(f => f.type === GoAway)
  if (code === undefined) {
    expect(goAways).to.have.length(0)
  } else {
    expect(goAways).to.have.length(1)
    expect(summary([out[out.length - 1]])).to.deep.equal([[GoAway, 0, 0, code]])
    expect(h.peer.closeError?.goAwayCode).to.equal(code)
  }
  expect(h.env.pendingTimers, 'timers left').to.equal(0)
  expect(h.session.streamCount).to.equal(0)
  // later input is ignored without throwing
  const writes = h.peer.out.length
  expect(() => {
    h.send(frame(Ping, SYN, 0, 1), frame(WindowUpdate, SYN, 1001, 0), frame(0x7 as FrameType, 0, 0, 0))
    h.session.receive(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]))
    h.advance(1_000_000)
  }).to.not.throw()
  expect(h.peer.out.length).to.equal(writes)
  expect(h.peer.inbound).to.not.include(1001)
  return out
}

describe('protocol errors: malformed headers', () => {
  for (const version of [1, 2, 0xff]) {
    it(`version ${version} → InvalidVersionError, GoAway(1), closed`, () => {
      const h = harness()
      const bad = frame(Ping, SYN, 0, 5)
      bad[0] = version
      h.send(bad)
      const out = expectFatal(h, 'InvalidVersionError', GoAwayCode.ProtocolError)
      expect(out).to.have.length(1) // no pong
    })
  }

  it('a bad version is detected when the 12th header byte arrives, not before', () => {
    const h = harness()
    const bad = frame(Data, SYN, 1, 0xFFFF_FFFF)
    bad[0] = 1
    h.send(bad.subarray(0, 11))
    expect(h.session.isClosed).to.equal(false)
    h.send(bad.subarray(11))
    expectFatal(h, 'InvalidVersionError', GoAwayCode.ProtocolError)
  })

  for (const type of [4, 5, 0x7f, 0xff]) {
    it(`type ${type} → InvalidMsgTypeError, GoAway(1)`, () => {
      const h = harness()
      h.send(frame(type as FrameType, 0, 0, 0))
      expectFatal(h, 'InvalidMsgTypeError', GoAwayCode.ProtocolError)
    })
  }

  it('frames before the bad one in the same chunk are handled, the ones after are not', () => {
    const h = harness()
    const bad = frame(Ping, SYN, 0, 2)
    bad[1] = 9
    h.send(concat([frame(WindowUpdate, SYN, 1, 0), data(0, 1, bytes(10)), bad, data(0, 1, bytes(10, 2)), frame(Ping, SYN, 0, 3)]))
    expect(h.peer.inbound).to.deep.equal([1])
    expect(h.peer.log(1).bytes).to.equal(10)
    const out = expectFatal(h, 'InvalidMsgTypeError', GoAwayCode.ProtocolError)
    // the ACK owed to stream 1 never left: the session died first
    expect(summary(out)).to.deep.equal([[GoAway, 0, 0, GoAwayCode.ProtocolError]])
  })
})

describe('protocol errors: unknown flag bits are ignored', () => {
  for (const extra of [0x10, 0x20, 0x100, 0x8000, 0xFFF0]) {
    it(`flag bits 0x${extra.toString(16)} on Data, WindowUpdate and Ping`, () => {
      const h = harness()
      h.advance(5)
      // SYN on a WindowUpdate with extra bits opens the stream
      h.send(frame(WindowUpdate, SYN | extra, 1, 0))
      expect(h.peer.inbound).to.deep.equal([1])
      expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 1, 0]])
      // Data with extra bits is delivered; with FIN it half-closes
      h.send(data(extra, 1, bytes(7)), data(FIN | extra, 1, bytes(3, 2)))
      expect(h.peer.received(1)).to.deep.equal(concat([bytes(7), bytes(3, 2)]))
      expect(h.peer.log(1).remoteClosed).to.equal(true)
      // a Ping request with extra bits is answered (flags of the answer are exactly ACK)
      h.send(frame(Ping, SYN | extra, 0, 77))
      expect(summary(h.take())).to.deep.equal([[Ping, ACK, 0, 77]])
      // a Ping response with extra bits completes our ping (the initial RTT ping has value 1)
      h.send(frame(Ping, ACK | extra, 0, 1))
      expect(h.session.rtt).to.equal(5)
      // WindowUpdate credit with extra bits is applied to a stream of ours
      const id = h.session.openStream()
      h.send(frame(WindowUpdate, ACK | extra, id, 1000))
      expect(h.session.writableLength(id)).to.equal(INITIAL_STREAM_WINDOW + 1000)
      h.take()
      expectAlive(h)
    })
  }
})

describe('protocol errors: stream ids and SYN', () => {
  it('SYN with our own parity (both ends servers) → UnexpectedFlagError, GoAway(1)', () => {
    const h = harness({ client: false })
    h.send(frame(WindowUpdate, SYN, 2, 0))
    expect(h.peer.inbound).to.deep.equal([])
    expectFatal(h, 'UnexpectedFlagError', GoAwayCode.ProtocolError)
  })

  it('SYN with our own parity (both ends clients) → UnexpectedFlagError, GoAway(1)', () => {
    const h = harness({ client: true })
    h.send(data(SYN, 1, bytes(4)))
    expect(h.peer.inbound).to.deep.equal([])
    expect(h.peer.log(1).bytes).to.equal(0)
    expectFatal(h, 'UnexpectedFlagError', GoAwayCode.ProtocolError)
  })

  it('two client sessions wired together: the first SYN ends both sessions', () => {
    const env = new VirtualEnvironment()
    const a = new Peer('a')
    const b = new Peer('b')
    a.link = new Link(env, a, b, 1, 1 << 20)
    b.link = new Link(env, b, a, 1, 1 << 20)
    a.session = new Session({ client: true, environment: env, handler: a, config: { enableKeepAlive: false } })
    b.session = new Session({ client: true, environment: env, handler: b, config: { enableKeepAlive: false } })
    const id = a.session.openStream()
    a.session.write(id, bytes(3))
    for (let t = 0; t < 10; t++) {
      env.runTasks()
      a.link.deliverDue()
      b.link.deliverDue()
      env.setTime(env.now() + 1)
    }
    expect(b.closeError?.name).to.equal('UnexpectedFlagError')
    expect(a.closeError).to.be.instanceOf(RemoteGoAwayError)
    expect((a.closeError as RemoteGoAwayError).code).to.equal(GoAwayCode.ProtocolError)
    expect(b.inbound).to.deep.equal([])
    expect(env.pendingTimers).to.equal(0)
  })

  for (const client of [false, true]) {
    const role = client ? 'client' : 'server'
    it(`${role}: SYN on stream 0 (WindowUpdate or Data) → UnexpectedFlagError, GoAway(1)`, () => {
      for (const type of [WindowUpdate, Data]) {
        const h = harness({ client })
        h.send(frame(type, SYN, 0, 0))
        expectFatal(h, 'UnexpectedFlagError', GoAwayCode.ProtocolError)
      }
    })

    it(`${role}: Data or WindowUpdate without SYN on stream 0 → InvalidMsgTypeError, GoAway(1)`, () => {
      const inputs = [
        frame(WindowUpdate, 0, 0, 1000),
        frame(WindowUpdate, ACK, 0, 0),
        frame(WindowUpdate, FIN, 0, 0),
        data(0, 0, bytes(100)),
        frame(Data, 0, 0, 0),
        // the header alone is enough: the 4 GiB body never has to arrive
        frame(Data, 0, 0, 0xFFFF_FFFF)
      ]
      for (const input of inputs) {
        const h = harness({ client })
        h.send(input)
        expectFatal(h, 'InvalidMsgTypeError', GoAwayCode.ProtocolError)
      }
    })
  }

  it('duplicate SYN on a live inbound stream → DuplicateStreamError, GoAway(1)', () => {
    const h = harness()
    h.send(frame(WindowUpdate, SYN, 1, 0), data(0, 1, bytes(5)))
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 1, 0]])
    h.send(data(SYN, 1, bytes(5, 2)))
    expect(h.peer.log(1).bytes).to.equal(5) // the duplicate's payload was not delivered
    expect(h.peer.inbound).to.deep.equal([1])
    expectFatal(h, 'DuplicateStreamError', GoAwayCode.ProtocolError)
  })

  it('duplicate SYN in the same chunk as the first one → DuplicateStreamError', () => {
    const h = harness()
    h.send(concat([frame(WindowUpdate, SYN, 3, 0), frame(WindowUpdate, SYN, 3, 0)]))
    expectFatal(h, 'DuplicateStreamError', GoAwayCode.ProtocolError)
  })

  it('duplicate SYN on a half-closed (peer FIN) stream → DuplicateStreamError', () => {
    const h = harness()
    h.send(data(SYN | FIN, 1, bytes(5)))
    expect(h.peer.log(1).remoteClosed).to.equal(true)
    h.take()
    h.send(frame(WindowUpdate, SYN, 1, 0))
    expectFatal(h, 'DuplicateStreamError', GoAwayCode.ProtocolError)
  })

  it('SYN reusing the id of a stream that is fully closed and forgotten opens a new stream', () => {
    const h = harness()
    h.send(data(SYN | FIN, 1, bytes(5)))
    h.session.closeWrite(1)
    h.env.runTasks()
    expect(h.session.streamCount).to.equal(0)
    h.take()
    h.send(frame(WindowUpdate, SYN, 1, 0))
    expect(h.peer.inbound).to.deep.equal([1, 1])
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 1, 0]])
    expectAlive(h)
  })
})

describe('protocol errors: receive window', () => {
  it('Data of 256 KiB + 1 on a fresh inbound stream → ReceiveWindowExceededError, GoAway(1)', () => {
    const h = harness()
    h.peer.autoConsume = false
    h.send(frame(WindowUpdate, SYN, 1, 0))
    h.take()
    h.send(data(0, 1, bytes(INITIAL_STREAM_WINDOW + 1)))
    expect(h.peer.log(1).bytes).to.equal(0) // rejected on the header, before any payload
    expectFatal(h, 'ReceiveWindowExceededError', GoAwayCode.ProtocolError)
  })

  it('exactly 256 KiB is accepted; one more byte is not', () => {
    const h = harness()
    h.peer.autoConsume = false
    h.send(frame(WindowUpdate, SYN, 1, 0))
    h.send(data(0, 1, bytes(INITIAL_STREAM_WINDOW)))
    expect(h.peer.log(1).bytes).to.equal(INITIAL_STREAM_WINDOW)
    expect(h.session.isClosed).to.equal(false)
    h.take()
    h.send(data(0, 1, bytes(1)))
    expectFatal(h, 'ReceiveWindowExceededError', GoAwayCode.ProtocolError)
  })

  it('cumulative across frames: 200 KiB + 100 KiB unconsumed → ReceiveWindowExceededError', () => {
    const h = harness()
    h.peer.autoConsume = false
    h.send(frame(WindowUpdate, SYN, 1, 0), data(0, 1, bytes(200 * 1024)))
    expect(h.session.isClosed).to.equal(false)
    h.take()
    h.send(data(0, 1, bytes(100 * 1024)))
    expect(h.peer.log(1).bytes).to.equal(200 * 1024)
    expectFatal(h, 'ReceiveWindowExceededError', GoAwayCode.ProtocolError)
  })

  it('cumulative in one chunk, even though the application consumes at once (credit not yet sent)', () => {
    const h = harness()
    // autoConsume: consumption is immediate but the window update only leaves on the next flush
    h.send(concat([frame(WindowUpdate, SYN, 1, 0), data(0, 1, bytes(200 * 1024)), data(0, 1, bytes(100 * 1024))]))
    expectFatal(h, 'ReceiveWindowExceededError', GoAwayCode.ProtocolError)
  })

  it('credit we sent is usable: consumed data makes room for exactly that much more', () => {
    const h = harness()
    h.peer.autoConsume = false
    h.send(frame(WindowUpdate, SYN, 1, 0), data(0, 1, bytes(INITIAL_STREAM_WINDOW)))
    h.take()
    h.session.consume(1, INITIAL_STREAM_WINDOW / 2)
    h.env.runTasks()
    const updates = h.take().filter(f => f.type === WindowUpdate && f.streamId === 1)
    expect(updates).to.have.length(1)
    const credit = updates[0].length
    expect(credit).to.be.at.least(INITIAL_STREAM_WINDOW / 2)
    h.send(data(0, 1, bytes(credit)))
    expect(h.session.isClosed).to.equal(false)
    h.send(data(0, 1, bytes(1)))
    expectFatal(h, 'ReceiveWindowExceededError', GoAwayCode.ProtocolError)
  })

  it('a header announcing 4 GiB fails at once: only the 12 header bytes arrive', () => {
    const h = harness()
    h.send(frame(WindowUpdate, SYN, 1, 0))
    h.take()
    const header = frame(Data, 0, 1, 0xFFFF_FFFF)
    expect(header.byteLength).to.equal(12)
    h.send(header)
    expectFatal(h, 'ReceiveWindowExceededError', GoAwayCode.ProtocolError)
  })

  it('a 4 GiB header arriving one byte at a time fails on its 12th byte', () => {
    const h = harness()
    h.send(frame(WindowUpdate, SYN, 1, 0))
    h.take()
    const header = frame(Data, 0, 1, 0x8000_0000)
    for (let i = 0; i < 11; i++) { h.send(header.subarray(i, i + 1)) }
    expect(h.session.isClosed).to.equal(false)
    h.send(header.subarray(11))
    expectFatal(h, 'ReceiveWindowExceededError', GoAwayCode.ProtocolError)
  })

  it('a larger configured initial window is honoured after the ACK, and enforced', () => {
    const big = 1024 * 1024
    const h = harness({ config: { initialStreamWindowSize: big } })
    h.peer.autoConsume = false
    h.send(frame(WindowUpdate, SYN, 1, 0))
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 1, 0], [WindowUpdate, 0, 1, big - INITIAL_STREAM_WINDOW]])
    h.send(data(0, 1, bytes(big)))
    expect(h.peer.log(1).bytes).to.equal(big)
    h.send(data(0, 1, bytes(1)))
    expectFatal(h, 'ReceiveWindowExceededError', GoAwayCode.ProtocolError)
  })

  it('SYN Data with a body of 256 KiB + 1 → ReceiveWindowExceededError, no stream created (CVE-2026-32314 analogue)', () => {
    const h = harness()
    h.send(data(SYN, 1, bytes(INITIAL_STREAM_WINDOW + 1)))
    expect(h.peer.inbound).to.deep.equal([])
    expect(h.peer.log(1).bytes).to.equal(0)
    expectFatal(h, 'ReceiveWindowExceededError', GoAwayCode.ProtocolError)
  })

  it('SYN Data with a body of 256 KiB + 1 is rejected even with a larger configured window', () => {
    const h = harness({ config: { initialStreamWindowSize: 4 * 1024 * 1024 } })
    h.send(frame(Data, SYN, 1, INITIAL_STREAM_WINDOW + 1))
    expect(h.peer.inbound).to.deep.equal([])
    expectFatal(h, 'ReceiveWindowExceededError', GoAwayCode.ProtocolError)
  })

  it('SYN Data with exactly 256 KiB is accepted', () => {
    const h = harness()
    h.peer.autoConsume = false
    h.send(data(SYN, 1, bytes(INITIAL_STREAM_WINDOW)))
    expect(h.peer.log(1).bytes).to.equal(INITIAL_STREAM_WINDOW)
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 1, 0]])
    expectAlive(h)
  })
})

describe('protocol errors: send window overflow', () => {
  /** Server harness with one stream of ours (id 2) whose SYN has left. */
  function withOutbound (): { h: RawHarness, id: number } {
    const h = harness()
    const id = h.session.openStream()
    h.env.runTasks()
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, SYN, id, 0]])
    return { h, id }
  }

  it('a delta taking the send window to exactly 2^32-1 is fine', () => {
    const { h, id } = withOutbound()
    h.send(frame(WindowUpdate, ACK, id, MAX_U32 - INITIAL_STREAM_WINDOW))
    expect(h.session.writableLength(id)).to.be.greaterThan(0)
    expectAlive(h)
  })

  it('one delta past 2^32-1 → WindowOverflowError, GoAway(1)', () => {
    const { h, id } = withOutbound()
    h.send(frame(WindowUpdate, ACK, id, MAX_U32 - INITIAL_STREAM_WINDOW + 1))
    expectFatal(h, 'WindowOverflowError', GoAwayCode.ProtocolError)
  })

  it('a delta of 2^32-1 → WindowOverflowError', () => {
    const { h, id } = withOutbound()
    h.send(frame(WindowUpdate, 0, id, MAX_U32))
    expectFatal(h, 'WindowOverflowError', GoAwayCode.ProtocolError)
  })

  it('two updates adding up past 2^32-1 → WindowOverflowError', () => {
    const { h, id } = withOutbound()
    h.send(frame(WindowUpdate, ACK, id, 0x8000_0000))
    expect(h.session.isClosed).to.equal(false)
    h.send(frame(WindowUpdate, 0, id, 0x8000_0000))
    expectFatal(h, 'WindowOverflowError', GoAwayCode.ProtocolError)
  })

  it('the window counts what we already sent: credit for sent bytes does not overflow', () => {
    const { h, id } = withOutbound()
    h.session.write(id, bytes(1000))
    h.env.runTasks()
    expect(h.take().filter(f => f.type === Data).map(f => f.length)).to.deep.equal([1000])
    // remaining window is 256 KiB - 1000, so this lands exactly on 2^32-1
    h.send(frame(WindowUpdate, ACK, id, MAX_U32 - INITIAL_STREAM_WINDOW + 1000))
    expect(h.session.isClosed).to.equal(false)
    h.send(frame(WindowUpdate, 0, id, 1))
    expectFatal(h, 'WindowOverflowError', GoAwayCode.ProtocolError)
  })

  it('a SYN WindowUpdate whose delta overflows the new stream\'s window → WindowOverflowError', () => {
    const h = harness()
    h.send(frame(WindowUpdate, SYN, 1, MAX_U32))
    expectFatal(h, 'WindowOverflowError', GoAwayCode.ProtocolError)
  })

  it('WindowUpdate|RST carries a code, not credit: a huge value does not overflow', () => {
    const { h, id } = withOutbound()
    h.send(frame(WindowUpdate, RST, id, MAX_U32))
    expect(h.peer.log(id).reset?.name).to.equal('ConnectionResetError')
    expect(h.peer.log(id).resetRemote).to.equal(true)
    expect(h.session.streamCount).to.equal(0)
    expectAlive(h)
  })
})

describe('protocol errors: frames for unknown, closed or reset streams are tolerated', () => {
  /** A body that would be a fatal header if it were parsed as one. */
  function poison (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i += 12) { out.set(frame(0xEE as FrameType, 0xFF, 0, 0).subarray(0, Math.min(12, n - i)), i) }
    out[0] = 1 // bad version
    return out
  }

  function junkFor (id: number): Uint8Array[] {
    return [
      data(0, id, poison(1000)),
      frame(WindowUpdate, 0, id, 12345),
      frame(WindowUpdate, ACK, id, 0),
      data(FIN, id, poison(24)),
      frame(WindowUpdate, FIN, id, 0),
      frame(WindowUpdate, RST, id, 0),
      data(RST, id, poison(48))
    ]
  }

  it('unknown stream ids (odd and even, large): bodies consumed, the next frame parsed, nothing written', () => {
    const h = harness()
    for (const id of [7, 8, 99, 0x7FFF_FFFF, MAX_U32]) {
      h.send(concat([...junkFor(id), frame(Ping, SYN, 0, id)]))
      expect(summary(h.take())).to.deep.equal([[Ping, ACK, 0, id]])
    }
    expect(h.peer.inbound).to.deep.equal([])
    expect(h.peer.streams.size).to.equal(0)
    expectAlive(h)
  })

  it('a stream both sides closed (forgotten)', () => {
    const h = harness()
    h.send(data(SYN | FIN, 1, bytes(3)))
    h.session.closeWrite(1)
    h.env.runTasks()
    expect(h.session.streamCount).to.equal(0)
    h.take()
    h.send(concat([...junkFor(1), frame(Ping, SYN, 0, 5)]))
    expect(summary(h.take())).to.deep.equal([[Ping, ACK, 0, 5]])
    expect(h.peer.log(1).bytes).to.equal(3)
    expectAlive(h)
  })

  it('a stream we reset (frames still in flight from the peer)', () => {
    const h = harness()
    h.send(frame(WindowUpdate, SYN, 1, 0))
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 1, 0]])
    h.session.reset(1)
    h.env.runTasks()
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, RST, 1, 0]])
    h.send(concat([...junkFor(1), frame(Ping, SYN, 0, 5)]))
    expect(summary(h.take())).to.deep.equal([[Ping, ACK, 0, 5]])
    expect(h.peer.log(1).bytes).to.equal(0)
    expect(h.peer.log(1).reset).to.equal(undefined) // local reset: no callback
    expectAlive(h)
  })

  it('a stream the peer reset', () => {
    const h = harness()
    const id = h.session.openStream()
    h.session.write(id, bytes(10))
    h.env.runTasks()
    h.send(frame(WindowUpdate, ACK, id, 0), frame(WindowUpdate, RST, id, 0))
    expect(h.peer.log(id).reset?.name).to.equal('ConnectionResetError')
    h.take()
    h.send(concat([...junkFor(id), frame(Ping, SYN, 0, 5)]))
    expect(summary(h.take())).to.deep.equal([[Ping, ACK, 0, 5]])
    expect(h.peer.log(id).bytes).to.equal(0)
    expectAlive(h)
  })

  it('a discarded body split over many chunks is still skipped exactly', () => {
    const h = harness()
    const wire = concat([data(0, 41, poison(5000)), frame(Ping, SYN, 0, 9)])
    for (let i = 0; i < wire.byteLength; i += 7) { h.send(wire.subarray(i, i + 7)) }
    expect(summary(h.take())).to.deep.equal([[Ping, ACK, 0, 9]])
    expectAlive(h)
  })

  it('a body of 4 GiB announced for an unknown stream is discarded as it arrives (no error, no buffering)', () => {
    const h = harness()
    h.send(frame(Data, 0, 41, 0xFFFF_FFFF), bytes(100_000))
    expect(h.session.isClosed).to.equal(false)
    expect(h.take()).to.deep.equal([])
  })

  it('thousands of RSTs for unknown streams: tolerated, nothing written back', () => {
    const h = harness()
    const rsts: Uint8Array[] = []
    for (let i = 0; i < 5000; i++) { rsts.push(frame(WindowUpdate, RST, 2 * i + 1, 0), frame(WindowUpdate, RST, 2 * i + 2, 0)) }
    h.send(concat(rsts))
    h.advance(60_000)
    expect(h.take()).to.deep.equal([])
    expect(h.session.streamCount).to.equal(0)
    expectAlive(h)
  })
})

describe('protocol errors: FIN', () => {
  it('data after the peer\'s FIN is discarded, the session stays up', () => {
    const h = harness()
    h.send(frame(WindowUpdate, SYN, 1, 0), data(FIN, 1, bytes(3)))
    expect(h.peer.log(1).remoteClosed).to.equal(true)
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 1, 0]])
    h.send(data(0, 1, bytes(50, 2)), data(FIN, 1, bytes(5, 3)), frame(WindowUpdate, FIN, 1, 0))
    expect(h.peer.received(1)).to.deep.equal(bytes(3))
    expect(h.session.isClosed).to.equal(false)
    // the stream is still ours to write to and close
    expect(h.session.write(1, bytes(4))).to.equal(4)
    h.session.closeWrite(1)
    h.env.runTasks()
    expect(h.session.streamCount).to.equal(0)
    // FIN travels on its own frame after the data
    expect(summary(h.take())).to.deep.equal([[Data, 0, 1, 4], [WindowUpdate, FIN, 1, 0]])
    expectAlive(h)
  })

  it('no window credit is sent after the peer\'s FIN', () => {
    const h = harness()
    h.send(frame(WindowUpdate, SYN, 1, 0))
    h.take()
    h.send(data(FIN, 1, bytes(200 * 1024)))
    h.env.runTasks()
    expect(h.take().filter(f => f.type === WindowUpdate && f.length > 0)).to.deep.equal([])
    expectAlive(h)
  })
})

describe('protocol errors: ping', () => {
  it('Ping SYN on a non-zero stream is answered (on stream 0, same value)', () => {
    const h = harness()
    h.send(frame(Ping, SYN, 5, 1234), frame(Ping, SYN, MAX_U32, 4321))
    expect(summary(h.take())).to.deep.equal([[Ping, ACK, 0, 1234], [Ping, ACK, 0, 4321]])
    expectAlive(h)
  })

  it('an unsolicited pong (unknown value) is ignored', () => {
    const h = harness()
    h.advance(3)
    h.send(frame(Ping, ACK, 0, 0xDEAD), frame(Ping, ACK, 0, 0))
    expect(h.take()).to.deep.equal([])
    expect(h.session.rtt).to.equal(-1) // our ping (value 1) is still unanswered
    h.send(frame(Ping, ACK, 0, 1))
    expect(h.session.rtt).to.equal(3)
    // a second pong for the same value is stale: ignored
    h.send(frame(Ping, ACK, 0, 1))
    expect(h.session.isClosed).to.equal(false)
    expectAlive(h)
  })

  it('a Ping with neither SYN nor ACK is ignored', () => {
    const h = harness()
    h.send(frame(Ping, 0, 0, 1), frame(Ping, FIN, 0, 2), frame(Ping, RST, 0, 3), frame(Ping, 0x8000, 0, 4))
    expect(h.take()).to.deep.equal([])
    expectAlive(h)
  })

  it('a Ping flood while the transport refuses writes: at most MAX_PENDING_PONGS answered once it drains', () => {
    const h = harness()
    h.peer.accept = false
    h.send(frame(Ping, SYN, 0, 0))
    expect(summary(h.take())).to.deep.equal([[Ping, ACK, 0, 0]])
    expect(h.session.isBlocked).to.equal(true)
    for (let i = 1; i <= 5000; i++) { h.send(frame(Ping, SYN, 0, i)) }
    expect(h.take()).to.deep.equal([])
    h.peer.accept = true
    h.session.transportDrained()
    h.env.runTasks()
    const pongs = h.take()
    expect(pongs.length).to.be.at.most(MAX_PENDING_PONGS)
    expect(pongs.length).to.equal(32)
    expect(summary(pongs)).to.deep.equal(Array.from({ length: 32 }, (_, i) => [Ping, ACK, 0, i + 1]))
    expectAlive(h)
  })

  it('thousands of Pings in one chunk get at most MAX_PENDING_PONGS answers', () => {
    const h = harness()
    const pings: Uint8Array[] = []
    for (let i = 0; i < 3000; i++) { pings.push(frame(Ping, SYN, 0, i)) }
    h.send(concat(pings))
    const pongs = h.take()
    expect(pongs.length).to.be.at.most(MAX_PENDING_PONGS)
    expect(pongs.every(f => f.type === Ping && f.flags === ACK)).to.equal(true)
    expectAlive(h)
  })
})

describe('protocol errors: GoAway from the peer', () => {
  it('GoAway(0) then a SYN from the peer: the stream is accepted (GoAway only stops our opens)', () => {
    const h = harness()
    h.send(frame(GoAway, 0, 0, GoAwayCode.NormalTermination))
    expect(h.peer.goAways).to.deep.equal([0])
    expect(h.session.isClosed).to.equal(false)
    expect(h.session.isGoingAway).to.equal(true)
    expect(() => h.session.openStream()).to.throw(RemoteGoAwayError)
    h.send(data(SYN, 1, bytes(4)))
    expect(h.peer.inbound).to.deep.equal([1])
    expect(h.peer.received(1)).to.deep.equal(bytes(4))
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 1, 0]])
    // a repeated GoAway(0) is not reported again
    h.send(frame(GoAway, 0, 0, 0))
    expect(h.peer.goAways).to.deep.equal([0])
    expectAlive(h)
  })

  it('GoAway(0) leaves our open streams working', () => {
    const h = harness()
    const id = h.session.openStream()
    h.env.runTasks()
    h.send(frame(WindowUpdate, ACK, id, 0), frame(GoAway, 0, 0, 0))
    expect(h.session.write(id, bytes(10))).to.equal(10)
    h.env.runTasks()
    expect(h.take().filter(f => f.type === Data).map(f => f.length)).to.deep.equal([10])
    h.send(data(0, id, bytes(5)))
    expect(h.peer.log(id).bytes).to.equal(5)
  })

  for (const code of [GoAwayCode.ProtocolError, GoAwayCode.InternalError, 7, MAX_U32]) {
    it(`GoAway(${code}) ends the session with RemoteGoAwayError carrying .code, nothing sent back`, () => {
      const h = harness()
      h.send(frame(WindowUpdate, SYN, 1, 0))
      h.take()
      h.send(frame(GoAway, 0, 0, code))
      const error = h.peer.closeError as RemoteGoAwayError
      expect(error).to.be.instanceOf(RemoteGoAwayError)
      expect(error.code).to.equal(code)
      expect(h.peer.goAways).to.deep.equal([])
      expect(expectFatal(h, 'RemoteGoAwayError', undefined)).to.deep.equal([])
    })
  }
})

describe('protocol errors: floods and limits', () => {
  it('SYNs beyond maxInboundStreams each get an RST; the session stays up', () => {
    const h = harness({ config: { maxInboundStreams: 3 } })
    const syns: Uint8Array[] = []
    for (let i = 0; i < 1003; i++) { syns.push(frame(WindowUpdate, SYN, 2 * i + 1, 0)) }
    h.send(concat(syns))
    expect(h.peer.inbound).to.deep.equal([1, 3, 5])
    const out = h.take()
    const acks = out.filter(f => (f.flags & ACK) !== 0)
    const rsts = out.filter(f => (f.flags & RST) !== 0)
    expect(summary(acks)).to.deep.equal([[WindowUpdate, ACK, 1, 0], [WindowUpdate, ACK, 3, 0], [WindowUpdate, ACK, 5, 0]])
    expect(rsts).to.have.length(1000)
    expect(rsts.every(f => f.type === WindowUpdate && f.flags === RST && f.length === 0)).to.equal(true)
    expect(rsts.map(f => f.streamId)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => 2 * (i + 3) + 1))
    expect(out).to.have.length(1003)
    expect(h.session.streamCount).to.equal(3)
    // data riding on a refused SYN is not delivered
    h.send(data(SYN, 5001, bytes(100)))
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, RST, 5001, 0]])
    expect(h.peer.log(5001).bytes).to.equal(0)
    // once one closes there is room again
    h.send(frame(WindowUpdate, RST, 1, 0))
    h.send(frame(WindowUpdate, SYN, 6001, 0))
    expect(h.peer.inbound).to.deep.equal([1, 3, 5, 6001])
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 6001, 0]])
    expectAlive(h)
  })

  it('SYNs beyond acceptBacklog while streams are not accepted each get an RST', () => {
    const h = harness({ config: { acceptBacklog: 4 } })
    h.peer.autoAccept = false
    const syns: Uint8Array[] = []
    for (let i = 0; i < 10; i++) { syns.push(frame(WindowUpdate, SYN, 2 * i + 1, 0)) }
    h.send(concat(syns))
    expect(h.peer.inbound).to.deep.equal([1, 3, 5, 7])
    expect(summary(h.take())).to.deep.equal([9, 11, 13, 15, 17, 19].map(id => [WindowUpdate, RST, id, 0]))
    // accepting one frees a backlog slot
    h.session.acceptStream(3)
    h.env.runTasks()
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 3, 0]])
    h.send(frame(WindowUpdate, SYN, 21, 0), frame(WindowUpdate, SYN, 23, 0))
    expect(h.peer.inbound).to.deep.equal([1, 3, 5, 7, 21])
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, RST, 23, 0]])
    // a peer RST on an unaccepted stream frees one too
    h.send(frame(WindowUpdate, RST, 5, 0), frame(WindowUpdate, SYN, 25, 0))
    expect(h.peer.inbound).to.deep.equal([1, 3, 5, 7, 21, 25])
    expect(h.take()).to.deep.equal([])
    expectAlive(h)
  })

  it('RST from the peer on a stream still awaiting its ACK frees the ACK backlog slot', () => {
    const h = harness({ config: { maxAckBacklog: 1 } })
    const a = h.session.openStream()
    const b = h.session.openStream()
    h.env.runTasks()
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, SYN, a, 0]]) // b is held
    h.send(frame(WindowUpdate, RST, a, 0))
    expect(h.peer.log(a).reset?.name).to.equal('ConnectionResetError')
    expect(h.peer.log(a).resetRemote).to.equal(true)
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, SYN, b, 0]])
    expect(h.session.streamCount).to.equal(1)
    expectAlive(h)
  })

  it('a peer sending one byte per chunk: SYN, data, FIN and ping all work', () => {
    const h = harness()
    const wire = concat([
      frame(WindowUpdate, SYN, 1, 0),
      data(0, 1, bytes(300, 5)),
      frame(WindowUpdate, 0, 1, 10), // credit for our side
      data(FIN, 1, bytes(20, 6)),
      frame(Ping, SYN, 0, 77),
      data(SYN | FIN, 3, bytes(2, 7))
    ])
    for (let i = 0; i < wire.byteLength; i++) { h.send(wire.subarray(i, i + 1)) }
    expect(h.peer.inbound).to.deep.equal([1, 3])
    expect(h.peer.received(1)).to.deep.equal(concat([bytes(300, 5), bytes(20, 6)]))
    expect(h.peer.log(1).remoteClosed).to.equal(true)
    expect(h.peer.received(3)).to.deep.equal(bytes(2, 7))
    expect(h.peer.log(3).remoteClosed).to.equal(true)
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 1, 0], [Ping, ACK, 0, 77], [WindowUpdate, ACK, 3, 0]])
    expect(h.session.writableLength(1)).to.equal(INITIAL_STREAM_WINDOW + 10)
    h.session.write(1, bytes(9))
    h.session.closeWrite(1)
    h.env.runTasks()
    expect(summary(h.take().filter(f => f.streamId === 1))).to.deep.equal([[Data, 0, 1, 9], [WindowUpdate, FIN, 1, 0]])
    expect(h.session.streamCount).to.equal(1)
    expectAlive(h)
  })
})

describe('protocol errors: timeouts', () => {
  it('the transport refusing writes for connectionWriteTimeout → ConnectionWriteTimeoutError, GoAway(2)', () => {
    const h = harness({ config: { connectionWriteTimeout: 1000 } })
    h.send(frame(WindowUpdate, SYN, 1, 0))
    h.take()
    h.advance(100)
    h.peer.accept = false
    h.send(frame(Ping, SYN, 0, 1))
    expect(h.session.isBlocked).to.equal(true)
    h.take()
    h.advance(999)
    expect(h.session.isClosed).to.equal(false)
    h.advance(1)
    const out = expectFatal(h, 'ConnectionWriteTimeoutError', GoAwayCode.InternalError)
    expect(summary(out)).to.deep.equal([[GoAway, 0, 0, GoAwayCode.InternalError]])
  })

  it('a drain before connectionWriteTimeout keeps the session up', () => {
    const h = harness({ config: { connectionWriteTimeout: 1000 } })
    h.peer.accept = false
    h.send(frame(Ping, SYN, 0, 1))
    h.advance(900)
    h.peer.accept = true
    h.session.transportDrained()
    h.advance(5000)
    expect(h.session.isClosed).to.equal(false)
    h.take()
    expectAlive(h)
  })

  it('no ACK within streamOpenTimeout → the stream is reset with TimeoutError and an RST is written', () => {
    const h = harness({ config: { streamOpenTimeout: 1000 } })
    const id = h.session.openStream()
    h.session.write(id, bytes(5))
    h.env.runTasks()
    expect(summary(h.take())).to.deep.equal([[Data, SYN, id, 5]])
    h.advance(999)
    expect(h.peer.log(id).reset).to.equal(undefined)
    h.advance(1)
    expect(h.peer.log(id).reset?.name).to.equal('TimeoutError')
    expect(h.peer.log(id).resetRemote).to.equal(false)
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, RST, id, 0]])
    expect(h.session.streamCount).to.equal(0)
    // a late ACK is ignored
    h.send(frame(WindowUpdate, ACK, id, 0))
    expect(h.take()).to.deep.equal([])
    expectAlive(h)
  })

  it('an ACK within streamOpenTimeout cancels the deadline', () => {
    const h = harness({ config: { streamOpenTimeout: 1000 } })
    const id = h.session.openStream()
    h.env.runTasks()
    h.take()
    h.advance(500)
    h.send(frame(WindowUpdate, ACK, id, 0))
    h.advance(5000)
    expect(h.peer.log(id).reset).to.equal(undefined)
    expect(h.session.streamCount).to.equal(1)
    expect(h.take()).to.deep.equal([])
  })

  it('half-closed by us and the peer stays silent → TimeoutError reset after streamCloseTimeout', () => {
    const h = harness({ config: { streamCloseTimeout: 2000 } })
    h.send(frame(WindowUpdate, SYN, 1, 0))
    h.session.closeWrite(1)
    h.env.runTasks()
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, ACK, 1, 0], [WindowUpdate, FIN, 1, 0]])
    h.advance(1999)
    expect(h.peer.log(1).reset).to.equal(undefined)
    h.advance(1)
    expect(h.peer.log(1).reset?.name).to.equal('TimeoutError')
    expect(h.peer.log(1).resetRemote).to.equal(false)
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, RST, 1, 0]])
    expect(h.session.streamCount).to.equal(0)
    expectAlive(h)
  })

  it('frames from the peer push the close deadline back', () => {
    const h = harness({ config: { streamCloseTimeout: 2000 } })
    h.send(frame(WindowUpdate, SYN, 1, 0))
    h.session.closeWrite(1)
    h.env.runTasks()
    h.take()
    h.advance(1500)
    h.send(data(0, 1, bytes(10)))
    h.advance(1999)
    expect(h.peer.log(1).reset).to.equal(undefined)
    h.advance(1)
    expect(h.peer.log(1).reset?.name).to.equal('TimeoutError')
    expect(summary(h.take())).to.deep.equal([[WindowUpdate, RST, 1, 0]])
  })

  it('the peer\'s FIN before streamCloseTimeout ends the stream cleanly', () => {
    const h = harness({ config: { streamCloseTimeout: 2000 } })
    h.send(frame(WindowUpdate, SYN, 1, 0))
    h.session.closeWrite(1)
    h.env.runTasks()
    h.take()
    h.advance(1000)
    h.send(frame(WindowUpdate, FIN, 1, 0))
    expect(h.session.streamCount).to.equal(0)
    h.advance(10_000)
    expect(h.peer.log(1).reset).to.equal(undefined)
    expect(h.take()).to.deep.equal([])
    expect(h.env.pendingTimers).to.equal(0)
  })
})

describe('protocol errors: state after a fatal error', () => {
  /** Frames that must have no effect once the session has ended earlier in the same chunk. */
  function trailing (): Uint8Array {
    return concat([frame(WindowUpdate, SYN, 1001, 0), data(0, 1001, bytes(3)), frame(GoAway, 0, 0, 0), frame(Ping, SYN, 0, 9)])
  }

  /** Nothing reached the handler after onClose, and the session holds nothing. */
  function expectQuietAfterClose (h: RawHarness, events: string[]): void {
    expect(events).to.deep.equal([])
    expect(h.peer.inbound).to.not.include(1001)
    expect(h.peer.goAways).to.deep.equal([])
    expect(h.session.streamCount).to.equal(0)
    expect(h.env.pendingTimers).to.equal(0)
  }

  function recordLateCallbacks (h: RawHarness): string[] {
    const events: string[] = []
    const peer = h.peer
    const { onStream, onData, onGoAway } = peer
    peer.onStream = (id) => { if (peer.closed) { events.push(`onStream(${id})`) } onStream.call(peer, id) }
    peer.onData = (id, d) => { if (peer.closed) { events.push(`onData(${id})`) } onData.call(peer, id, d) }
    peer.onGoAway = (code) => { if (peer.closed) { events.push(`onGoAway(${code})`) } onGoAway.call(peer, code) }
    return events
  }

  it('a fatal header error stops decoding the rest of the chunk', () => {
    const h = harness()
    const events = recordLateCallbacks(h)
    const bad = frame(Ping, SYN, 0, 1)
    bad[0] = 1
    h.send(concat([bad, trailing()]))
    expect(h.peer.closeError?.name).to.equal('InvalidVersionError')
    expectQuietAfterClose(h, events)
  })

  // Regression (found by this suite): a GoAway with a non-zero code ends the
  // session through fail() without throwing; the decoder used to keep going through the rest of the same chunk:
  // a following SYN opens a stream after onClose (onStream + onData called,
  // streamCount 1 after the fatal error) and a following GoAway(0) calls onGoAway.
  // Repro: one chunk [GoAway(2), WindowUpdate|SYN id 1001, Data id 1001 len 3, GoAway(0)].
  it('GoAway(2) ends the session: later frames in the same chunk are ignored', () => {
    const h = harness()
    const events = recordLateCallbacks(h)
    h.send(concat([frame(GoAway, 0, 0, GoAwayCode.InternalError), trailing()]))
    expect(h.peer.closeError?.name).to.equal('RemoteGoAwayError')
    expectQuietAfterClose(h, events)
  })

  // Regression: same root cause via the control-frame cap: the 4097th RST queued while
  // the transport refuses writes fails the session (ConnectionWriteTimeoutError)
  // without stopping the decoder; a GoAway(0) later in the chunk still reaches
  // onGoAway after onClose.
  // Repro: maxInboundStreams 0, transport blocked, one chunk of 4097 SYNs then GoAway(0).
  it('the pending control frame cap ends the session: later frames in the same chunk are ignored', () => {
    const h = harness({ config: { maxInboundStreams: 0 } })
    const events = recordLateCallbacks(h)
    h.peer.accept = false
    h.send(frame(Ping, SYN, 0, 1))
    const syns: Uint8Array[] = []
    for (let i = 0; i < 4097; i++) { syns.push(frame(WindowUpdate, SYN, 2 * i + 1, 0)) }
    h.send(concat([...syns, trailing()]))
    expect(h.peer.closeError?.name).to.equal('ConnectionWriteTimeoutError')
    expectQuietAfterClose(h, events)
  })

  // Regression: same root cause when the application closes the session from a
  // callback (here onData calls session.close(new Error('app'))): the decoder
  // used to carry on with the chunk, so a later SYN reaches onStream and its Data
  // reaches onData after onClose, the closed session holds a stream
  // (streamCount 1), and a later GoAway(0) reaches onGoAway.
  // (A clean close() from a callback leaks only the onGoAway(0): its
  // localGoAway flag makes the SYN be refused.)
  // Repro: one chunk [Data|SYN id 1 len 2, WindowUpdate|SYN id 1001, Data id 1001 len 3, GoAway(0)].
  it('closing the session from a callback stops the rest of the chunk', () => {
    for (const error of [new Error('app'), undefined]) {
      const h = harness()
      const events = recordLateCallbacks(h)
      h.peer.onDataHook = (id) => { if (id === 1) { h.session.close(error) } }
      h.send(concat([data(SYN, 1, bytes(2)), trailing()]))
      expect(h.peer.closed).to.equal(true)
      expect(h.peer.closeError?.name).to.equal(error === undefined ? undefined : 'InternalError')
      expectQuietAfterClose(h, events)
    }
  })

  it('streams of both directions and all timers are gone; streams are not told one by one', () => {
    const h = harness({ config: { enableKeepAlive: true, keepAliveInterval: 500, streamOpenTimeout: 1000, streamCloseTimeout: 1000 } })
    h.send(frame(WindowUpdate, SYN, 1, 0), frame(WindowUpdate, SYN, 3, 0))
    const id = h.session.openStream()
    h.session.write(id, bytes(100))
    h.session.closeWrite(3)
    h.env.runTasks()
    h.peer.accept = false
    h.send(frame(Ping, SYN, 0, 1))
    expect(h.session.streamCount).to.equal(3)
    h.take()
    h.send(frame(WindowUpdate, SYN, 100, 0)) // our parity
    expectFatal(h, 'UnexpectedFlagError', GoAwayCode.ProtocolError)
    for (const sid of [1, 3, id]) { expect(h.peer.log(sid).reset).to.equal(undefined) }
    expect(() => h.session.write(id, bytes(1))).to.throw().with.property('name', 'StreamClosedError')
    expect(() => h.session.openStream()).to.throw().with.property('name', 'SessionShutdownError')
    let pingError: string | undefined
    h.session.ping((err) => { pingError = err?.name })
    expect(pingError).to.equal('SessionShutdownError')
    h.session.transportDrained()
    h.session.close()
    h.env.runTasks()
    expect(h.take()).to.deep.equal([])
  })
})
