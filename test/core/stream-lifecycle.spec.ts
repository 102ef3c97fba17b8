/* Stream openings and endings on their own (src/core/stream-lifecycle.ts): SYN and held opens, ACK, FIN, drop and forget. */
import { expect } from 'aegir/chai'
import { Flag, FrameType, MAX_ACK_BACKLOG, OpenState, StreamClosedError, WriteState, defaultConfig } from '../../src/core/index.ts'
import { Output } from '../../src/core/output.ts'
import { emptyStats } from '../../src/core/session-types.ts'
import { StreamLifecycle } from '../../src/core/stream-lifecycle.ts'
import { StreamTable } from '../../src/core/stream-table.ts'
import { decodeAll } from '../fixtures/raw-peer.ts'
import { concat } from '../fixtures/session-pair.ts'
import { VirtualEnvironment } from '../fixtures/virtual-environment.ts'
import type { SessionHandler } from '../../src/core/index.ts'
import type { SessionTimers } from '../../src/core/session-timers.ts'

function setup (): { life: StreamLifecycle, table: StreamTable, env: VirtualEnvironment, writes: Uint8Array[], events: string[], timers: string[] } {
  const env = new VirtualEnvironment()
  const writes: Uint8Array[] = []
  const events: string[] = []
  const timers: string[] = []
  const handler: SessionHandler = {
    write: (chunks) => { writes.push(concat(chunks)); return true },
    onStream () {},
    onData () {},
    onRemoteClose () {},
    onStreamReset: (id, error, remote) => { events.push(`reset ${id} ${error.name} ${String(remote)}`) },
    onWritable () {},
    onStreamClosed: (id) => { events.push(`closed ${id}`) },
    onGoAway () {},
    onClose () {}
  }
  const config = defaultConfig()
  const table = new StreamTable(config, 1)
  const output = new Output(env, handler, config, emptyStats(), {
    takeCredit: () => 0,
    finSent () {},
    fail: (err) => { throw err },
    ownerFailed: (_s, err) => { throw err },
    checkStallAt () {}
  })
  // the timer table is session-timers.ts' concern: record what it is told
  const fakeTimers = {
    opened: (stream: { id: number }) => { timers.push(`opened ${stream.id}`) },
    halfClosed: (stream: { id: number }) => { timers.push(`halfClosed ${stream.id}`) }
  } as unknown as SessionTimers
  const life = new StreamLifecycle(table, output, handler, env, () => fakeTimers)
  return { life, table, env, writes, events, timers }
}

describe('stream lifecycle', () => {
  it('opens ours with SYN on the next flush and arms its open deadline', () => {
    const { life, env, writes, timers } = setup()
    const stream = life.open()
    expect(stream.openState).to.equal(OpenState.SynSent)
    env.runTasks()
    const frames = decodeAll(concat(writes))
    expect(frames).to.have.length(1)
    expect(frames[0]).to.include({ type: FrameType.WindowUpdate, flags: Flag.SYN, streamId: stream.id })
    expect(timers).to.deep.equal([`opened ${stream.id}`])
  })

  it('holds opens past the ACK backlog and releases one per ACK, none while ending', () => {
    const { life, env, writes } = setup()
    const open = Array.from({ length: MAX_ACK_BACKLOG }, () => life.open())
    const held = [life.open(), life.open()]
    expect(held.map(s => s.held)).to.deep.equal([true, true])
    env.runTasks()
    writes.length = 0
    life.acked(open[0])
    expect(held.map(s => s.held)).to.deep.equal([false, true])
    env.runTasks()
    expect(decodeAll(concat(writes)).map(f => f.streamId)).to.deep.equal([held[0].id])
    life.ending = true
    life.acked(open[1])
    expect(held[1].held).to.equal(true)
  })

  it('accepts the peer\'s stream with ACK on its next frame', () => {
    const { life, table, env, writes } = setup()
    const stream = table.addInbound(2, 0)
    life.accept(stream)
    expect(stream.openState).to.equal(OpenState.Established)
    env.runTasks()
    expect(decodeAll(concat(writes))[0]).to.include({ flags: Flag.ACK, streamId: 2 })
  })

  it('forgets a stream once both FINs passed; a half-closed one waits with its close deadline', () => {
    const { life, events, timers } = setup()
    const a = life.open()
    life.finSent(a)
    expect(a.writeState).to.equal(WriteState.FinSent)
    expect(a.gone).to.equal(false)
    expect(timers).to.include(`halfClosed ${a.id}`)
    const b = life.open()
    b.readClosed = true
    life.finSent(b)
    expect(b.gone).to.equal(true)
    expect(events).to.deep.equal([`closed ${b.id}`])
  })

  it('drop tells the owner why, once; forget is idempotent', () => {
    const { life, events } = setup()
    const s = life.open()
    life.drop(s, new StreamClosedError('test'), true)
    life.forget(s)
    expect(s.gone).to.equal(true)
    expect(events).to.deep.equal([`reset ${s.id} StreamClosedError true`])
  })
})
