/* Reading a Uint8ArrayList's buffers without its generator iterator (src/list-pieces.ts). */
import { expect } from 'aegir/chai'
import { Uint8ArrayList } from 'uint8arraylist'
import { listPieces } from '../src/list-pieces.ts'

describe('listPieces', () => {
  it('gives the buffers of a list, the same ones and in order, as iterating it would', () => {
    const a = Uint8Array.of(1, 2)
    const b = Uint8Array.of(3)
    const c = new Uint8Array(0)
    const list = new Uint8ArrayList(a, b)
    list.append(c)
    const pieces = listPieces(list)
    expect(pieces).to.deep.equal([...list])
    expect(pieces[0]).to.equal(a)
    expect(pieces[1]).to.equal(b)
  })

  it('falls back to iterating a list that keeps its buffers some other way', () => {
    const a = Uint8Array.of(4)
    const b = Uint8Array.of(5, 6)
    const listLike = { * [Symbol.iterator] () { yield a; yield b } }
    expect(listPieces(listLike as unknown as Uint8ArrayList)).to.deep.equal([a, b])
  })
})
