/**
 * A peer sends 200,000 one-byte Data frames (within the window) to a stream
 * nobody reads, through each adapter that buffers received data: libp2p v3,
 * libp2p v2, the Node.js API and the yamux-js API. The heap held must follow
 * the bytes (a small multiple of 200 kB), not the frame count (an object per
 * frame was ~130+ bytes each); then the application reads everything: every
 * byte arrives once, in order, and all of it is credited back.
 */
import net from 'node:net'
import { expect } from 'aegir/chai'
import { Uint8ArrayList } from 'uint8arraylist'
import { Flag, FrameType, HEADER_LENGTH, encodeHeaderInto } from '../../src/core/index.ts'
import { yamux } from '../../src/index.ts'
import { Server } from '../../src/node/index.ts'
import { yamux as yamuxV2 } from '../../src/v2/index.ts'
import { Server as JsServer } from '../../src/yamux-js/index.ts'
import { directPair } from '../fixtures/direct-pair.ts'
import { decodeAll } from '../fixtures/raw-peer.ts'
import { gc } from '../soak/workload.ts'
import type { Session } from '../../src/core/session.ts'
import type { DirectConnection } from '../fixtures/direct-pair.ts'
import type { Stream } from '@libp2p/interface'
import type { Stream as StreamV2 } from '@libp2p/interface-v2'

const FRAMES = 200_000
const STREAM = 1
/** The most heap an unread stream may hold for 200,000 bytes (was > 25 MB). */
const HEAP_LIMIT = 2 * 1024 * 1024
/** What a transport read hands the session at a time. */
const READ = 64 * 1024

function byteAt (i: number): number {
  return (i * 7 + 3) % 251
}

/** SYN for stream 1, then FRAMES one-byte Data frames, then a Ping (its answer says all was read). */
function flood (): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH * (FRAMES + 2) + FRAMES)
  encodeHeaderInto(out, 0, FrameType.WindowUpdate, Flag.SYN, STREAM, 0)
  let at = HEADER_LENGTH
  for (let i = 0; i < FRAMES; i++) {
    encodeHeaderInto(out, at, FrameType.Data, 0, STREAM, 1)
    at += HEADER_LENGTH
    out[at++] = byteAt(i)
  }
  encodeHeaderInto(out, at, FrameType.Ping, Flag.SYN, 0, 99)
  return out
}

function reads (bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.byteLength; at += READ) { out.push(bytes.subarray(at, at + READ)) }
  return out
}

/** JS heap plus memory outside it (array buffers), after a full collection. */
function heldBytes (): number {
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

/** Counts the credit the adapter returns to the core for stream 1. */
function creditSpy (core: Session): { total: number } {
  const spy = { total: 0 }
  const consume = core.consume.bind(core)
  core.consume = (id: number, bytes: number) => {
    if (id === STREAM) { spy.total += bytes }
    consume(id, bytes)
  }
  return spy
}

function expectPattern (chunks: Uint8Array[]): void {
  const all = new Uint8ArrayList(...chunks).subarray()
  expect(all.byteLength).to.equal(FRAMES)
  for (let i = 0; i < FRAMES; i++) {
    if (all[i] !== byteAt(i)) { expect.fail(`byte ${i} is ${all[i]}, expected ${byteAt(i)}`) }
  }
}

function windowUpdates (wire: Uint8Array): number {
  return decodeAll(wire).filter(f => f.type === FrameType.WindowUpdate && f.streamId === STREAM)
    .reduce((sum, f) => sum + f.length, 0)
}

function pongs (wire: Uint8Array): number {
  return decodeAll(wire).filter(f => f.type === FrameType.Ping && (f.flags & Flag.ACK) !== 0).length
}

async function until (condition: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) { throw new Error('condition not met in time') }
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

interface TcpPeer {
  client: net.Socket
  serverSocket: net.Socket
  wire(): Uint8Array
  done(): void
}

/** Reads every flooded byte back from a libp2p stream: in order, all credited, and a window update went out. */
async function readBack (source: AsyncIterable<Uint8Array | Uint8ArrayList>, credit: { total: number }, wire: Uint8ArrayList): Promise<void> {
  const chunks: Uint8Array[] = []
  let got = 0
  for await (const chunk of source) {
    chunks.push(chunk.subarray())
    got += chunk.byteLength
    if (got >= FRAMES) { break }
  }
  expectPattern(chunks)
  expect(credit.total).to.equal(FRAMES)
  await until(() => windowUpdates(wire.subarray()) > 0)
}

async function tcpPeer (): Promise<TcpPeer> {
  const listener = net.createServer()
  await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<net.Socket>(resolve => listener.once('connection', resolve))
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1')
  client.on('error', () => {})
  const serverSocket = await accepted
  const received: Buffer[] = []
  client.on('data', (d: Buffer) => received.push(d))
  return {
    client,
    serverSocket,
    wire: () => Buffer.concat(received),
    done: () => { client.destroy(); serverSocket.destroy(); listener.close() }
  }
}

describe('a flood of one-byte frames to an unread stream', function () {
  this.timeout(60_000)
  let bytes: Uint8Array
  /** Closes what a test opened, even if it failed (an open socket would keep mocha alive). */
  let cleanups: Array<() => unknown> = []

  before(() => { bytes = flood() })

  afterEach(async () => {
    const run = cleanups
    cleanups = []
    for (const cleanup of run.reverse()) { await cleanup() }
  })

  it('libp2p v3: heap follows the bytes; all read back, in order, all credited', async () => {
    const [raw, conn] = directPair() as [DirectConnection, DirectConnection]
    const wire = new Uint8ArrayList()
    raw.addEventListener('message', (evt) => { wire.append(evt.data) })
    const muxer = yamux({ enableKeepAlive: false })().createStreamMuxer(conn)
    cleanups.push(() => { muxer.abort(new Error('test over')) })
    const inbound: Stream[] = []
    muxer.addEventListener('stream', (evt) => { inbound.push(evt.detail) })
    const credit = creditSpy((muxer as any).session)
    const before = heldBytes()
    for (const read of reads(bytes)) { conn.onData(read) }
    await until(() => pongs(wire.subarray()) === 1)
    const held = heldBytes() - before
    expect(inbound).to.have.length(1)
    const stream = inbound[0]
    expect(stream.readBufferLength).to.equal(FRAMES)
    expect(held, `heap held for ${FRAMES} bytes`).to.be.lessThan(HEAP_LIMIT)

    await readBack(stream, credit, wire)
  })

  it('libp2p v2: heap follows the bytes; all read back, in order, all credited', async () => {
    const inbound: StreamV2[] = []
    const muxer = yamuxV2({ enableKeepAlive: false })().createStreamMuxer({
      direction: 'inbound',
      onIncomingStream: (stream) => { inbound.push(stream) }
    })
    cleanups.push(() => { muxer.abort(new Error('test over')) })
    const credit = creditSpy(muxer.session)
    const wire = new Uint8ArrayList()
    void (async () => { for await (const chunk of muxer.source) { wire.append(chunk) } })()
    let endInput = (): void => {}
    const inputEnded = new Promise<void>(resolve => { endInput = resolve })
    cleanups.push(() => { endInput() })
    const input = reads(bytes)
    const before = heldBytes()
    void muxer.sink((async function * () {
      yield * input
      await inputEnded
    })())
    await until(() => pongs(wire.subarray()) === 1)
    input.length = 0
    const held = heldBytes() - before
    expect(inbound).to.have.length(1)
    expect(held, `heap held for ${FRAMES} bytes`).to.be.lessThan(HEAP_LIMIT)

    await readBack(inbound[0].source, credit, wire)
  })

  it('Node.js API over TCP: heap follows the bytes; all read back, in order, all credited', async () => {
    const peer = await tcpPeer()
    cleanups.push(() => { peer.done() })
    const session = Server(peer.serverSocket, { enableKeepAlive: false })
    const credit = creditSpy((session as any).core)
    const accepted = session.accept()
    const before = heldBytes()
    peer.client.write(bytes)
    await until(() => pongs(peer.wire()) === 1)
    const held = heldBytes() - before
    const stream = await accepted
    stream.on('error', () => {})
    expect(held, `heap held for ${FRAMES} bytes`).to.be.lessThan(HEAP_LIMIT)

    const chunks: Uint8Array[] = []
    let got = 0
    stream.on('data', (chunk: Buffer) => { chunks.push(chunk); got += chunk.byteLength })
    await until(() => got >= FRAMES)
    expectPattern(chunks)
    await until(() => credit.total === FRAMES)
    await until(() => windowUpdates(peer.wire()) > 0)
  })

  /** A paused-mode reader takes tiny frames that keep arriving in pieces while it reads. */
  async function pausedReader (consumer: 'for await' | "'readable' and read()"): Promise<void> {
    const peer = await tcpPeer()
    cleanups.push(() => { peer.done() })
    const session = Server(peer.serverSocket, { enableKeepAlive: false })
    const credit = creditSpy((session as any).core)
    const accepted = session.accept()
    const fin = new Uint8Array(HEADER_LENGTH)
    encodeHeaderInto(fin, 0, FrameType.WindowUpdate, Flag.FIN, STREAM, 0)
    const sending = (async () => {
      // in pieces, with turns of the event loop between: frames keep
      // arriving while the reader holds data, takes it and waits again
      for (const read of reads(bytes)) {
        peer.client.write(read)
        await new Promise(resolve => setTimeout(resolve, 0))
      }
      peer.client.write(fin)
    })()
    const stream = await accepted
    stream.on('error', () => {})
    const chunks: Uint8Array[] = []
    if (consumer === 'for await') {
      for await (const chunk of stream) { chunks.push(chunk) }
    } else {
      await new Promise<void>((resolve, reject) => {
        stream.on('readable', () => {
          for (let chunk = stream.read(); chunk !== null; chunk = stream.read()) { chunks.push(chunk) }
        })
        stream.once('end', resolve)
        stream.once('error', reject)
      })
    }
    await sending
    expectPattern(chunks)
    expect(credit.total).to.be.at.most(FRAMES)
  }

  for (const consumer of ['for await', "'readable' and read()"] as const) {
    it(`Node.js API: tiny frames arriving while a paused-mode reader (${consumer}) reads all come through, then the end`, async () => {
      await pausedReader(consumer)
    })
  }

  it('yamux-js API over TCP: heap follows the bytes; all read back, in order, all credited', async () => {
    const peer = await tcpPeer()
    cleanups.push(() => { peer.done() })
    const streams: Array<import('node:stream').Duplex> = []
    const session = new JsServer((stream) => { stream.on('error', () => {}); streams.push(stream) }, { enableKeepAlive: false })
    session.on('error', () => {})
    cleanups.push(() => { session.destroy() })
    session.pipe(peer.serverSocket).pipe(session)
    const credit = creditSpy((session as any).session.core)
    const before = heldBytes()
    peer.client.write(bytes)
    await until(() => pongs(peer.wire()) === 1 && streams.length === 1)
    const held = heldBytes() - before
    expect(held, `heap held for ${FRAMES} bytes`).to.be.lessThan(HEAP_LIMIT)

    const chunks: Uint8Array[] = []
    let got = 0
    streams[0].on('data', (chunk: Buffer) => { chunks.push(chunk); got += chunk.byteLength })
    await until(() => got >= FRAMES)
    expectPattern(chunks)
    await until(() => credit.total === FRAMES)
    await until(() => windowUpdates(peer.wire()) > 0)
  })
})
