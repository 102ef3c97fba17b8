/* How streams and sessions end: transport EOF, mid-frame truncation, GoAway codes, first frames, throwing owners. */
import { expect } from 'aegir/chai'
import { Flag, FrameType, GoAwayCode, TimeoutError } from '../../src/core/index.ts'
import { RawHarness, frame } from '../fixtures/raw-peer.ts'
import { SessionPair } from '../fixtures/session-pair.ts'

describe('session endings: the transport closing', () => {
  it('reports a transport that ends in the middle of a frame as TransportClosedError, not a clean close', () => {
    const h = new RawHarness()
    h.peer.autoConsume = false
    const whole = frame(FrameType.Data, Flag.SYN, 1, 1000, new Uint8Array(1000).fill(7))
    h.send(whole.subarray(0, 12 + 400))
    expect(h.peer.log(1).bytes).to.equal(400)
    h.session.transportClosed()
    expect(h.peer.closed).to.equal(true)
    expect(h.peer.closeError?.name).to.equal('TransportClosedError')
  })

  it('a split header at EOF is also a truncation', () => {
    const h = new RawHarness()
    h.send(frame(FrameType.Ping, Flag.SYN, 0, 1).subarray(0, 5))
    h.session.transportClosed()
    expect(h.peer.closeError?.name).to.equal('TransportClosedError')
  })

  it('errors every stream still waiting for the peer\'s FIN when the transport ends without GoAway', () => {
    const h = new RawHarness()
    h.send(
      frame(FrameType.Data, Flag.SYN, 1, 3, Uint8Array.of(1, 2, 3)), // open, no FIN
      frame(FrameType.Data, Flag.SYN | Flag.FIN, 3, 1, Uint8Array.of(4)) // complete
    )
    const ours = h.session.openStream() // the peer never sent a byte on it
    h.session.transportClosed()
    expect(h.peer.log(1).reset?.name).to.equal('TransportClosedError')
    expect(h.peer.log(ours).reset?.name).to.equal('TransportClosedError')
    // one error object for all of them: a stack trace per stream made a
    // connection with thousands of streams slow to close
    expect(h.peer.log(1).reset).to.equal(h.peer.log(ours).reset)
    expect(h.peer.log(3).reset).to.equal(undefined)
    expect(h.peer.log(3).remoteClosed).to.equal(true)
    expect(h.peer.closed).to.equal(true)
    expect(h.peer.closeError).to.equal(undefined)
  })

  it('a peer that sent GoAway(0) and then closed ends streams cleanly', () => {
    const h = new RawHarness()
    h.send(frame(FrameType.Data, Flag.SYN, 1, 1, Uint8Array.of(1)), frame(FrameType.GoAway, 0, 0, GoAwayCode.NormalTermination))
    h.session.transportClosed()
    expect(h.peer.log(1).reset).to.equal(undefined)
    expect(h.peer.closeError).to.equal(undefined)
  })

  it('a transport error ends the session with TransportError carrying the cause', () => {
    const h = new RawHarness()
    const cause = new Error('ECONNRESET')
    h.session.transportClosed(cause)
    expect(h.peer.closeError?.name).to.equal('TransportError')
    expect(h.peer.closeError?.cause).to.equal(cause)
  })

  it('a transport write that throws ends the session with TransportError', () => {
    const h = new RawHarness()
    h.peer.write = () => { throw new Error('EPIPE') }
    h.session.openStream()
    h.session.write(2, Uint8Array.of(1))
    h.env.runTasks()
    expect(h.peer.closeError?.name).to.equal('TransportError')
  })
})

describe('session endings: GoAway codes', () => {
  it('close() with a YamuxError that has no GoAway code sends GoAway(2)', () => {
    const h = new RawHarness()
    h.take()
    h.session.close(new TimeoutError('deadline'))
    const frames = h.take()
    expect(frames.pop()).to.include({ type: FrameType.GoAway, length: GoAwayCode.InternalError })
    expect(h.peer.closeError?.name).to.equal('TimeoutError')
  })
})

describe('session: the first frame of an inbound stream', () => {
  it('writing before acceptStream() accepts the stream: the first frame carries ACK', () => {
    const h = new RawHarness()
    h.peer.autoAccept = false
    h.send(frame(FrameType.WindowUpdate, Flag.SYN, 1, 0))
    h.take()
    h.session.write(1, Uint8Array.of(9))
    h.env.runTasks()
    const frames = h.take().filter(f => f.streamId === 1)
    expect(frames).to.have.length(1)
    expect(frames[0].flags & Flag.ACK).to.equal(Flag.ACK)
    expect(frames[0].type).to.equal(FrameType.Data)
    // and it is not acknowledged twice
    h.session.acceptStream(1)
    h.session.write(1, Uint8Array.of(10))
    h.env.runTasks()
    expect(h.take().filter(f => f.streamId === 1 && (f.flags & Flag.ACK) !== 0)).to.have.length(0)
  })
})

describe('session: synOnData', () => {
  it('off: the SYN leaves on a WindowUpdate of its own, the first data on the next frame', () => {
    const h = new RawHarness({ config: { synOnData: false } })
    h.take()
    const id = h.session.openStream()
    h.session.write(id, Uint8Array.of(1, 2, 3))
    h.env.runTasks()
    const frames = h.take().filter(f => f.streamId === id)
    expect(frames.map(f => [f.type, f.flags, f.length])).to.deep.equal([[FrameType.WindowUpdate, Flag.SYN, 0], [FrameType.Data, 0, 3]])
  })

  it('on (the default): the SYN rides on the first Data frame', () => {
    const h = new RawHarness()
    h.take()
    const id = h.session.openStream()
    h.session.write(id, Uint8Array.of(1, 2, 3))
    h.env.runTasks()
    const frames = h.take().filter(f => f.streamId === id)
    expect(frames.map(f => [f.type, f.flags, f.length])).to.deep.equal([[FrameType.Data, Flag.SYN, 3]])
  })
})

describe('session: an owner callback that throws', () => {
  it('a throwing onWritable resets only its stream; the other waiting streams are still told', () => {
    const pair = new SessionPair({ capacity: 1 << 30 })
    pair.run()
    const a = pair.client.session.openStream()
    const b = pair.client.session.openStream()
    pair.server.autoConsume = false
    // fill both windows so both wait for room
    for (const id of [a, b]) {
      while (pair.client.session.write(id, new Uint8Array(64 * 1024)) > 0) { /* fill */ }
    }
    pair.run()
    pair.client.onWritableHook = (id) => { if (id === a) { throw new Error('app bug') } }
    for (const id of [a, b]) { pair.server.session.consume(id, 256 * 1024) }
    expect(() => { pair.run() }).to.not.throw()
    expect(pair.client.log(b).writableCalls).to.equal(1)
    expect(pair.client.log(a).reset?.name).to.equal('InternalError')
    expect(pair.server.log(a).reset?.name).to.equal('ConnectionResetError')
    expect(pair.client.closed).to.equal(false)
  })
})
