/* Output scheduling on its own (src/core/output.ts, send-room.ts): batching, control first, round-robin fairness, bounds, back-pressure. */
import { expect } from 'aegir/chai'
import { FLUSH_BATCH_BYTES, Flag, FrameType, HEADER_LENGTH, defaultConfig } from '../../src/core/index.ts'
import { Output } from '../../src/core/output.ts'
import { emptyStats } from '../../src/core/session-types.ts'
import { StreamRecord } from '../../src/core/stream-record.ts'
import { decodeAll } from '../fixtures/raw-peer.ts'
import { concat } from '../fixtures/session-pair.ts'
import { VirtualEnvironment } from '../fixtures/virtual-environment.ts'
import type { SessionConfig, SessionHandler } from '../../src/core/index.ts'

function setup (config: Partial<SessionConfig> = {}): { output: Output, env: VirtualEnvironment, writes: Uint8Array[], writable: number[], accept: { more: boolean } } {
  const env = new VirtualEnvironment()
  const writes: Uint8Array[] = []
  const writable: number[] = []
  const accept = { more: true }
  const handler: SessionHandler = {
    write: (chunks) => { writes.push(concat(chunks)); return accept.more },
    onStream () {},
    onData () {},
    onRemoteClose () {},
    onStreamReset () {},
    onWritable: (id) => { writable.push(id) },
    onStreamClosed () {},
    onGoAway () {},
    onClose () {}
  }
  const output = new Output(env, handler, { ...defaultConfig(), ...config }, emptyStats(), {
    takeCredit: () => 0,
    finSent () {},
    fail: (err) => { throw err },
    ownerFailed: (_s, err) => { throw err },
    checkStallAt () {}
  })
  return { output, env, writes, writable, accept }
}

function stream (id: number): StreamRecord {
  return new StreamRecord(id, true, 262144, 262144, 0)
}

describe('output: one write per tick, control first, fair data', () => {
  it('frames of one tick leave in one transport write, control frames ahead of data', () => {
    const { output, env, writes } = setup()
    const s = stream(1)
    output.write(s, new Uint8Array(1000))
    output.queuePong(7)
    output.queueReset(9)
    env.runTasks()
    expect(writes).to.have.length(1)
    const frames = decodeAll(writes[0])
    expect(frames.map(f => f.type)).to.deep.equal([FrameType.Ping, FrameType.WindowUpdate, FrameType.Data])
    expect(frames[0]).to.include({ flags: Flag.ACK, length: 7 })
    expect(frames[1]).to.include({ flags: Flag.RST, streamId: 9 })
  })

  it('takes one frame per stream per turn and bounds each transport write', () => {
    const { output, env, writes } = setup({ maxFrameSize: 16 * 1024 })
    const streams = [stream(1), stream(3), stream(5)]
    for (const s of streams) { expect(output.write(s, new Uint8Array(256 * 1024))).to.equal(256 * 1024) }
    env.runTasks()
    const order = writes.flatMap(w => decodeAll(w)).filter(f => f.type === FrameType.Data).map(f => f.streamId)
    expect(order).to.have.length(48)
    for (let i = 0; i < order.length; i++) { expect(order[i]).to.equal([1, 3, 5][i % 3]) }
    for (const w of writes) { expect(w.byteLength).to.be.at.most(FLUSH_BATCH_BYTES + 16 * 1024 + HEADER_LENGTH) }
  })

  it('stops at the first refused write and resumes on drain', () => {
    const { output, env, writes, accept } = setup()
    accept.more = false
    const a = stream(1)
    const b = stream(3)
    output.write(a, new Uint8Array(256 * 1024))
    output.write(b, new Uint8Array(256 * 1024))
    env.runTasks()
    expect(writes).to.have.length(1)
    expect(output.isBlocked).to.equal(true)
    output.flush()
    expect(writes).to.have.length(1)
    accept.more = true
    output.transportDrained()
    const total = writes.reduce((n, w) => n + decodeAll(w).filter(f => f.type === FrameType.Data).reduce((m, f) => m + f.length, 0), 0)
    expect(total).to.equal(512 * 1024)
  })
})

describe('output: the session-wide send queue bound', () => {
  it('refuses writes past maxSessionSendQueue and tells every held writer once half of it is free', () => {
    const { output, env, writable, accept } = setup({ maxSessionSendQueue: 64 * 1024 })
    accept.more = false
    const streams = [stream(1), stream(3), stream(5), stream(7)]
    const taken = streams.map(s => output.write(s, new Uint8Array(40 * 1024)))
    expect(taken.reduce((a, b) => a + b, 0)).to.equal(64 * 1024)
    expect(taken).to.deep.equal([40 * 1024, 24 * 1024, 0, 0])
    env.runTasks() // frames leave into a blocked transport: no notification yet
    expect(writable).to.deep.equal([])
    expect(output.queuedBytes).to.equal(0)
    accept.more = true
    output.transportDrained()
    expect(writable.sort()).to.deep.equal([3, 5, 7])
  })
})
