/* The stream table (src/core/stream-table.ts): ids, limits, the window budget, the ACK backlog and held opens. */
import { expect } from 'aegir/chai'
import { INITIAL_STREAM_WINDOW, OpenState, StreamLimitError, StreamsExhaustedError, defaultConfig } from '../../src/core/index.ts'
import { StreamTable } from '../../src/core/stream-table.ts'
import type { SessionConfig } from '../../src/core/index.ts'

function table (overrides: Partial<SessionConfig> = {}, first = 1): StreamTable {
  return new StreamTable({ ...defaultConfig(), ...overrides }, first)
}

describe('stream table', () => {
  it('allocates ids of our parity, two apart, until 2^32-1', () => {
    const t = table({}, 0xFFFF_FFFD)
    expect(t.openOutbound(0).id).to.equal(0xFFFF_FFFD)
    expect(t.openOutbound(0).id).to.equal(0xFFFF_FFFF)
    expect(() => t.openOutbound(0)).to.throw(StreamsExhaustedError)
  })

  it('counts streams against their limits and the window budget, and frees them on removal', () => {
    const t = table({ maxOutboundStreams: 2, maxSessionWindowSize: 3 * INITIAL_STREAM_WINDOW, maxInboundStreams: 5 })
    const a = t.openOutbound(0)
    t.openOutbound(0)
    expect(() => t.openOutbound(0)).to.throw(StreamLimitError, /outbound/)
    expect(t.admitsInbound()).to.equal(true)
    t.addInbound(2, 0)
    expect(t.admitsInbound()).to.equal(false) // the budget is spent
    expect(t.budget.used).to.equal(3 * INITIAL_STREAM_WINDOW)
    t.remove(a)
    expect(a.gone).to.equal(true)
    expect(t.admitsInbound()).to.equal(true)
    expect(t.size).to.equal(2)
  })

  it('stops admitting at the accept backlog until streams are accepted', () => {
    const t = table({ acceptBacklog: 1 })
    t.addInbound(2, 0)
    expect(t.admitsInbound()).to.equal(false)
    t.accepted()
    expect(t.admitsInbound()).to.equal(true)
  })

  it('holds opens beyond the ACK backlog and releases them in order as ACKs come', () => {
    const t = table({ maxAckBacklog: 1 })
    const first = t.openOutbound(0)
    t.synSent(first)
    expect(t.ackRoom).to.equal(false)
    const held = [t.openOutbound(0), t.openOutbound(0), t.openOutbound(0)]
    for (const s of held) { t.hold(s) }
    expect(t.nextReleasable()).to.equal(undefined)
    t.ackReceived(first)
    expect(first.openState).to.equal(OpenState.Established)
    const next = t.nextReleasable()
    expect(next).to.equal(held[0])
    t.synSent(next!)
    expect(t.nextReleasable()).to.equal(undefined)
    // removing a stream awaiting its ACK frees its slot
    expect(t.remove(next!)).to.equal(true)
    t.remove(held[1]) // gone while held: skipped
    expect(t.nextReleasable()).to.equal(held[2])
    const dropped: number[] = []
    t.hold(t.openOutbound(0))
    t.dropHeld(s => dropped.push(s.id))
    expect(dropped).to.have.length(1)
    expect(t.nextReleasable()).to.equal(undefined)
  })
})

describe('stream record', () => {
  it('an idle record is small: no queue array, no fractional clock reading, one field for its flags', () => {
    const t = table()
    const record = t.openOutbound(1234.5678)
    const fields = Object.entries(record)
    // 27 fields before the yes/no facts were packed and the queue made lazy
    expect(fields.length).to.be.at.most(19)
    for (const [name, value] of fields) {
      expect(Array.isArray(value), `${name} holds an array`).to.equal(false)
      if (typeof value === 'number') { expect(Number.isInteger(value), `${name} = ${value}`).to.equal(true) }
    }
    // the packed flags still read and write one by one
    record.held = true
    record.readClosed = true
    expect([record.outbound, record.held, record.readClosed, record.gone]).to.deep.equal([true, true, true, false])
    record.held = false
    expect([record.held, record.readClosed]).to.deep.equal([false, true])
  })
})
