/*
 * What the libp2p v3 stream holds of received payload, and what it hands on:
 * data dispatched at once to 'message' listeners is the transport's own
 * memory (no copy); data a stream keeps (paused, no listener yet, an
 * iterator behind) never pins a transport chunk much larger than itself.
 */
import { expect } from 'aegir/chai'
import { Flag, FrameType } from '../../src/core/index.ts'
import { yamux } from '../../src/index.ts'
import { directPair } from '../fixtures/direct-pair.ts'
import { frame } from '../fixtures/raw-peer.ts'
import { until } from './helpers.ts'
import type { DirectConnection } from '../fixtures/direct-pair.ts'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

const KiB = 1024
const SMALL = KiB
const ROUNDS = 50
/** Streams that take the large frames in turn, each within its 256 KiB window. */
const LARGE_STREAMS = 13

/** Chunk `i`: a small frame for stream 1, then a large one for one of the other streams. */
function chunk (i: number): Uint8Array {
  return new Uint8Array([
    ...frame(FrameType.Data, 0, 1, SMALL, new Uint8Array(SMALL).fill(i)),
    ...frame(FrameType.Data, 0, 3 + 2 * (i % LARGE_STREAMS), 60 * KiB, new Uint8Array(60 * KiB))
  ])
}

function setup (): { conn: DirectConnection, inbound: Stream[], stop(): void } {
  const [, conn] = directPair() as [DirectConnection, DirectConnection]
  const muxer = yamux({ enableKeepAlive: false })().createStreamMuxer(conn)
  const inbound: Stream[] = []
  muxer.addEventListener('stream', (evt) => { inbound.push(evt.detail) })
  for (let id = 1; id <= 1 + 2 * LARGE_STREAMS; id += 2) { conn.onData(frame(FrameType.WindowUpdate, Flag.SYN, id, 0)) }
  return { conn, inbound, stop: () => { muxer.abort(new Error('test over')) } }
}

function pieces (data: Uint8Array | Uint8ArrayList): Uint8Array[] {
  return data instanceof Uint8Array ? [data] : [...data]
}

describe('libp2p v3: received payload, held and handed on', () => {
  it('a message listener gets small frames as views of the transport chunk: nothing is copied', async () => {
    const { conn, inbound, stop } = setup()
    try {
      await until(() => inbound.length === 1 + LARGE_STREAMS)
      const got: Uint8Array[] = []
      inbound[0].addEventListener('message', (evt) => { got.push(...pieces(evt.data)) })
      for (const stream of inbound.slice(1)) { stream.addEventListener('message', () => {}) }
      const sent: Uint8Array[] = []
      for (let i = 0; i < ROUNDS; i++) {
        const read = chunk(i)
        sent.push(read)
        conn.onData(read)
      }
      await until(() => got.length === ROUNDS)
      got.forEach((piece, i) => {
        expect(piece.byteLength).to.equal(SMALL)
        expect(piece.buffer).to.equal(sent[i].buffer)
      })
    } finally {
      stop()
    }
  })

  it('a stream nobody reads yet keeps copies of small frames, not the 61 KiB chunks they came in; all of it reads back', async () => {
    const { conn, inbound, stop } = setup()
    try {
      await until(() => inbound.length === 1 + LARGE_STREAMS)
      for (const stream of inbound.slice(1)) { stream.addEventListener('message', () => {}) }
      for (let i = 0; i < ROUNDS; i++) { conn.onData(chunk(i)) }
      await until(() => inbound[0].readBufferLength === ROUNDS * SMALL)
      const got: Uint8Array[] = []
      inbound[0].addEventListener('message', (evt) => { got.push(...pieces(evt.data)) })
      await until(() => got.reduce((n, p) => n + p.byteLength, 0) === ROUNDS * SMALL)
      for (const piece of got) {
        // a copy (or a slab of packed copies), never a view of a 61 KiB chunk
        expect(piece.buffer.byteLength).to.be.at.most(4 * piece.byteLength)
      }
      const all = new Uint8Array(got.reduce((n, p) => n + p.byteLength, 0))
      let at = 0
      for (const piece of got) { all.set(piece, at); at += piece.byteLength }
      for (let i = 0; i < ROUNDS; i++) {
        expect(all.subarray(i * SMALL, (i + 1) * SMALL).every(b => b === i)).to.equal(true)
      }
    } finally {
      stop()
    }
  })
})
