import { expect } from 'aegir/chai'
import { soak } from './workload.ts'

describe('soak: mixed workload on one connection (CI-sized; `npm run soak` for minutes)', function () {
  this.timeout(120_000)

  it('runs opens, echoes, resets, half-closes and pings, then releases everything', async () => {
    const result = await soak(Number(process.env.SOAK_SECONDS ?? 8))
    expect(result.failures).to.deep.equal([])
    expect(result.streams).to.be.greaterThan(200)
    expect(result.resets).to.be.greaterThan(10)
    expect(result.pings).to.be.greaterThan(10)
    expect(result.leftover).to.deep.equal({ dialerStreams: 0, listenerStreams: 0, timers: 0 })
    // heap returns to its baseline (within 8 MiB of noise)
    expect(result.heapAfterMiB - result.heapBeforeMiB).to.be.lessThan(8)
  })
})
