/**
 * The queue every adapter holds received data in: boundaries kept while few
 * chunks wait, small chunks packed past that, so the objects it holds follow
 * the bytes, not the number of chunks. Also runs in Chromium.
 */
import { expect } from 'aegir/chai'
import { Uint8ArrayList } from 'uint8arraylist'
import { ChunkQueue, PACK_BELOW } from '../src/chunk-queue.ts'

function drain<T extends Uint8Array | Uint8ArrayList> (queue: ChunkQueue<T>): T[] {
  const out: T[] = []
  for (let chunk = queue.shift(); chunk !== undefined; chunk = queue.shift()) { out.push(chunk) }
  return out
}

function bytesOf (chunks: Array<Uint8Array | Uint8ArrayList>): number[] {
  return [...new Uint8ArrayList(...chunks).subarray()]
}

describe('ChunkQueue', () => {
  it('keeps the first chunks as they arrived, by reference', () => {
    const queue = new ChunkQueue(4)
    const chunks = [Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(4, 5, 6)]
    for (const chunk of chunks) { queue.append(chunk) }
    expect(queue.bytes).to.equal(6)
    const out = drain(queue)
    expect(out).to.have.length(3)
    out.forEach((chunk, i) => { expect(chunk).to.equal(chunks[i]) })
    expect(queue.bytes).to.equal(0)
    expect(queue.objects).to.equal(0)
  })

  it('packs 100,000 one-byte chunks past the kept ones into a few objects, bytes in order', () => {
    const queue = new ChunkQueue(64)
    const expected: number[] = []
    for (let i = 0; i < 100_000; i++) {
      queue.append(Uint8Array.of(i % 251))
      expected.push(i % 251)
    }
    expect(queue.bytes).to.equal(100_000)
    // 64 kept, then slabs of 256 B doubling to 64 KiB
    expect(queue.objects).to.be.lessThan(64 + 12)
    const out = drain(queue)
    expect(out.slice(0, 64).every(chunk => chunk.byteLength === 1)).to.equal(true)
    expect(bytesOf(out)).to.deep.equal(expected)
    expect(queue.bytes).to.equal(0)
  })

  it('never copies a large chunk, and keeps order around it', () => {
    const queue = new ChunkQueue(0)
    const large = new Uint8Array(PACK_BELOW).fill(7)
    queue.append(Uint8Array.of(1))
    queue.append(Uint8Array.of(2))
    queue.append(large)
    queue.append(Uint8Array.of(3))
    const out = drain(queue)
    expect(out).to.have.length(3)
    expect([...out[0]]).to.deep.equal([1, 2])
    expect(out[1]).to.equal(large)
    expect([...out[2]]).to.deep.equal([3])
  })

  it('small and large chunks alternating: objects stay within one per large chunk (plus slabs)', () => {
    const queue = new ChunkQueue(0)
    for (let i = 0; i < 1000; i++) {
      queue.append(Uint8Array.of(i & 0xff))
      queue.append(new Uint8Array(PACK_BELOW))
    }
    expect(queue.objects).to.be.at.most(2000)
    expect(queue.bytes).to.equal(1000 * (PACK_BELOW + 1))
    // a mostly empty slab is trimmed when it closes: one byte held for one byte
    const first = queue.shift()
    expect(first?.byteLength).to.equal(1)
    expect(first?.buffer.byteLength).to.equal(1)
  })

  it('a handed-out packed chunk is never written again', () => {
    const queue = new ChunkQueue(0)
    queue.append(Uint8Array.of(1))
    const taken = queue.shift()
    queue.append(Uint8Array.of(2))
    expect([...(taken ?? [])]).to.deep.equal([1])
    expect([...(queue.shift() ?? [])]).to.deep.equal([2])
  })

  it('unshift puts chunks in front of packed ones; takeAll returns everything in order', () => {
    const queue = new ChunkQueue<Uint8Array | Uint8ArrayList>(1)
    queue.append(Uint8Array.of(2))
    queue.append(Uint8Array.of(3))
    queue.append(new Uint8ArrayList(Uint8Array.of(4), Uint8Array.of(5)))
    queue.unshift(Uint8Array.of(1))
    expect(queue.bytes).to.equal(5)
    expect(bytesOf(queue.takeAll())).to.deep.equal([1, 2, 3, 4, 5])
    expect(queue.bytes).to.equal(0)
    expect(queue.shift()).to.equal(undefined)
  })

  it('ignores empty chunks', () => {
    const queue = new ChunkQueue(0)
    queue.append(new Uint8Array(0))
    queue.unshift(new Uint8Array(0))
    expect(queue.objects).to.equal(0)
    expect(queue.shift()).to.equal(undefined)
  })
})
