/**
 * Node API stream deadlines (hashicorp's SetDeadline family): a read or
 * write blocked past its deadline fails with TimeoutError, nothing is lost,
 * the stream stays usable once the deadline is moved; one timer at most per
 * stream, released when done.
 */
import { once } from 'node:events'
import { expect } from 'aegir/chai'
import { Flag, FrameType } from '../../src/core/index.ts'
import { environment } from '../../src/environment.ts'
import { activeTimers } from '../../src/index.ts'
import { failOnEscapes, header, rawPeer, sleep } from '../fixtures/node-peers.ts'
import type { YamuxDuplex } from '../../src/node/index.ts'
import type { RawPeer } from '../fixtures/node-peers.ts'

async function acceptedStream (p: RawPeer, id = 1): Promise<YamuxDuplex> {
  const accepting = p.session.accept()
  p.socket.write(header(FrameType.WindowUpdate, Flag.SYN, id, 0))
  return accepting
}

/**
 * Counts the live yamux timers that calls passed to `track` set, and those
 * their timers' callbacks set (a deadline re-armed when it fires).
 * activeTimers() is process-wide: sessions earlier specs left open fire their
 * timers (each keeps its 10 s ping timeout armed) and re-arm them at any time.
 */
function timerTracker (): { track(calls: () => void): void, live(): number, stop(): void } {
  const live = new Set<unknown>()
  let tracking = false
  const { setTimer, clearTimer } = environment
  environment.setTimer = (task, delay) => {
    if (!tracking) { return setTimer(task, delay) }
    const handle = setTimer(() => {
      live.delete(handle)
      tracking = true
      try { task() } finally { tracking = false }
    }, delay)
    live.add(handle)
    return handle
  }
  environment.clearTimer = (handle) => { live.delete(handle); clearTimer(handle) }
  return {
    track (calls) { tracking = true; try { calls() } finally { tracking = false } },
    live: () => live.size,
    stop: () => { Object.assign(environment, { setTimer, clearTimer }) }
  }
}

async function readAll (stream: YamuxDuplex): Promise<string> {
  let text = ''
  for await (const chunk of stream) { text += String(chunk) }
  return text
}

describe('node API: stream deadlines', function () {
  this.timeout(10_000)
  failOnEscapes()
  let timers = 0
  beforeEach(() => { timers = activeTimers() })
  afterEach(() => { expect(activeTimers(), 'deadline timers left').to.be.at.most(timers) })

  it('a for await step blocked past the read deadline rejects with TimeoutError; the stream reads on once the deadline is cleared', async () => {
    const p = await rawPeer()
    const stream = await acceptedStream(p)
    stream.end()
    stream.setReadDeadline(50)
    const err = await readAll(stream).catch((e: Error) => e)
    expect(err).to.have.property('name', 'TimeoutError')
    expect(stream.destroyed).to.equal(false)
    // a read that blocks after the deadline fails at once
    expect(await readAll(stream).catch((e: Error) => e)).to.have.property('name', 'TimeoutError')
    stream.setReadDeadline(null)
    p.socket.write(Buffer.concat([header(FrameType.Data, Flag.FIN, 1, 5), Buffer.from('later')]))
    expect(await readAll(stream)).to.equal('later')
    p.done()
  })

  it('data arriving before the deadline is read; moving the deadline keeps a blocked read waiting', async () => {
    const p = await rawPeer()
    const stream = await acceptedStream(p)
    stream.end()
    stream.setDeadline(new Date(Date.now() + 60_000))
    const reading = readAll(stream)
    p.socket.write(Buffer.concat([header(FrameType.Data, 0, 1, 3), Buffer.from('abc')]))
    await sleep(20)
    stream.setReadDeadline(100)
    stream.setReadDeadline(60_000) // moved before it passed
    await sleep(150)
    p.socket.write(Buffer.concat([header(FrameType.Data, Flag.FIN, 1, 3), Buffer.from('def')]))
    expect(await reading).to.equal('abcdef')
    p.done()
  })

  it('a reader on \'data\' gets \'timeout\' with TimeoutError, and the data that comes later', async () => {
    const p = await rawPeer()
    const stream = await acceptedStream(p)
    const chunks: string[] = []
    stream.on('data', (chunk) => chunks.push(String(chunk)))
    stream.setReadDeadline(new Date(Date.now() - 1)) // already passed
    const [err] = await once(stream, 'timeout')
    expect(err).to.have.property('name', 'TimeoutError')
    p.socket.write(Buffer.concat([header(FrameType.Data, 0, 1, 5), Buffer.from('later')]))
    await sleep(50)
    expect(chunks.join('')).to.equal('later')
    stream.destroy()
    p.done()
  })

  it('a write waiting for window past the write deadline emits \'timeout\'; the data leaves once the peer grants credit', async () => {
    const p = await rawPeer({ client: true })
    const stream = await p.session.open()
    const syn = await p.waitFor(f => (f.flags & Flag.SYN) !== 0 && f.streamId !== 0)
    p.socket.write(header(FrameType.WindowUpdate, Flag.ACK, syn.streamId, 0))
    const data = Buffer.alloc(3 * 1024 * 1024, 7)
    const state = { written: false }
    stream.write(data, () => { state.written = true })
    stream.setWriteDeadline(50)
    const [err] = await once(stream, 'timeout')
    expect(err).to.have.property('name', 'TimeoutError')
    expect(err.message).to.match(/write/)
    expect(state.written).to.equal(false)
    expect(stream.destroyed).to.equal(false)
    stream.setWriteDeadline(0)
    p.socket.write(header(FrameType.WindowUpdate, 0, syn.streamId, 8 * 1024 * 1024))
    const sent = (): number => p.frames().filter(f => f.type === FrameType.Data && f.streamId === syn.streamId).reduce((n, f) => n + f.length, 0)
    for (let i = 0; i < 300 && sent() < data.length; i++) { await sleep(10) }
    expect(state.written).to.equal(true)
    expect(sent()).to.equal(data.length)
    stream.destroy()
    p.done()
    await p.session.closed
  })

  it('uses one timer per stream at most and releases it: when cleared, when it fired, when the stream is destroyed', async () => {
    const p = await rawPeer()
    const stream = await acceptedStream(p)
    const timers = timerTracker()
    try {
      timers.track(() => {
        stream.setReadDeadline(60_000)
        stream.setWriteDeadline(30_000)
        stream.setDeadline(45_000)
      })
      expect(timers.live()).to.equal(1)
      timers.track(() => { stream.setDeadline(0) })
      expect(timers.live()).to.equal(0)
      timers.track(() => { stream.setReadDeadline(10) })
      await sleep(40)
      expect(timers.live()).to.equal(0)
      timers.track(() => { stream.setWriteDeadline(60_000) })
      expect(timers.live()).to.equal(1)
      timers.track(() => { stream.destroy() })
      expect(timers.live()).to.equal(0)
    } finally {
      timers.stop()
      p.done()
    }
  })

  it('rejects deadlines that are not a Date or a non-negative number', async () => {
    const p = await rawPeer()
    const stream = await acceptedStream(p)
    expect(() => stream.setDeadline(-1)).to.throw(TypeError)
    expect(() => stream.setReadDeadline(Number.NaN)).to.throw(TypeError)
    expect(() => stream.setWriteDeadline(new Date('nope'))).to.throw(TypeError)
    expect(() => stream.setDeadline('soon' as any)).to.throw(TypeError)
    stream.destroy()
    p.done()
  })
})
