/**
 * libp2p-yamux/yamux-js against yamux-js 0.2 on the wire, in both roles,
 * over TCP loopback: what yamux-js's own bugs let work must work.
 * (yamux-js drops frames split across socket reads, so only the direction
 * where it sends bulk data is tried with more than a few KiB.)
 */
import { once } from 'node:events'
import { expect } from 'aegir/chai'
import { FrameType, Flag } from '../../src/core/index.ts'
import { OURS, YAMUX_JS, barrier, connect, echo, frameCounter, receive, settle } from './fixtures.ts'
import type { JsSession, JsStream } from './fixtures.ts'

const ROLES = [
  { name: 'ours as client, yamux-js as server', client: OURS, server: YAMUX_JS },
  { name: 'yamux-js as client, ours as server', client: YAMUX_JS, server: OURS }
]

async function exchange (stream: JsStream, message: string): Promise<string> {
  stream.on('error', () => {})
  const back = receive(stream, message.length)
  stream.write(message)
  return (await back).toString()
}

for (const role of ROLES) {
  const oursSide: 'client' | 'server' = role.client === OURS ? 'client' : 'server'

  describe(`yamux-js API on the wire: ${role.name}`, () => {
    it('echoes on 20 streams opened by each side, written at once after open()', async () => {
      const c = await connect(role, { onServerStream: echo })
      try {
        c.client.onStream = echo
        const toServer = frameCounter(c.serverSocket)
        const toClient = frameCounter(c.clientSocket)
        const message = 'x'.repeat(1024)
        const progress = { replied: 0 }
        for (const opener of [c.client, c.server]) {
          const replies = await settle(Promise.all(Array.from({ length: 20 }, async () => {
            const reply = await exchange(opener.open(), message)
            progress.replied++
            return reply
          })), () => progress.replied)
          expect(replies).to.deep.equal({ kind: 'done', value: Array.from({ length: 20 }, () => message) })
        }
        // our SYN travels alone on a WindowUpdate (yamux-js drops the payload
        // of a Data frame that carries SYN), and grants no extra window
        const ourFrames = oursSide === 'client' ? toServer : toClient
        const ourIds = [...ourFrames.first.keys()].filter(id => (id % 2 === 1) === (oursSide === 'client'))
        expect(ourIds).to.have.length(20)
        for (const id of ourIds) {
          expect(ourFrames.first.get(id)).to.deep.equal({ type: FrameType.WindowUpdate, flags: Flag.SYN, length: 0 })
        }
        expect(c.errors).to.deep.equal({ client: [], server: [] })
      } finally {
        c.teardown()
      }
    })

    it('reports yamux-js\'s close() (its FIN) as the end of our stream', async () => {
      const atOurs = { data: '', ended: false }
      const watchOurs = (stream: JsStream): void => {
        stream.on('data', (data: Buffer) => { atOurs.data += data.toString() })
        stream.on('end', () => { atOurs.ended = true })
      }
      const c = await connect(role, {
        onServerStream: (stream) => {
          if (stream.ID() !== 1) { echo(stream); return }
          if (oursSide === 'server') { watchOurs(stream) } else { stream.on('data', (data: Buffer) => { stream.write(data); stream.close() }) }
        }
      })
      try {
        const stream = c.client.open()
        if (oursSide === 'client') {
          watchOurs(stream)
          const ended = once(stream, 'end')
          stream.write('hi')
          expect((await settle(ended)).kind).to.equal('done')
        } else {
          stream.write('hi')
          stream.close()
          await barrier(c.client)
        }
        expect(atOurs).to.deep.equal({ data: 'hi', ended: true })
      } finally {
        c.teardown()
      }
    })

    it('carries 1 MiB from yamux-js to ours', async () => {
      const data = Buffer.alloc(1024 * 1024)
      for (let i = 0; i < data.length; i++) { data[i] = (i * 7) & 0xff }
      let got = 0
      let delivered!: (data: Promise<Buffer>) => void
      const received = new Promise<Promise<Buffer>>((resolve) => { delivered = resolve })
      const onOurs = (stream: JsStream): void => { delivered(receive(stream, data.length, (n) => { got = n })) }
      const c = await connect(role, { onServerStream: oursSide === 'server' ? onOurs : echo })
      try {
        if (oursSide === 'client') { c.client.onStream = onOurs }
        const sender: JsSession = oursSide === 'client' ? c.server : c.client
        const stream = sender.open()
        stream.on('error', () => {})
        stream.write(data)
        const arrived = await settle(received.then(async (data) => data), () => got)
        expect(arrived.kind).to.equal('done')
        expect(arrived.kind === 'done' && arrived.value.equals(data)).to.equal(true)
      } finally {
        c.teardown()
      }
    })

    for (const pinger of ['ours', 'yamux-js'] as const) {
      it(`answers keep-alive pings sent by ${pinger}`, async () => {
        // ours pings only after an interval without hearing from the peer:
        // one side at a time, so the other stays quiet
        const pingerSide = (pinger === 'ours') === (oursSide === 'client') ? 'client' : 'server'
        const keepAlive = { enableKeepAlive: true, keepAliveInterval: 0.02, connectionWriteTimeout: 0.5 }
        const c = await connect(role, pingerSide === 'client' ? { client: keepAlive } : { server: keepAlive })
        try {
          const atPeer = frameCounter(pingerSide === 'client' ? c.serverSocket : c.clientSocket)
          const pinged = new Promise<void>((resolve) => {
            const check = setInterval(() => { if (atPeer.pings >= 5) { clearInterval(check); resolve() } }, 10)
          })
          expect((await settle(pinged, () => atPeer.pings)).kind).to.equal('done')
          expect(c.errors).to.deep.equal({ client: [], server: [] })
          expect([c.client.isClosed(), c.server.isClosed()]).to.deep.equal([false, false])
        } finally {
          c.teardown()
        }
      })
    }

    it('close() on our side sends GoAway(0) and closes the socket', async () => {
      const c = await connect(role, { onServerStream: echo })
      try {
        c.client.onStream = echo
        await barrier(c.client)
        const toPeer = frameCounter(oursSide === 'client' ? c.serverSocket : c.clientSocket)
        let closed = 0
        const both = Promise.all([once(c.clientSocket, 'close'), once(c.serverSocket, 'close')].map(async p => p.then(() => { closed++ })))
        const ourSession = oursSide === 'client' ? c.client : c.server
        ourSession.close()
        expect((await settle(both, () => closed)).kind).to.equal('done')
        expect(toPeer.goAways).to.deep.equal([0])
        expect(c.errors).to.deep.equal({ client: [], server: [] })
      } finally {
        c.teardown()
      }
    })
  })
}
