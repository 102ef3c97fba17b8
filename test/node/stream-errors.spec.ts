/**
 * Node API, issue 9.1: no peer behaviour raises an 'error' event or a
 * rejection the application had no chance to handle. Streams never handed
 * out are dropped silently; a handed-out stream's error reaches a listener
 * attached right after `await accept()`/`await open()`, or later, when the
 * application first listens to or uses the stream.
 */
import { expect } from 'aegir/chai'
import { Flag, FrameType } from '../../src/core/index.ts'
import { failOnEscapes, header, rawPeer, sleep, until } from '../fixtures/node-peers.ts'
import type { YamuxDuplex } from '../../src/node/index.ts'

async function errorOf (stream: YamuxDuplex): Promise<Error> {
  return new Promise(resolve => stream.once('error', resolve))
}

describe('node API: stream errors never escape', function () {
  this.timeout(10_000)
  failOnEscapes()

  it('SYN and RST in one write with nobody accepting: the stream is dropped silently', async () => {
    const p = await rawPeer()
    p.socket.write(Buffer.concat([header(FrameType.WindowUpdate, Flag.SYN, 1, 0), header(FrameType.WindowUpdate, Flag.RST, 1, 0)]))
    await sleep(50)
    // the next stream is the one accept() returns
    p.socket.write(Buffer.concat([header(FrameType.Data, Flag.SYN, 3, 2), Buffer.from('hi')]))
    const stream = await p.session.accept()
    expect(stream.id).to.equal(3)
    p.done()
  })

  it('on a Client too: SYN and RST in one write from the server, with accept() pending and not', async () => {
    const p = await rawPeer({ client: true })
    p.socket.write(Buffer.concat([header(FrameType.WindowUpdate, Flag.SYN, 2, 0), header(FrameType.WindowUpdate, Flag.RST, 2, 0)]))
    await sleep(50)
    const accepting = p.session.accept()
    p.socket.write(Buffer.concat([header(FrameType.Data, Flag.SYN, 4, 1), Buffer.from('x'), header(FrameType.WindowUpdate, Flag.RST, 4, 0)]))
    const stream = await accepting
    expect(stream.id).to.equal(4)
    expect((await errorOf(stream)).name).to.equal('ConnectionResetError')
    p.done()
  })

  it('a stream reset while it waits in the accept queue is dropped silently', async () => {
    const p = await rawPeer()
    p.socket.write(Buffer.concat([header(FrameType.Data, Flag.SYN, 1, 5), Buffer.from('hello')]))
    await until(() => p.session.numStreams === 1, 'the stream was queued')
    p.socket.write(Buffer.concat([header(FrameType.WindowUpdate, Flag.RST, 1, 0), header(FrameType.Ping, Flag.SYN, 0, 7)]))
    // the ping's answer proves the RST before it was handled
    await p.waitFor(f => f.type === FrameType.Ping && f.flags === Flag.ACK && f.length === 7)
    expect(p.session.numStreams).to.equal(0)
    p.done()
  })

  it('SYN and RST in one write while accept() is pending: a listener attached right after await sees ConnectionResetError', async () => {
    const p = await rawPeer()
    const accepting = p.session.accept()
    await sleep(20)
    p.socket.write(Buffer.concat([header(FrameType.Data, Flag.SYN, 1, 1), Buffer.from('x'), header(FrameType.WindowUpdate, Flag.RST, 1, 0)]))
    const stream = await accepting
    const error = await errorOf(stream)
    expect(error.name).to.equal('ConnectionResetError')
    p.done()
  })

  it('a stream we opened, reset before the application used it: the error waits for a listener', async () => {
    const p = await rawPeer({ client: true })
    const stream = await p.session.open()
    const syn = await p.waitFor(f => (f.flags & Flag.SYN) !== 0 && f.streamId !== 0)
    p.socket.write(header(FrameType.WindowUpdate, Flag.RST, syn.streamId, 0))
    await sleep(50)
    const error = await errorOf(stream)
    expect(error.name).to.equal('ConnectionResetError')
    p.done()
  })

  it('an accepted stream the application holds but has not touched survives a protocol error of the session', async () => {
    const p = await rawPeer()
    p.socket.write(header(FrameType.WindowUpdate, Flag.SYN, 1, 0))
    const stream = await p.session.accept()
    const bad = header(FrameType.Ping, Flag.SYN, 0, 1)
    bad[0] = 9 // bad version
    p.socket.write(bad)
    await new Promise(resolve => p.session.once('close', resolve))
    await sleep(50)
    const error = await errorOf(stream)
    expect(error.name).to.equal('InvalidVersionError')
    p.done()
  })

  it('for await over a stream reset mid-way throws the reset where the loop can catch it', async () => {
    const p = await rawPeer()
    const accepting = p.session.accept()
    await sleep(20)
    p.socket.write(Buffer.concat([header(FrameType.Data, Flag.SYN, 1, 3), Buffer.from('abc'), header(FrameType.WindowUpdate, Flag.RST, 1, 0)]))
    const stream = await accepting
    let caught: Error | undefined
    try {
      for await (const chunk of stream) { expect(chunk).to.be.instanceOf(Buffer) }
    } catch (err: any) {
      caught = err
    }
    expect(caught?.name).to.equal('ConnectionResetError')
    p.done()
  })

  it('many SYN+RST pairs in one write, some accepted, some not: nothing escapes', async () => {
    const p = await rawPeer()
    const accepted: YamuxDuplex[] = []
    void (async () => {
      for (let i = 0; i < 5; i++) {
        const stream = await p.session.accept().catch(() => undefined)
        if (stream === undefined) { return }
        stream.on('error', () => {})
        accepted.push(stream)
      }
    })()
    const frames: Uint8Array[] = []
    for (let i = 0; i < 50; i++) {
      frames.push(header(FrameType.Data, Flag.SYN, 1 + 2 * i, 1), Buffer.from('z'), header(FrameType.WindowUpdate, Flag.RST, 1 + 2 * i, 0))
    }
    frames.push(header(FrameType.Ping, Flag.SYN, 0, 9))
    p.socket.write(Buffer.concat(frames))
    // the ping's answer proves every frame before it was handled
    await p.waitFor(f => f.type === FrameType.Ping && f.flags === Flag.ACK && f.length === 9)
    await sleep(0) // the accept loop takes what it got after one more turn
    expect(p.session.isClosed).to.equal(false)
    expect(accepted.every(s => s.destroyed)).to.equal(true)
    p.done()
  })
})
