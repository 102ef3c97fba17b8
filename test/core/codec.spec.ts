import { expect } from 'aegir/chai'
import fc from 'fast-check'
import {
  FrameDecoder, FrameType, Flag, HEADER_LENGTH, InvalidMsgTypeError, InvalidVersionError,
  decodeHeader, encodeHeader
} from '../../src/core/index.ts'
import { concat } from '../fixtures/session-pair.ts'
import type { FrameHeader } from '../../src/core/index.ts'

const u32 = fc.integer({ min: 0, max: 0xFFFF_FFFF })
const headerArb = fc.record({
  type: fc.constantFrom(FrameType.Data, FrameType.WindowUpdate, FrameType.Ping, FrameType.GoAway),
  flags: fc.integer({ min: 0, max: 0xFFFF }),
  streamId: u32,
  length: u32
}) as fc.Arbitrary<FrameHeader>

interface Decoded { header: FrameHeader, payload: Uint8Array, pieces: number }

function decodeChunks (chunks: Uint8Array[]): Decoded[] {
  const out: Decoded[] = []
  let parts: Uint8Array[] = []
  const decoder = new FrameDecoder({
    onHeader () { parts = [] },
    onPayload (_h, piece) { parts.push(piece) },
    onFrameEnd (header) { out.push({ header, payload: concat(parts.map(p => p.slice())), pieces: parts.length }) }
  })
  for (const chunk of chunks) { decoder.push(chunk) }
  return out
}

function encodeFrame (header: FrameHeader, payload?: Uint8Array): Uint8Array {
  return concat([encodeHeader(header), payload ?? new Uint8Array(0)])
}

describe('frame codec', () => {
  it('encodes the header fields big-endian at fixed offsets', () => {
    const bytes = encodeHeader({ type: FrameType.WindowUpdate, flags: Flag.SYN | Flag.FIN, streamId: 0x01020304, length: 0xA0B0C0D0 })
    expect([...bytes]).to.deep.equal([0, 1, 0, 5, 1, 2, 3, 4, 0xA0, 0xB0, 0xC0, 0xD0])
  })

  it('round-trips any header (property)', () => {
    fc.assert(fc.property(headerArb, (header) => {
      expect(decodeHeader(encodeHeader(header))).to.deep.equal(header)
    }), { numRuns: 2000 })
  })

  it('rejects a version other than 0', () => {
    const bytes = encodeHeader({ type: FrameType.Ping, flags: 0, streamId: 0, length: 0 })
    bytes[0] = 1
    expect(() => decodeHeader(bytes)).to.throw(InvalidVersionError)
  })

  it('rejects an unknown frame type', () => {
    const bytes = encodeHeader({ type: FrameType.Ping, flags: 0, streamId: 0, length: 0 })
    bytes[1] = 4
    expect(() => decodeHeader(bytes)).to.throw(InvalidMsgTypeError)
  })

  it('decodes a frame sequence identically at every split point', () => {
    const frames = [
      encodeFrame({ type: FrameType.Data, flags: Flag.SYN, streamId: 1, length: 5 }, Uint8Array.of(1, 2, 3, 4, 5)),
      encodeFrame({ type: FrameType.WindowUpdate, flags: Flag.ACK, streamId: 2, length: 1000 }),
      encodeFrame({ type: FrameType.Data, flags: 0, streamId: 3, length: 0 }),
      encodeFrame({ type: FrameType.Ping, flags: Flag.SYN, streamId: 0, length: 7 }),
      encodeFrame({ type: FrameType.Data, flags: Flag.FIN, streamId: 1, length: 3 }, Uint8Array.of(9, 8, 7))
    ]
    const bytes = concat(frames)
    const whole = decodeChunks([bytes])
    expect(whole).to.have.length(5)
    for (let a = 0; a <= bytes.byteLength; a++) {
      for (let b = a; b <= bytes.byteLength; b++) {
        const split = decodeChunks([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)])
        expect(split.map(d => [d.header, [...d.payload]])).to.deep.equal(whole.map(d => [d.header, [...d.payload]]))
      }
    }
  })

  it('decodes random frames fed in random chunks (property)', () => {
    const frameArb = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 0xFFFF }), u32, fc.uint8Array({ maxLength: 300 }))
        .map(([flags, streamId, payload]) => ({ header: { type: FrameType.Data, flags, streamId, length: payload.byteLength } as FrameHeader, payload })),
      headerArb.filter(h => h.type !== FrameType.Data).map(header => ({ header, payload: new Uint8Array(0) }))
    )
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }), (frames, cuts) => {
      const bytes = concat(frames.map(f => encodeFrame(f.header, f.payload)))
      const chunks: Uint8Array[] = []
      for (let pos = 0, i = 0; pos < bytes.byteLength; i++) {
        const n = cuts[i % cuts.length]
        chunks.push(bytes.subarray(pos, pos + n))
        pos += n
      }
      const decoded = decodeChunks(chunks)
      expect(decoded.map(d => d.header)).to.deep.equal(frames.map(f => f.header))
      expect(decoded.map(d => [...d.payload])).to.deep.equal(frames.map(f => [...f.payload]))
    }), { numRuns: 500 })
  })

  it('hands payloads on as views of the input, without copying', () => {
    const payload = new Uint8Array(1000).fill(7)
    const bytes = encodeFrame({ type: FrameType.Data, flags: 0, streamId: 1, length: payload.byteLength }, payload)
    const pieces: Uint8Array[] = []
    new FrameDecoder({ onHeader () {}, onPayload (_h, p) { pieces.push(p) }, onFrameEnd () {} }).push(bytes)
    expect(pieces).to.have.length(1)
    expect(pieces[0].buffer).to.equal(bytes.buffer)
    expect(pieces[0].byteOffset).to.equal(bytes.byteOffset + HEADER_LENGTH)
  })

  it('says whether the frame goes on past each piece (a read that cut the frame)', () => {
    const payload = new Uint8Array(1000).fill(7)
    const bytes = concat([
      encodeFrame({ type: FrameType.Data, flags: 0, streamId: 1, length: payload.byteLength }, payload),
      encodeFrame({ type: FrameType.Data, flags: 0, streamId: 3, length: 10 }, payload.subarray(0, 10))
    ])
    const seen: Array<[number, number, boolean]> = []
    const decoder = new FrameDecoder({ onHeader () {}, onPayload (h, p, more) { seen.push([h.streamId, p.byteLength, more]) }, onFrameEnd () {} })
    // reads of 400, 700 and the rest: the first frame is cut twice, the second arrives whole
    decoder.push(bytes.subarray(0, 400))
    decoder.push(bytes.subarray(400, 1100))
    decoder.push(bytes.subarray(1100))
    expect(seen).to.deep.equal([[1, 388, true], [1, 612, false], [3, 10, false]])
  })

  it('validates a header before any of its payload arrives, and never buffers it', () => {
    const seen: FrameHeader[] = []
    const decoder = new FrameDecoder({
      onHeader (h) { seen.push(h); if (h.length > 1024) { throw new Error('too big') } },
      onPayload () { throw new Error('payload must not be delivered') },
      onFrameEnd () {}
    })
    // a 4 GiB frame is announced: only its header has been sent
    const header = encodeHeader({ type: FrameType.Data, flags: 0, streamId: 1, length: 0xFFFF_FFFF })
    expect(() => { decoder.push(header) }).to.throw('too big')
    expect(seen).to.have.length(1)
    expect(decoder.bufferedBytes).to.equal(0)
  })

  it('keeps at most 11 bytes of a split header', () => {
    const decoder = new FrameDecoder({ onHeader () {}, onPayload () {}, onFrameEnd () {} })
    const bytes = encodeHeader({ type: FrameType.Ping, flags: Flag.SYN, streamId: 0, length: 1 })
    for (let i = 0; i < HEADER_LENGTH - 1; i++) {
      decoder.push(bytes.subarray(i, i + 1))
      expect(decoder.bufferedBytes).to.equal(i + 1)
    }
    decoder.push(bytes.subarray(HEADER_LENGTH - 1))
    expect(decoder.bufferedBytes).to.equal(0)
    expect(decoder.midFrame).to.equal(false)
  })
})
