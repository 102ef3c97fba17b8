/**
 * The same program against yamux-js 0.2 and libp2p-yamux/yamux-js (only the
 * import differs), over TCP loopback: a lost connection, open() on a closed
 * session, streams waiting for `onStream`, the accept backlog. Ours must
 * pass; where yamux-js fails, its known failure is asserted.
 */
import { expect } from 'aegir/chai'
import { Client as OurClient, Server as OurServer } from '../../src/yamux-js/index.ts'
import { IMPLS, barrier, connect, echo, settle } from './fixtures.ts'
import type { JsStream } from './fixtures.ts'

interface StreamLog { data: string, ended: boolean, errors: string[] }

function watch (stream: JsStream): StreamLog {
  const log: StreamLog = { data: '', ended: false, errors: [] }
  stream.on('data', (data: Buffer) => { log.data += data.toString() })
  stream.on('end', () => { log.ended = true })
  stream.on('error', (err: Error) => log.errors.push(err.name))
  return log
}

for (const impl of IMPLS) {
  const ours = impl.name === 'ours'

  describe(`yamux-js API, ${impl.name}: failures and limits`, () => {
    for (const how of ['ends', 'resets'] as const) {
      it(`the peer's socket ${how} without GoAway: open streams fail, the socket closes`, async () => {
        const c = await connect(impl, { onServerStream: echo })
        try {
          const stream = c.client.open()
          const log = watch(stream)
          stream.write('x')
          await barrier(c.client)
          const closed = new Promise(resolve => c.clientSocket.once('close', resolve))
          if (how === 'ends') {
            // the peer drops its session and ends the connection (FIN, no GoAway)
            c.server.unpipe(c.serverSocket)
            c.serverSocket.unpipe(c.server)
            c.serverSocket.resume()
            c.serverSocket.end()
          } else {
            c.serverSocket.resetAndDestroy()
          }
          expect((await settle(closed)).kind).to.equal('done')
          await new Promise(resolve => setImmediate(resolve))
          const observed = { stream: log, closed: c.client.isClosed(), errors: c.errors.client.map(e => e.name) }
          if (ours) {
            // a clean end is not a clean close: the streams had no FIN
            const error = how === 'ends' ? 'TransportClosedError' : 'TransportError'
            expect(observed).to.deep.equal({
              stream: { data: 'x', ended: false, errors: [error] },
              closed: true,
              errors: how === 'ends' ? [] : [error]
            })
          } else {
            // known failure: nothing tells the stream or the session
            expect(observed).to.deep.equal({ stream: { data: 'x', ended: false, errors: [] }, closed: false, errors: [] })
          }
        } finally {
          c.teardown()
        }
      })
    }

    it('open() on a closed session fails with SessionShutdownError', async () => {
      const c = await connect(impl, { onServerStream: echo })
      try {
        c.client.close()
        let thrown: string | undefined
        try {
          c.client.open().on('error', () => {})
        } catch (err: any) {
          thrown = err.name
        }
        if (ours) {
          expect({ thrown, errors: c.errors.client }).to.deep.equal({ thrown: 'SessionShutdownError', errors: [] })
        } else {
          // it hands out a dead stream and reports an (untyped) 'error' on the session
          expect({ thrown, errors: c.errors.client.map(e => e.message) }).to.deep.equal({ thrown: undefined, errors: ['session shutdown'] })
        }
      } finally {
        c.teardown()
      }
    })

    it('streams the peer opens before onStream is set wait for it', async () => {
      const c = await connect(impl, { onServerStream: echo })
      try {
        for (let i = 0; i < 3; i++) { c.server.open().write(`early ${i}`) }
        await barrier(c.client)
        const logs: StreamLog[] = []
        c.client.onStream = (stream) => { logs.push(watch(stream)) }
        await barrier(c.client)
        if (ours) {
          expect(logs.map(l => l.data)).to.deep.equal(['early 0', 'early 1', 'early 2'])
        } else {
          // known failure: they were dropped on arrival
          expect(logs).to.deep.equal([])
        }
      } finally {
        c.teardown()
      }
    })

    it('a stream beyond acceptBacklog waiting for onStream is reset', async () => {
      const c = await connect(impl, { onServerStream: echo, client: { acceptBacklog: 2 } })
      try {
        const opened = [0, 1, 2].map(() => c.server.open())
        const logs = opened.map(watch)
        opened.forEach((stream, i) => stream.write(`early ${i}`))
        await barrier(c.client)
        const delivered: StreamLog[] = []
        c.client.onStream = (stream) => { delivered.push(watch(stream)) }
        await barrier(c.client)
        if (ours) {
          expect(delivered.map(l => l.data)).to.deep.equal(['early 0', 'early 1'])
          expect(logs.map(l => l.errors)).to.deep.equal([[], [], ['ConnectionResetError']])
        } else {
          // known failure: the RST goes out but the opener never hears of it
          // (and nothing is delivered late either)
          expect(delivered).to.deep.equal([])
          expect(logs.map(l => l.errors)).to.deep.equal([[], [], []])
          // its own stream (the first barrier's) counts as well: two resets
          expect(c.logs.client.filter(l => l.includes('backlog exceeded'))).to.have.length(2)
        }
      } finally {
        c.teardown()
      }
    })
  })
}

describe('yamux-js API, ours: config', () => {
  it('takes yamux-js\'s keys and units (seconds), and our stream limits', async () => {
    const logger = (): void => {}
    const client = new OurClient({ keepAliveInterval: 2, connectionWriteTimeout: 3, acceptBacklog: 7, maxStreamWindowSize: 1024 * 1024, logger, maxOutboundStreams: 2 })
    expect(client.config).to.deep.equal({
      acceptBacklog: 7,
      enableKeepAlive: true,
      keepAliveInterval: 2,
      connectionWriteTimeout: 3,
      maxStreamWindowSize: 1024 * 1024,
      logger,
      maxInboundStreams: 1000,
      maxOutboundStreams: 2
    })
    client.open()
    client.open()
    expect(() => client.open()).to.throw().with.property('name', 'StreamLimitError')
    client.close()
  })

  it('rejects out-of-range values with InvalidConfigError (yamux-js fails later, or not at all)', () => {
    expect(() => new OurClient({ maxStreamWindowSize: 1000 })).to.throw().with.property('name', 'InvalidConfigError')
    expect(() => new OurServer(undefined, { keepAliveInterval: -1 })).to.throw().with.property('name', 'InvalidConfigError')
  })
})
