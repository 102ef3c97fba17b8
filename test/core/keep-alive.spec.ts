/* Ping state (src/core/keep-alive.ts): ids, one ping in flight, smoothed RTT, who may end the session. */
import { expect } from 'aegir/chai'
import { PingState } from '../../src/core/keep-alive.ts'

describe('ping state', () => {
  it('one ping in flight: callers join it, stale and unsolicited pongs are ignored, RTT is smoothed', () => {
    const pings = new PingState()
    expect(pings.srtt).to.equal(-1) // nothing measured yet
    const results: number[] = []
    const id = pings.start(0, false, (_e, rtt) => results.push(rtt))
    expect(id).to.equal(1)
    expect(pings.start(5, false, (_e, rtt) => results.push(rtt))).to.equal(-1)
    pings.pong(99, 10) // not ours
    expect(results).to.deep.equal([])
    expect(pings.firstSettled).to.equal(false)
    pings.pong(1, 40)
    expect(pings.firstSettled).to.equal(true)
    expect(results).to.deep.equal([40, 40])
    expect(pings.srtt).to.equal(40)
    pings.pong(1, 50) // late duplicate
    expect(results).to.have.length(2)
    expect(pings.start(100, false)).to.equal(2)
    pings.pong(2, 108)
    expect(pings.srtt).to.equal((40 * 7 + 8) / 8)
  })

  it('only a ping keep-alive sent or joined ends the session when it times out', () => {
    const pings = new PingState()
    let error: Error | undefined
    pings.start(0, false, (err) => { error = err })
    expect(pings.deadline(500)).to.equal(500)
    expect(pings.firstSettled).to.equal(false)
    expect(pings.expire()).to.equal(false)
    expect(error?.name).to.equal('TimeoutError')
    expect(pings.firstSettled).to.equal(true) // failed: growth need not wait for it
    expect(pings.srtt).to.equal(-1)
    expect(pings.deadline(500)).to.equal(Infinity)
    pings.start(600, false)
    pings.start(700, true) // keep-alive joins the user's ping
    expect(pings.expire()).to.equal(true)
  })

  it('keep-alive pings only a peer it has not heard from since the last tick', () => {
    const pings = new PingState()
    pings.heardFromPeer = true
    expect(pings.tick(1000, 1000)).to.equal(false)
    expect(pings.nextKeepAliveAt).to.equal(2000)
    expect(pings.tick(2000, 1000)).to.equal(true)
  })
})
