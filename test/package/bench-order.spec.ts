/**
 * The benchmark's run order is balanced: over a full period every contender
 * runs once in each position and directly after each other contender
 * equally often, so no pair's ratio is biased by a fixed neighbour.
 */
import { expect } from 'aegir/chai'
import { roundOrder } from '../../benchmarks/harness.ts'

function periodOf (n: number): number {
  return n % 2 === 0 ? n : 2 * n
}

describe('benchmark round order', () => {
  for (let n = 1; n <= 7; n++) {
    it(`${n} contenders: every round is a permutation, positions and neighbours balanced`, () => {
      const items = Array.from({ length: n }, (_, i) => i)
      const period = periodOf(n)
      const position = items.map(() => new Array<number>(n).fill(0))
      const after = items.map(() => new Array<number>(n).fill(0))
      for (let round = 0; round < period; round++) {
        const order = roundOrder(items, round)
        expect([...order].sort((a, b) => a - b)).to.deep.equal(items)
        order.forEach((item, i) => { position[item][i]++ })
        for (let i = 1; i < n; i++) { after[order[i - 1]][order[i]]++ }
      }
      const perPosition = period / n
      for (const counts of position) { expect(counts).to.deep.equal(new Array(n).fill(perPosition)) }
      const perPair = period / n === 1 ? 1 : 2
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          expect(after[a][b], `${b} after ${a}`).to.equal(a === b || n === 1 ? 0 : perPair)
        }
      }
    })
  }

  it('repeats with its period, for any round number', () => {
    const items = ['a', 'b', 'c', 'd', 'e']
    expect(roundOrder(items, 3)).to.deep.equal(roundOrder(items, 13))
    expect(roundOrder(items, 0)).to.not.deep.equal(roundOrder(items, 5))
  })

  it('a plain rotation would not be balanced (the order this replaced)', () => {
    const items = [0, 1, 2, 3]
    const rotation = (round: number): number[] => items.map((_, i) => items[(i + round) % items.length])
    const pairs = new Set<string>()
    for (let round = 0; round < 4; round++) {
      const order = rotation(round)
      for (let i = 1; i < 4; i++) { pairs.add(`${order[i - 1]}>${order[i]}`) }
    }
    // 12 ordered pairs exist; a rotation only ever produces 4 of them
    expect(pairs.size).to.equal(4)
    const balanced = new Set<string>()
    for (let round = 0; round < 4; round++) {
      const order = roundOrder(items, round)
      for (let i = 1; i < 4; i++) { balanced.add(`${order[i - 1]}>${order[i]}`) }
    }
    expect(balanced.size).to.equal(12)
  })
})
