/**
 * The event-loop environment the adapters give the core, called the way the
 * core calls it (as methods of the environment object). Browsers throw
 * "Illegal invocation" for host functions called that way if stored bare;
 * this spec also runs in Chromium (npm run test:browser).
 */
import { expect } from 'aegir/chai'
import { environment } from '../src/environment.ts'
import { activeTimers } from '../src/index.ts'

describe('environment: host functions called as env.fn()', () => {
  it('defer runs the task after the current synchronous work, before later microtasks', async () => {
    const order: string[] = []
    environment.defer(() => { order.push('deferred') })
    order.push('sync')
    await Promise.resolve()
    expect(order).to.deep.equal(['sync', 'deferred'])
  })

  it('now is a clock that moves forward', async () => {
    const before = environment.now()
    await new Promise(resolve => setTimeout(resolve, 5))
    expect(before).to.be.a('number')
    expect(environment.now()).to.be.greaterThan(before)
  })

  it('setTimer fires once, clearTimer cancels, and both keep the live-timer count', async () => {
    const baseline = activeTimers()
    const fired: string[] = []
    environment.setTimer(() => { fired.push('kept') }, 1)
    const cancelled = environment.setTimer(() => { fired.push('cancelled') }, 1)
    expect(activeTimers()).to.equal(baseline + 2)
    environment.clearTimer(cancelled)
    expect(activeTimers()).to.equal(baseline + 1)
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(fired).to.deep.equal(['kept'])
    expect(activeTimers()).to.equal(baseline)
  })
})
