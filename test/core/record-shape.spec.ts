/** Stream records keep one hidden class: what they store never changes a field's kind. */
import { expect } from 'aegir/chai'
import { RECORD_SHAPE, StreamRecord } from '../../src/core/stream-record.ts'
import { SessionPair, pattern, writeAll } from '../fixtures/session-pair.ts'
import type { Session } from '../../src/core/index.ts'

function record (session: Session, id: number): StreamRecord {
  const found = (session as unknown as { streams: { get(id: number): StreamRecord | undefined } }).streams.get(id)
  if (found === undefined) { throw new Error(`no record for stream ${id}`) }
  return found
}

/** The numeric fields of `rec` that do not hold a whole number. */
function fractionalFields (rec: StreamRecord): string[] {
  return Object.entries(rec).filter(([, value]) => typeof value === 'number' && !Number.isInteger(value)).map(([key]) => key)
}

describe('stream records: one hidden class', () => {
  it('stores clock readings as whole milliseconds, even when the clock is fractional', () => {
    // a fractional latency makes every clock reading fractional: open
    // deadline, window grants (auto-tuning), half-close deadlines
    const pair = new SessionPair({ latency: 0.37 })
    const id = pair.client.session.openStream()
    const writer = writeAll(pair.client, id, pattern(2 * 1024 * 1024), true)
    pair.run(50)
    expect(writer.done()).to.equal(true)
    const sender = record(pair.client.session, id)
    const receiver = record(pair.server.session, id)
    // the sender is half-closed and waiting for the peer's FIN: both close-side readings are set
    expect(sender.closeDeadline).to.be.greaterThan(0)
    expect(sender.lastHeardAt).to.be.greaterThan(0)
    expect(receiver.lastUpdateAt).to.be.greaterThan(0)
    expect(fractionalFields(sender)).to.deep.equal([])
    expect(fractionalFields(receiver)).to.deep.equal([])
  })

  it('keeps a record for the life of the module, with the fields every record has, in the same order', () => {
    const fresh = new StreamRecord(7, true, 256 * 1024, 1024 * 1024, 12.5)
    expect(RECORD_SHAPE).to.be.an.instanceOf(StreamRecord)
    expect(Object.keys(RECORD_SHAPE)).to.deep.equal(Object.keys(fresh))
    expect(fractionalFields(fresh)).to.deep.equal([])
  })
})
