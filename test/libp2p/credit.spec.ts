/**
 * Window credit in the libp2p adapter: every path that consumes or
 * discards received data returns its credit exactly once (closeRead,
 * iterator break, unshift/push put-back), so the peer is neither stalled nor
 * granted more than the window; and when a busy stream's window first grows.
 */
import { expect } from 'aegir/chai'
import { Uint8ArrayList } from 'uint8arraylist'
import { Flag, FrameType, MIN_BUSY_STREAM_WINDOW } from '../../src/core/index.ts'
import { yamux } from '../../src/index.ts'
import { directPair } from '../fixtures/direct-pair.ts'
import { decodeAll, frame } from '../fixtures/raw-peer.ts'
import { coreRecord, muxers, pattern, patternByte, sendAll, settle, until, within } from './helpers.ts'
import type { WireFrame } from '../fixtures/raw-peer.ts'
import type { Stream } from '@libp2p/interface'

const WINDOW = 256 * 1024

/** Checks `chunk` is the pattern from `at`; returns the next position. */
function verify (chunk: Uint8Array | Uint8ArrayList, at: number): number {
  const bytes = chunk.subarray()
  for (let i = 0; i < bytes.byteLength; i++) {
    if (bytes[i] !== patternByte(at + i)) { throw new Error(`byte ${at + i} is ${bytes[i]}, expected ${patternByte(at + i)}`) }
  }
  return at + bytes.byteLength
}

async function openPair (): Promise<ReturnType<typeof muxers> & { stream: Stream, reader: Stream }> {
  const pair = muxers()
  const stream = await pair.dialer.createStream()
  stream.send(pattern(0, 1))
  await until(() => pair.inbound.length === 1)
  return { ...pair, stream, reader: pair.inbound[0] }
}

describe('libp2p stream: window credit ledger', function () {
  this.timeout(20_000)

  it('closeRead() with a full window buffered returns its credit: the sender goes on and closes', async () => {
    const { listener, stream, reader } = await openPair()
    // no 'message' listener: everything stays buffered until the window is spent
    const filling = sendAll(stream, WINDOW - 1, 64 * 1024, (at, n) => pattern(at + 1, n))
    await until(() => reader.readBufferLength === WINDOW)
    await within(filling, 5000, 'filling the window')
    await reader.closeRead()
    // all credit is back: the peer may send a whole window (auto-tuning may have grown it)
    const record = coreRecord(listener, reader)
    expect(record?.recvAvailable).to.equal(record?.recvWindow)
    await within(sendAll(stream, 4 * WINDOW), 5000, 'sending after closeRead')
    await within(stream.close(), 5000, 'close after closeRead')
    await until(() => reader.remoteWriteStatus === 'closed')
  })

  it('breaking out of for await keeps the chunks not yet yielded for the next reader: reading on gets every byte', async () => {
    const { stream, reader } = await openPair()
    const total = 4 * WINDOW
    const sending = sendAll(stream, total - 1, 16 * 1024, (at, n) => pattern(at + 1, n)).then(async () => { await stream.close() })
    let at = 0
    // eslint-disable-next-line no-unreachable-loop -- leaving after one chunk is the behaviour under test
    for await (const chunk of reader) {
      at = verify(chunk, at)
      // let the peer fill the window behind this chunk, then leave
      await settle(50)
      break
    }
    expect(at).to.be.lessThan(total)
    await within((async () => {
      for await (const chunk of reader) { at = verify(chunk, at) }
    })(), 5000, 'reading on after break')
    expect(at).to.equal(total)
    await within(sending, 5000, 'sender')
  })

  it('breaking out of for await beside a message listener drops the chunks and returns their credit', async () => {
    const { stream, reader } = await openPair()
    const total = 4 * WINDOW
    let heard = 0
    reader.addEventListener('message', (evt) => { heard = verify(evt.data, heard) })
    const sending = sendAll(stream, total - 1, 16 * 1024, (at, n) => pattern(at + 1, n)).then(async () => { await stream.close() })
    // eslint-disable-next-line no-unreachable-loop -- leaving after one chunk is the behaviour under test
    for await (const chunk of reader) {
      verify(chunk, 0)
      await settle(50)
      break
    }
    await within(sending, 5000, 'sender after break')
    await until(() => heard === total)
  })

  for (const how of ['unshift', 'push'] as const) {
    it(`bytes put back with ${how}() are credited once: the peer is never granted more than the window`, async () => {
      const { dialer, listener, stream, reader } = await openPair()
      await within(sendAll(stream, 100 * 1024 - 1, 16 * 1024, (at, n) => pattern(at + 1, n)), 5000, 'sending')
      // read and put everything back, as byteStream's unwrap() does, over and over
      for (let round = 0; round < 8; round++) {
        const taken = new Uint8ArrayList()
        const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }): void => { taken.append(evt.data) }
        reader.addEventListener('message', onMessage)
        await settle(5)
        reader.removeEventListener('message', onMessage)
        expect(taken.byteLength).to.equal(100 * 1024)
        reader[how](taken)
        await settle(5)
        const receiving = coreRecord(listener, reader)
        const sending = coreRecord(dialer, stream)
        if (receiving === undefined || sending === undefined) { throw new Error('stream gone') }
        // the app took these bytes once: the peer may send one window more, not more
        expect(sending.sendWindow).to.be.at.most(receiving.recvWindow)
        expect(receiving.recvAvailable).to.be.at.most(receiving.recvWindow)
      }
      // the put-back bytes are still there, once, in order
      const all = new Uint8ArrayList()
      reader.addEventListener('message', (evt) => { all.append(evt.data) })
      await until(() => all.byteLength === 100 * 1024)
      expect(verify(all, 0)).to.equal(100 * 1024)
    })
  }
})

describe('libp2p stream: window growth before the first pong', function () {
  this.timeout(20_000)

  /**
   * A muxer facing a scripted peer that opens stream 1 with half a window
   * of data and never answers the muxer's start-up ping; returns the
   * frames the muxer wrote once it granted credit on stream 1.
   */
  async function grantBeforePong (init: { growAfterFirstPing?: boolean }): Promise<WireFrame[]> {
    const [peer, conn] = directPair()
    const wire = new Uint8ArrayList()
    peer.addEventListener('message', (evt) => { wire.append(evt.data) })
    const muxer = yamux({ enableKeepAlive: false, ...init })().createStreamMuxer(conn)
    let read = 0
    muxer.addEventListener('stream', (evt) => {
      evt.detail.addEventListener('message', (m) => { read += m.data.byteLength })
    })
    peer.send(frame(FrameType.Data, Flag.SYN, 1, WINDOW / 2, pattern(0, WINDOW / 2)))
    const credited = (): WireFrame[] => decodeAll(wire.subarray()).filter(f => f.type === FrameType.WindowUpdate && f.streamId === 1 && f.length > 0)
    await until(() => read === WINDOW / 2 && credited().length > 0)
    const frames = decodeAll(wire.subarray())
    muxer.abort(new Error('done'))
    return frames
  }

  it('by default the first update makes a busy stream\'s jump, the ping still unanswered (the upgrade crossed the connection)', async () => {
    const frames = await grantBeforePong({})
    expect(frames.filter(f => f.type === FrameType.Ping && (f.flags & Flag.ACK) === 0)).to.have.length(1)
    const credit = frames.filter(f => f.type === FrameType.WindowUpdate && f.streamId === 1).reduce((sum, f) => sum + f.length, 0)
    expect(credit).to.equal(WINDOW / 2 + MIN_BUSY_STREAM_WINDOW - WINDOW)
  })

  it('growAfterFirstPing: true returns credit only until the pong', async () => {
    const frames = await grantBeforePong({ growAfterFirstPing: true })
    const credit = frames.filter(f => f.type === FrameType.WindowUpdate && f.streamId === 1).reduce((sum, f) => sum + f.length, 0)
    expect(credit).to.equal(WINDOW / 2)
  })

  it('rejects a growAfterFirstPing that is not a boolean', () => {
    expect(() => yamux({ growAfterFirstPing: 1 as unknown as boolean })).to.throw().with.property('name', 'InvalidParametersError')
  })
})
