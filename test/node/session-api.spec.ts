/**
 * Node API sessions: the accept loop, accept()/open() with AbortSignal,
 * goAway()/close() promises, the `closed` promise, addresses,
 * `stream.session`, and the accept backlog.
 */
import { once } from 'node:events'
import { expect } from 'aegir/chai'
import { Flag, FrameType, GoAwayCode } from '../../src/core/index.ts'
import { activeTimers } from '../../src/index.ts'
import { failOnEscapes, header, rawPeer, sleep, tcpPair } from '../fixtures/node-peers.ts'
import type { YamuxDuplex } from '../../src/node/index.ts'

describe('node API: sessions', function () {
  this.timeout(10_000)
  failOnEscapes()

  it('for await over a session yields each stream the peer opens and ends cleanly when the session ends', async () => {
    const { client, server } = await tcpPair()
    const seen: number[] = []
    const loop = (async () => {
      for await (const stream of server) {
        seen.push(stream.id)
        stream.resume()
      }
      return 'ended'
    })()
    for (let i = 0; i < 3; i++) { (await client.open()).end('x') }
    await sleep(50)
    await client.close()
    expect(await loop).to.equal('ended')
    expect(seen).to.deep.equal([1, 3, 5])
  })

  it('after the end, accept() rejects with SessionShutdownError carrying the cause', async () => {
    const p = await rawPeer()
    const bad = header(FrameType.Ping, Flag.SYN, 0, 1)
    bad[0] = 9
    p.socket.write(bad)
    await p.session.closed
    const err = await p.session.accept().catch((e: Error) => e)
    expect(err).to.have.property('name', 'SessionShutdownError')
    expect((err as Error).cause).to.have.property('name', 'InvalidVersionError')
    const again = await p.session.accept().catch((e: Error) => e)
    expect(again).to.have.property('name', 'SessionShutdownError')
    p.done()
  })

  it('accept() and open() honour an AbortSignal; the aborted accept leaves no waiter behind', async () => {
    const { client, server, close } = await tcpPair()
    const controller = new AbortController()
    const accepting = server.accept({ signal: controller.signal })
    controller.abort(new Error('enough'))
    expect((await accepting.catch((e: Error) => e) as Error).message).to.equal('enough')
    expect((await client.open({ signal: AbortSignal.abort() }).catch((e: Error) => e) as Error).name).to.equal('AbortError')
    // the next stream goes to the next accept(), not the aborted one
    const stream = await client.open()
    stream.end('hi')
    const accepted = await server.accept({ signal: new AbortController().signal })
    expect(accepted.id).to.equal(stream.id)
    accepted.resume()
    await close()
  })

  it('goAway() resolves once GoAway(0) is written; the peer cannot open more, open streams carry on', async () => {
    const p = await rawPeer()
    p.socket.write(header(FrameType.WindowUpdate, Flag.SYN, 1, 0))
    const stream = await p.session.accept()
    await p.session.goAway()
    expect((await p.waitFor(f => f.type === FrameType.GoAway)).length).to.equal(GoAwayCode.NormalTermination)
    p.socket.write(header(FrameType.WindowUpdate, Flag.SYN, 3, 0))
    await p.waitFor(f => f.streamId === 3 && (f.flags & Flag.RST) !== 0)
    stream.write('still open')
    await p.waitFor(f => f.type === FrameType.Data && f.streamId === 1)
    expect(p.session.isClosed).to.equal(false)
    stream.on('error', () => {})
    await p.session.close()
    p.done()
  })

  it('close() resolves once the transport is closed; closed settles with undefined, or with the error', async () => {
    const timers = activeTimers()
    const { client, server } = await tcpPair()
    const serverClosed = server.closed
    await client.close()
    expect(client.isClosed).to.equal(true)
    expect(await client.closed).to.equal(undefined)
    expect(await serverClosed).to.equal(undefined)
    await server.close()
    expect(activeTimers()).to.be.at.most(timers)

    const p = await rawPeer()
    p.socket.write(header(FrameType.GoAway, 0, 0, GoAwayCode.ProtocolError))
    expect((await p.session.closed)?.name).to.equal('RemoteGoAwayError')
    p.done()
  })

  it('addresses come from the socket; stream.session is the session', async () => {
    const { client, server, close } = await tcpPair()
    expect(client.localAddress).to.equal('127.0.0.1')
    expect(client.remotePort).to.equal(server.localPort)
    expect(server.remoteAddress).to.equal('127.0.0.1')
    expect(server.remotePort).to.equal(client.localPort)
    const stream = await client.open()
    expect(stream.session).to.equal(client)
    stream.end()
    const accepted = await server.accept()
    expect(accepted.session).to.equal(server)
    accepted.resume()
    await close()
  })

  it('streams beyond the accept backlog are reset, the session carries on', async () => {
    const p = await rawPeer({ config: { acceptBacklog: 2 } })
    const frames: Uint8Array[] = []
    for (let i = 0; i < 5; i++) { frames.push(header(FrameType.WindowUpdate, Flag.SYN, 1 + 2 * i, 0)) }
    p.socket.write(Buffer.concat(frames))
    await p.waitFor(f => f.streamId === 9 && (f.flags & Flag.RST) !== 0)
    expect(p.frames().filter(f => (f.flags & Flag.RST) !== 0).map(f => f.streamId)).to.deep.equal([5, 7, 9])
    const accepted: YamuxDuplex[] = [await p.session.accept(), await p.session.accept()]
    expect(accepted.map(s => s.id)).to.deep.equal([1, 3])
    // accepting made room again
    p.socket.write(header(FrameType.WindowUpdate, Flag.SYN, 11, 0))
    expect((await p.session.accept()).id).to.equal(11)
    expect(p.session.isClosed).to.equal(false)
    await p.session.close()
    p.done()
  })

  it('a session logs to the configured logger', async () => {
    const lines: string[] = []
    const p = await rawPeer({ config: { logger: (format: string, ...args: unknown[]) => { lines.push(`${format} ${args.join(' ')}`) } } })
    const bad = header(FrameType.Ping, Flag.SYN, 0, 1)
    bad[0] = 9
    p.socket.write(bad)
    await once(p.session, 'close')
    expect(lines.join('\n')).to.match(/version/)
    p.done()
  })
})
