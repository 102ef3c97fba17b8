/**
 * The same program against yamux-js 0.2 and libp2p-yamux/yamux-js (only the
 * import differs), over TCP loopback: echo, many streams, half-close, reset.
 * Ours must pass; where yamux-js fails, its known failure is asserted.
 */
import { createHash } from 'node:crypto'
import { expect } from 'aegir/chai'
import { IMPLS, barrier, connect, echo, receive, settle } from './fixtures.ts'
import type { Impl, JsStream } from './fixtures.ts'

const MiB = 1024 * 1024

function sha (data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Writes `data` in 64 KiB chunks, waiting for 'drain' when asked. */
async function writeAll (stream: JsStream, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; at += 64 * 1024) {
    if (!stream.write(data.subarray(at, at + 64 * 1024))) {
      await new Promise(resolve => stream.once('drain', resolve))
    }
  }
}

for (const impl of IMPLS) {
  const ours = impl.name === 'ours'

  describe(`yamux-js API, ${impl.name}: streams over TCP`, () => {
    it('echoes a small message; stream ids are odd from the client, even from the server', async () => {
      const c = await connect(impl, { onServerStream: echo })
      try {
        const stream = c.client.open()
        const back = receive(stream, 11)
        stream.write('hello yamux')
        expect((await back).toString()).to.equal('hello yamux')
        expect(stream.ID()).to.equal(1)

        c.client.onStream = echo
        const fromServer = c.server.open()
        const back2 = receive(fromServer, 5)
        fromServer.write('howdy')
        expect((await back2).toString()).to.equal('howdy')
        expect(fromServer.ID()).to.equal(2)
        expect(c.errors).to.deep.equal({ client: [], server: [] })
      } finally {
        c.teardown()
      }
    })

    it('echoes 8 MiB on one stream', async () => {
      const c = await connect(impl, { onServerStream: (stream) => { stream.on('error', () => {}); stream.pipe(stream) } })
      try {
        const data = Buffer.alloc(8 * MiB)
        for (let i = 0; i < data.length; i++) { data[i] = (i * 31) & 0xff }
        const stream = c.client.open()
        stream.on('error', () => {})
        let got = 0
        const back = receive(stream, data.length, (n) => { got = n })
        void writeAll(stream, data)
        const outcome = await settle(back, () => got)
        if (ours) {
          expect(outcome.kind).to.equal('done')
          expect(outcome.kind === 'done' && sha(outcome.value)).to.equal(sha(data))
        } else {
          // known failure: a frame split across two socket reads is dropped
          // and the receiver waits forever for the rest of it
          expect(outcome.kind).to.equal('stalled')
          expect(got).to.be.lessThan(data.length)
        }
      } finally {
        c.teardown()
      }
    })

    it('runs 200 streams each way at once', async () => {
      const c = await connect(impl, { onServerStream: echo })
      try {
        c.client.onStream = echo
        let done = 0
        const run = async (stream: JsStream, i: number): Promise<void> => {
          stream.on('error', () => {})
          const message = `message ${i}`
          const back = receive(stream, message.length)
          stream.write(message)
          expect((await back).toString()).to.equal(message)
          done++
        }
        // the client's 200 first, then the server's 200
        const fromClient = await settle(Promise.all(Array.from({ length: 200 }, async (_, i) => run(c.client.open(), i))), () => done)
        expect(fromClient.kind).to.equal('done')
        const fromServer = await settle(Promise.all(Array.from({ length: 200 }, async (_, i) => run(c.server.open(), i))), () => done)
        if (ours) {
          expect(fromServer.kind).to.equal('done')
          expect(done).to.equal(400)
        } else {
          // known failure: acceptBacklog (256) counts every stream the client
          // ever had, its own 200 included: the server's 57th is reset
          expect(fromServer.kind).to.equal('stalled')
          expect(done).to.equal(200 + 56)
          expect(c.logs.client.filter(l => l.includes('backlog exceeded'))).to.have.length(200 - 56)
        }
      } finally {
        c.teardown()
      }
    })

    it('half-closes: end() reaches the peer as end, which answers and ends too', async () => {
      const seen = { serverEnded: false, request: '' }
      const c = await connect(impl, {
        onServerStream: (stream) => {
          if (stream.ID() !== 1) { echo(stream); return }
          stream.on('data', (data: Buffer) => { seen.request += data.toString() })
          stream.on('end', () => {
            seen.serverEnded = true
            stream.end(`got ${seen.request}`)
          })
        }
      })
      try {
        const stream = c.client.open()
        let reply = ''
        let clientEnded = false
        stream.on('data', (data: Buffer) => { reply += data.toString() })
        stream.on('end', () => { clientEnded = true })
        stream.end('request')
        await barrier(c.client)
        expect(seen.request).to.equal('request')
        if (ours) {
          expect(seen).to.deep.equal({ serverEnded: true, request: 'request' })
          expect({ reply, clientEnded }).to.deep.equal({ reply: 'got request', clientEnded: true })
        } else {
          // known failure: end() sends no FIN (and a FIN would be ignored)
          expect(seen.serverEnded).to.equal(false)
          expect({ reply, clientEnded }).to.deep.equal({ reply: '', clientEnded: false })
        }
      } finally {
        c.teardown()
      }
    })

    it('close() on a stream half-closes it like end()', async () => {
      let serverEnded = false
      const c = await connect(impl, {
        onServerStream: (stream) => {
          if (stream.ID() !== 1) { echo(stream); return }
          stream.resume()
          stream.on('end', () => { serverEnded = true })
        }
      })
      try {
        const stream = c.client.open()
        stream.write('x')
        stream.close()
        await barrier(c.client)
        // yamux-js sends FIN here, but its receiver ignores FIN
        expect(serverEnded).to.equal(ours)
      } finally {
        c.teardown()
      }
    })

    for (const resetBy of ['client', 'server'] as const) {
      it(`destroy() on the ${resetBy}'s end resets the stream: the peer's end errors`, async () => {
        const remote: JsStream[] = []
        const c = await connect(impl, { onServerStream: (stream) => { if (remote.length === 0) { remote.push(stream); stream.resume() } else { echo(stream) } } })
        try {
          const stream = c.client.open()
          stream.write('x')
          await barrier(c.client)
          const [local, peer] = resetBy === 'client' ? [stream, remote[0]] : [remote[0], stream]
          const peerErrors: Error[] = []
          let peerClosed = false
          peer.on('error', (err: Error) => peerErrors.push(err))
          peer.on('close', () => { peerClosed = true })
          peer.resume()
          local.on('error', () => {})
          local.destroy()
          await barrier(c.client)
          if (ours) {
            expect(peerErrors.map(e => e.name)).to.deep.equal(['ConnectionResetError'])
            expect(peerClosed).to.equal(true)
          } else {
            // known failure: destroy() sends no RST; the peer never knows
            expect({ peerErrors, peerClosed }).to.deep.equal({ peerErrors: [], peerClosed: false })
          }
        } finally {
          c.teardown()
        }
      })
    }

    it('opens and closes 600 streams in sequence', async () => {
      const c = await connect(impl, { onServerStream: echo })
      try {
        let completed = 0
        const sequence = async (): Promise<void> => {
          for (let i = 0; i < 600; i++) {
            const stream = c.client.open()
            stream.on('error', () => {})
            const back = receive(stream, 4)
            stream.write('ping')
            expect((await back).toString()).to.equal('ping')
            stream.close()
            completed++
          }
        }
        const outcome = await settle(sequence(), () => completed)
        if (ours) {
          expect(outcome.kind).to.equal('done')
          expect(completed).to.equal(600)
        } else {
          // known failure: streams are never forgotten (FIN ignored), and
          // acceptBacklog counts them all: the 257th is reset
          expect(outcome.kind).to.equal('stalled')
          expect(completed).to.equal(256)
          expect(c.logs.server.filter(l => l.includes('backlog exceeded'))).to.have.length(1)
        }
      } finally {
        c.teardown()
      }
    })
  })
}

export type { Impl }
