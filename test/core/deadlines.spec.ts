/* The deadline queue and the timer table (src/core/deadlines.ts). */
import { expect } from 'aegir/chai'
import { DeadlineQueue, TimerSlot, TimerTable } from '../../src/core/deadlines.ts'
import { StreamRecord } from '../../src/core/stream-record.ts'
import { VirtualEnvironment } from '../fixtures/virtual-environment.ts'

function record (id: number, deadline: number): StreamRecord {
  const stream = new StreamRecord(id, true, 262144, 262144, 0)
  stream.closeDeadline = deadline
  return stream
}

describe('deadline queue', () => {
  it('hands due streams over earliest first, skips streams no longer waiting, and requeues moved ones in order', () => {
    const queue = new DeadlineQueue(s => s.closeDeadline, s => !s.gone)
    const streams = [record(1, 10), record(2, 20), record(3, 30), record(4, 40)]
    for (const s of streams) { queue.push(s, streams.length) }
    streams[1].gone = true
    const seen: number[] = []
    const next = queue.expire(35, (s) => {
      seen.push(s.id)
      if (s.id === 1) { s.closeDeadline = 50; return true }
      return false
    }, () => false)
    expect(seen).to.deep.equal([1, 3])
    expect(next).to.equal(40)
    expect(queue.length).to.equal(2) // 4, then 1 (moved to 50)
    expect(queue.expire(45, (s) => { seen.push(s.id); return false }, () => false)).to.equal(50)
    expect(seen).to.deep.equal([1, 3, 4])
  })

  it('stays proportional to the live streams however many were pushed', () => {
    const queue = new DeadlineQueue(s => s.closeDeadline, s => !s.gone)
    for (let i = 0; i < 10_000; i++) {
      const s = record(i, i)
      queue.push(s, 10)
      s.gone = true
    }
    expect(queue.length).to.be.at.most(2 * 10 + 64 + 1)
  })

  it('stops at once when the session ends during a callback', () => {
    const queue = new DeadlineQueue(s => s.closeDeadline, s => !s.gone)
    queue.push(record(1, 1), 2)
    queue.push(record(2, 2), 2)
    let stopped = false
    const seen: number[] = []
    expect(queue.expire(5, (s) => { seen.push(s.id); stopped = true; return false }, () => stopped)).to.equal(Infinity)
    expect(seen).to.deep.equal([1])
  })
})

describe('timer table', () => {
  it('keeps one environment timer armed at the earliest entry and releases it on stop', () => {
    const env = new VirtualEnvironment()
    const fired: number[] = []
    const table = new TimerTable(env, (now) => {
      fired.push(now)
      table.set(TimerSlot.Ping, Infinity)
      if (table.get(TimerSlot.KeepAlive) <= now) { table.set(TimerSlot.KeepAlive, now + 100) }
    })
    table.set(TimerSlot.KeepAlive, 100)
    table.set(TimerSlot.Ping, 30)
    table.set(TimerSlot.StreamOpen, 500) // later than the armed one: no new timer
    expect(env.pendingTimers).to.equal(1)
    expect(env.nextTimerAt()).to.equal(30)
    env.setTime(30); env.fireDue()
    expect(fired).to.deep.equal([30])
    expect(env.nextTimerAt()).to.equal(100) // re-armed at the earliest entry left
    env.setTime(100); env.fireDue()
    expect(env.nextTimerAt()).to.equal(200)
    table.stop()
    expect(env.pendingTimers).to.equal(0)
    table.set(TimerSlot.Ping, 1)
    expect(env.pendingTimers).to.equal(0)
  })
})
