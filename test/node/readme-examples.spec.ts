/**
 * The README's Node examples (examples/node-echo.ts, shown verbatim in the
 * README) run as written, and survive clients and servers that disconnect,
 * reset streams or send garbage: no uncaught exception, no unhandled
 * rejection, and the server goes on serving.
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { expect } from 'aegir/chai'
import { echo, echoServer } from '../../examples/node-echo.ts'
import { Flag, FrameType } from '../../src/core/index.ts'
import { failOnEscapes, header, sleep } from '../fixtures/node-peers.ts'
import { decodeAll } from '../fixtures/raw-peer.ts'

const ROOT = new URL('../../../', import.meta.url)

async function listen (server: net.Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as net.AddressInfo).port
}

async function rawClient (port: number, bytes: Uint8Array, then: 'destroy' | 'end' | 'stay'): Promise<void> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.resume()
  await new Promise(resolve => socket.once('connect', resolve))
  socket.write(bytes)
  await sleep(30)
  if (then === 'destroy') { socket.destroy() } else if (then === 'end') { socket.end() }
  await sleep(30)
  socket.destroy()
}

/** A server that answers the first stream it sees with `reply(streamId)`. */
async function rawServer (reply: (streamId: number, socket: net.Socket) => void): Promise<{ port: number, close(): void }> {
  const sockets: net.Socket[] = []
  const server = net.createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    let replied = false
    socket.on('data', (chunk: Buffer) => {
      const syn = decodeAll(chunk).find(f => (f.flags & Flag.SYN) !== 0 && f.streamId !== 0)
      if (syn !== undefined && !replied) {
        replied = true
        reply(syn.streamId, socket)
      }
    })
  })
  const port = await listen(server)
  return { port, close: () => { for (const s of sockets) { s.destroy() } server.close() } }
}

describe('README examples (examples/node-echo.ts)', function () {
  this.timeout(20_000)
  failOnEscapes()
  let server: net.Server
  let port: number
  const connections = new Set<net.Socket>()

  before(async () => {
    server = echoServer()
    server.on('connection', (socket) => {
      connections.add(socket)
      socket.once('close', () => connections.delete(socket))
    })
    port = await listen(server)
  })

  after(async () => {
    for (const socket of connections) { socket.destroy() }
    await new Promise(resolve => server.close(resolve))
  })

  it('the README shows examples/node-echo.ts as it is', () => {
    const readme = readFileSync(new URL('README.md', ROOT), 'utf8')
    const example = readFileSync(new URL('examples/node-echo.ts', ROOT), 'utf8')
      .replace("'../src/node/index.ts'", "'libp2p-yamux/node'")
    expect(readme).to.include('```TypeScript\n' + example + '```')
  })

  it('echoes', async () => {
    expect(await echo(port, 'hello')).to.equal('hello')
    expect(await echo(port, 'x'.repeat(1_000_000))).to.have.length(1_000_000)
  })

  it('the server survives a client that disconnects in the middle of a stream', async () => {
    await rawClient(port, Buffer.concat([header(FrameType.Data, Flag.SYN, 1, 5), Buffer.from('hel')]), 'destroy')
    await rawClient(port, Buffer.concat([header(FrameType.Data, Flag.SYN, 1, 3), Buffer.from('abc')]), 'end')
    expect(await echo(port, 'still here')).to.equal('still here')
  })

  it('the server survives a client that resets its stream', async () => {
    await rawClient(port, Buffer.concat([header(FrameType.Data, Flag.SYN, 1, 3), Buffer.from('abc'), header(FrameType.WindowUpdate, Flag.RST, 1, 0)]), 'stay')
    await rawClient(port, Buffer.concat([header(FrameType.WindowUpdate, Flag.SYN, 1, 0), header(FrameType.WindowUpdate, Flag.RST, 1, 0)]), 'stay')
    expect(await echo(port, 'still here')).to.equal('still here')
  })

  it('the server survives a client that sends garbage', async () => {
    await rawClient(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'stay')
    const bad = header(FrameType.Data, Flag.SYN, 2, 3) // our parity: a protocol error
    await rawClient(port, bad, 'stay')
    expect(await echo(port, 'still here')).to.equal('still here')
  })

  it('the client rejects with ConnectionResetError when the server resets the stream', async () => {
    const peer = await rawServer((id, socket) => { socket.write(header(FrameType.WindowUpdate, Flag.RST, id, 0)) })
    const err = await echo(peer.port, 'hi').catch((e: Error) => e)
    expect(err).to.have.property('name', 'ConnectionResetError')
    peer.close()
  })

  it('the client rejects with a typed error when the server disconnects', async () => {
    const peer = await rawServer((_id, socket) => { socket.destroy() })
    const err = await echo(peer.port, 'hi').catch((e: Error) => e)
    expect(err).to.be.instanceOf(Error)
    expect(['TransportClosedError', 'TransportError']).to.include((err as Error).name)
    peer.close()
  })

  it('the client rejects with a typed error when the server sends garbage', async () => {
    const peer = await rawServer((_id, socket) => { socket.write('HTTP/1.1 400 Bad Request\r\n\r\n') })
    const err = await echo(peer.port, 'hi').catch((e: Error) => e)
    expect(err).to.have.property('name', 'InvalidVersionError')
    peer.close()
  })

  it('the client rejects with a typed error when nobody listens', async () => {
    const closed = net.createServer()
    const free = await listen(closed)
    await new Promise(resolve => closed.close(resolve))
    const err = await echo(free, 'hi').catch((e: Error) => e)
    expect(err).to.have.property('name', 'TransportError')
  })
})
