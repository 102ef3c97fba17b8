/**
 * Node API and its transport: what `Client`/`Server` accept (9.4), that the
 * transport is closed within a bound however the session ends (9.2), and how
 * the transport ending without GoAway ends unfinished streams (9.6).
 */
import { once } from 'node:events'
import net from 'node:net'
import { Duplex, PassThrough, Readable } from 'node:stream'
import { expect } from 'aegir/chai'
import { Flag, FrameType, GoAwayCode } from '../../src/core/index.ts'
import { activeTimers } from '../../src/index.ts'
import { Client, Server } from '../../src/node/index.ts'
import { failOnEscapes, header, rawPeer, sleep } from '../fixtures/node-peers.ts'
import type { Transport } from '../../src/node/index.ts'

async function closeEvent (socket: { once(event: 'close', listener: () => void): unknown }): Promise<void> {
  await new Promise<void>(resolve => { socket.once('close', () => { resolve() }) })
}

describe('node API: the transport', function () {
  this.timeout(10_000)
  failOnEscapes()

  describe('Client/Server with something that is not a byte Duplex', () => {
    const notDuplexes: Array<[string, () => unknown]> = [
      ['undefined', () => undefined],
      ['null', () => null],
      ['a string', () => 'localhost:4000'],
      ['a plain object', () => ({})],
      ['a Readable', () => Readable.from([])],
      ['an object-mode Duplex', () => new Duplex({ objectMode: true, read () {}, write (_c, _e, cb) { cb() } })]
    ]
    for (const [what, make] of notDuplexes) {
      for (const [name, start] of [['Client', Client], ['Server', Server]] as const) {
        it(`${name}(${what}) throws a TypeError at once and leaves nothing behind`, async () => {
          const timers = activeTimers()
          const value = make()
          const listeners = value instanceof Duplex ? value.eventNames().length : 0
          expect(() => start(value as Transport)).to.throw(TypeError, /Duplex/)
          await sleep(20) // a deferred second error would surface here (failOnEscapes)
          expect(activeTimers()).to.be.at.most(timers)
          if (value instanceof Duplex) { expect(value.eventNames()).to.have.length(listeners) }
        })
      }
    }

    it('a bad config throws InvalidConfigError at once and leaves nothing behind', async () => {
      const timers = activeTimers()
      const transport = new PassThrough()
      expect(() => Client(transport, { maxFrameSize: 1 })).to.throw().with.property('name', 'InvalidConfigError')
      await sleep(20)
      expect(activeTimers()).to.be.at.most(timers)
      expect(transport.listenerCount('data')).to.equal(0)
    })
  })

  describe('closing the transport', () => {
    let timers = 0
    beforeEach(() => { timers = activeTimers() })
    afterEach(() => {
      expect(activeTimers(), 'timers left by yamux sessions').to.be.at.most(timers)
    })

    it('after a protocol error, with a peer that never closes: GoAway(1) leaves, then our socket is destroyed', async () => {
      const p = await rawPeer({ neverCloses: true, config: { connectionWriteTimeout: 300 } })
      const socketClosed = closeEvent(p.ours)
      const ended = once(p.session, 'close')
      const bad = header(FrameType.Ping, Flag.SYN, 0, 1)
      bad[0] = 9
      p.socket.write(bad)
      expect((await ended)[0]?.name).to.equal('InvalidVersionError')
      await socketClosed
      expect(p.ours.destroyed).to.equal(true)
      expect((await p.waitFor(f => f.type === FrameType.GoAway)).length).to.equal(GoAwayCode.ProtocolError)
      p.done()
    })

    it('after a keep-alive timeout, with a peer that never answers nor closes: GoAway(2) leaves, then our socket is destroyed', async () => {
      const p = await rawPeer({ neverCloses: true, config: { enableKeepAlive: true, keepAliveInterval: 100, connectionWriteTimeout: 200 } })
      const socketClosed = closeEvent(p.ours)
      expect((await once(p.session, 'close'))[0]?.name).to.equal('KeepAliveTimeoutError')
      await socketClosed
      expect((await p.waitFor(f => f.type === FrameType.GoAway)).length).to.equal(GoAwayCode.InternalError)
      p.done()
    })

    it('close() with a peer that never closes: resolves once GoAway(0) was written and the socket is closed', async () => {
      const p = await rawPeer({ neverCloses: true, config: { connectionWriteTimeout: 300 } })
      await p.session.close()
      expect(p.ours.destroyed).to.equal(true)
      expect((await p.waitFor(f => f.type === FrameType.GoAway)).length).to.equal(GoAwayCode.NormalTermination)
      expect(await p.session.closed).to.equal(undefined)
      p.done()
    })

    it('close() with a peer that closes its side in answer: the socket closes both ways, our listeners are gone', async () => {
      const p = await rawPeer()
      await p.session.close()
      expect(p.ours.destroyed).to.equal(true)
      const fresh = new net.Socket()
      for (const event of ['data', 'end', 'drain', 'error', 'close']) {
        expect(p.ours.listenerCount(event), event).to.equal(fresh.listenerCount(event))
      }
      p.done()
    })

    it('a transport already destroyed: the session ends at once, cleanly', async () => {
      const transport = new PassThrough()
      transport.destroy()
      const session = Client(transport)
      expect(await session.closed).to.equal(undefined)
      await session.close()
      expect(session.isClosed).to.equal(true)
    })
  })
})
