/**
 * Hostile peers over a real TCP socket: a raw client writes crafted bytes at
 * a `libp2p-yamux/node` Server. Each case checks the defined outcome (typed
 * error, GoAway code, RST, or tolerated), that nothing escapes as an
 * uncaught exception or unhandled rejection, and that memory stays bounded.
 */
import net from 'node:net'
import { expect } from 'aegir/chai'
import { Flag, FrameType, GoAwayCode, HEADER_LENGTH, encodeHeader } from '../../src/core/index.ts'
import { Server } from '../../src/node/index.ts'
import { decodeAll } from '../fixtures/raw-peer.ts'
import { gc } from '../soak/workload.ts'
import type { SessionConfig } from '../../src/core/config.ts'
import type { FrameHeader } from '../../src/core/index.ts'
import type { YamuxSession } from '../../src/node/index.ts'

const MiB = 1024 * 1024

function header (type: FrameType, flags: number, streamId: number, length: number): Uint8Array {
  return encodeHeader({ type, flags, streamId, length } satisfies FrameHeader)
}

interface Harness {
  session: YamuxSession
  client: net.Socket
  /** Bytes the server wrote back. */
  received(): Uint8Array
  closed: Promise<string | undefined>
  socketClosed: Promise<void>
  done(): void
}

async function connect (config: Partial<SessionConfig> = {}, readBack = true): Promise<Harness> {
  const listener = net.createServer()
  await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve))
  const port = (listener.address() as net.AddressInfo).port
  const accepted = new Promise<net.Socket>(resolve => listener.once('connection', resolve))
  const client = net.connect(port, '127.0.0.1')
  client.on('error', () => {})
  const serverSocket = await accepted
  const session = Server(serverSocket, { enableKeepAlive: false, ...config })
  const chunks: Buffer[] = []
  if (readBack) { client.on('data', (d: Buffer) => chunks.push(d)) } else { client.pause() }
  const closed = new Promise<string | undefined>(resolve => session.once('close', (err) => { resolve(err?.name) }))
  const socketClosed = new Promise<void>(resolve => client.once('close', () => { resolve() }))
  return {
    session,
    client,
    received: () => Buffer.concat(chunks),
    closed,
    socketClosed,
    done: () => { client.destroy(); serverSocket.destroy(); listener.close() }
  }
}

function goAwayCode (bytes: Uint8Array): number | undefined {
  return decodeAll(bytes).find(f => f.type === FrameType.GoAway)?.length
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

function heapMiB (): number {
  gc()
  return process.memoryUsage().heapUsed / MiB
}

function rssMiB (): number {
  return process.memoryUsage().rss / MiB
}

describe('hostile peer over TCP', function () {
  this.timeout(60_000)
  const escaped: unknown[] = []
  const onEscape = (err: unknown): void => { escaped.push(err) }

  before(() => {
    process.on('uncaughtException', onEscape)
    process.on('unhandledRejection', onEscape)
  })

  after(() => {
    process.off('uncaughtException', onEscape)
    process.off('unhandledRejection', onEscape)
  })

  afterEach(() => {
    expect(escaped, 'uncaught exceptions or unhandled rejections').to.deep.equal([])
  })

  const fatal: Array<[string, () => Uint8Array, string, GoAwayCode]> = [
    ['a bad version', () => { const h = header(FrameType.Ping, Flag.SYN, 0, 1); h[0] = 7; return h }, 'InvalidVersionError', GoAwayCode.ProtocolError],
    ['a bad frame type', () => { const h = header(FrameType.Ping, Flag.SYN, 0, 1); h[1] = 9; return h }, 'InvalidMsgTypeError', GoAwayCode.ProtocolError],
    ['SYN with our parity', () => header(FrameType.WindowUpdate, Flag.SYN, 2, 0), 'UnexpectedFlagError', GoAwayCode.ProtocolError],
    ['SYN on stream 0', () => header(FrameType.WindowUpdate, Flag.SYN, 0, 0), 'UnexpectedFlagError', GoAwayCode.ProtocolError],
    ['a duplicate SYN', () => Buffer.concat([header(FrameType.WindowUpdate, Flag.SYN, 1, 0), header(FrameType.WindowUpdate, Flag.SYN, 1, 0)]), 'DuplicateStreamError', GoAwayCode.ProtocolError],
    ['a window update past 2^32', () => Buffer.concat([header(FrameType.WindowUpdate, Flag.SYN, 1, 0xFFFF_FFFF)]), 'WindowOverflowError', GoAwayCode.ProtocolError]
  ]
  for (const [what, bytes, error, code] of fatal) {
    it(`${what}: ${error}, GoAway(${code}), connection closed`, async () => {
      const h = await connect()
      h.client.write(bytes())
      expect(await h.closed).to.equal(error)
      await h.socketClosed
      expect(goAwayCode(h.received())).to.equal(code)
      h.done()
    })
  }

  it('a 4 GiB Data frame is refused on its header, with no memory spent on it', async () => {
    const h = await connect()
    const before = heapMiB()
    const rssBefore = rssMiB()
    h.client.write(Buffer.concat([header(FrameType.WindowUpdate, Flag.SYN, 1, 0), header(FrameType.Data, 0, 1, 0xFFFF_FFFF), Buffer.alloc(1000)]))
    expect(await h.closed).to.equal('ReceiveWindowExceededError')
    await h.socketClosed
    expect(goAwayCode(h.received())).to.equal(GoAwayCode.ProtocolError)
    expect(heapMiB() - before).to.be.lessThan(4)
    expect(rssMiB() - rssBefore, 'RSS growth (MiB)').to.be.lessThan(80)
    h.done()
  })

  /** The peer pings; the session must answer: it is alive and reading. */
  async function answersPing (h: Harness, value: number): Promise<boolean> {
    h.client.write(header(FrameType.Ping, Flag.SYN, 0, value))
    for (let i = 0; i < 100; i++) {
      if (decodeAll(h.received()).some(f => f.type === FrameType.Ping && f.flags === Flag.ACK && f.length === value)) { return true }
      await sleep(10)
    }
    return false
  }

  it('a SYN flood past every limit: RSTs, the session stays up, memory bounded', async () => {
    const h = await connect({ maxInboundStreams: 100, acceptBacklog: 50 })
    const before = heapMiB()
    const rssBefore = rssMiB()
    const flood = Buffer.alloc(HEADER_LENGTH * 20000)
    for (let i = 0; i < 20000; i++) { flood.set(header(FrameType.WindowUpdate, Flag.SYN, 1 + 2 * i, 0), i * HEADER_LENGTH) }
    h.client.write(flood)
    expect(await answersPing(h, 77)).to.equal(true)
    expect(h.session.isClosed).to.equal(false)
    expect(h.session.numStreams).to.equal(50)
    const frames = decodeAll(h.received())
    expect(frames.filter(f => (f.flags & Flag.RST) !== 0)).to.have.length(20000 - 50)
    expect(heapMiB() - before).to.be.lessThan(16)
    expect(rssMiB() - rssBefore, 'RSS growth (MiB)').to.be.lessThan(128)
    h.done()
  })

  it('thousands of RSTs and frames for unknown streams are tolerated', async () => {
    const h = await connect()
    const frames: Uint8Array[] = []
    for (let i = 0; i < 5000; i++) { frames.push(header(FrameType.WindowUpdate, Flag.RST, 1001 + 2 * i, 0)) }
    frames.push(header(FrameType.Data, 0, 99, 5), Buffer.from('hello'))
    h.client.write(Buffer.concat(frames))
    expect(await answersPing(h, 78)).to.equal(true)
    expect(h.session.isClosed).to.equal(false)
    h.done()
  })

  it('a peer that stops reading and floods pings: memory bounded, then ConnectionWriteTimeoutError', async () => {
    const h = await connect({ connectionWriteTimeout: 1000 }, false)
    const before = heapMiB()
    const rssBefore = rssMiB()
    // we have a lot to say: 32 MiB on a stream the peer never reads
    const stream = await h.session.open()
    stream.on('error', () => {})
    stream.write(Buffer.alloc(32 * MiB))
    // the peer grants a window that large, then reads nothing
    h.client.write(header(FrameType.WindowUpdate, Flag.ACK, stream.id, 64 * MiB))
    const pings = Buffer.alloc(HEADER_LENGTH * 10_000)
    for (let i = 0; i < 10_000; i++) { pings.set(header(FrameType.Ping, Flag.SYN, 0, i), i * HEADER_LENGTH) }
    const flooding = (async () => {
      for (let i = 0; i < 200 && !h.session.isClosed; i++) {
        if (!h.client.write(pings)) { await new Promise(resolve => h.client.once('drain', resolve)) }
        await sleep(5)
      }
    })()
    expect(await h.closed).to.equal('ConnectionWriteTimeoutError')
    await flooding
    // the 32 MiB payload was ours; beyond it, pongs and queues stay small
    expect(heapMiB() - before).to.be.lessThan(16)
    expect(rssMiB() - rssBefore, 'RSS growth (MiB)').to.be.lessThan(128)
    h.done()
  })

  it('a peer sending one byte per packet still gets a full exchange', async () => {
    const h = await connect()
    h.client.setNoDelay(true)
    const accepted = h.session.accept()
    const bytes = Buffer.concat([
      header(FrameType.Data, Flag.SYN, 1, 5), Buffer.from('hello'),
      header(FrameType.WindowUpdate, Flag.FIN, 1, 0),
      header(FrameType.Ping, Flag.SYN, 0, 42)
    ])
    for (const byte of bytes) {
      h.client.write(Uint8Array.of(byte))
      await sleep(0)
    }
    const stream = await accepted
    const data: Buffer[] = []
    for await (const chunk of stream) { data.push(chunk) }
    expect(Buffer.concat(data).toString()).to.equal('hello')
    const pong = (): FrameHeader | undefined => decodeAll(h.received()).find(f => f.type === FrameType.Ping && f.flags === Flag.ACK)
    for (let i = 0; i < 500 && pong() === undefined; i++) { await sleep(10) }
    expect(pong()?.length).to.equal(42)
    h.done()
  })
})
