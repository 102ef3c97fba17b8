/**
 * The Node API over each kind of transport users run it on: `net.Socket`,
 * `tls.TLSSocket` (a self-signed certificate made with openssl at test time)
 * and a WebSocket as a byte Duplex (`createWebSocketStream` of `ws`). The
 * same exchange on each: streams both ways with data checked, a reset, and
 * a close that settles with the transport closed on both sides.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream'
import tls from 'node:tls'
import { expect } from 'aegir/chai'
import { WebSocket, WebSocketServer, createWebSocketStream } from 'ws'
import { Client, Server } from '../../src/node/index.ts'
import { failOnEscapes } from '../fixtures/node-peers.ts'
import type { Transport, YamuxDuplex } from '../../src/node/index.ts'

async function readAll (stream: YamuxDuplex): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) { chunks.push(chunk) }
  return Buffer.concat(chunks)
}

function sha (data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Runs the exchange over a connected pair of transports. */
async function exercise (clientTransport: Transport, serverTransport: Transport): Promise<void> {
  const client = Client(clientTransport, { enableKeepAlive: false })
  const server = Server(serverTransport, { enableKeepAlive: false })
  const resets: string[] = []
  const serving = (async () => {
    for await (const stream of server) {
      pipeline(stream, stream, (err) => { if (err != null) { resets.push(err.name) } })
    }
  })()
  // streams from the client, echoed
  const data = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < data.length; i++) { data[i] = (i * 31) & 0xff }
  const echoes = await Promise.all(Array.from({ length: 8 }, async () => {
    const stream = await client.open()
    stream.end(data)
    return sha(await readAll(stream))
  }))
  expect(new Set(echoes)).to.deep.equal(new Set([sha(data)]))
  // a stream from the server
  const fromServer = await server.open()
  fromServer.end('hello client')
  const atClient = await client.accept()
  atClient.end()
  expect((await readAll(atClient)).toString()).to.equal('hello client')
  fromServer.resume()
  // a reset reaches the other side as ConnectionResetError
  const doomed = await client.open()
  doomed.write('x')
  await new Promise(resolve => doomed.once('data', resolve)) // echoed: the server holds it
  doomed.destroy()
  for (let i = 0; i < 100 && resets.length === 0; i++) { await new Promise(resolve => setTimeout(resolve, 10)) }
  expect(resets).to.deep.equal(['ConnectionResetError'])
  // close settles once the transport is closed; the other side ends cleanly
  await client.close()
  expect(await server.closed).to.equal(undefined)
  await serving
  await server.close()
  expect(clientTransport.destroyed).to.equal(true)
  expect(serverTransport.destroyed).to.equal(true)
}

describe('node API over each transport', function () {
  this.timeout(30_000)
  failOnEscapes()

  it('net.Socket', async () => {
    const listener = net.createServer()
    await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve))
    const port = (listener.address() as net.AddressInfo).port
    const accepted = new Promise<net.Socket>(resolve => listener.once('connection', resolve))
    const socket = net.connect(port, '127.0.0.1')
    await exercise(socket, await accepted)
    listener.close()
  })

  describe('tls.TLSSocket', () => {
    let dir: string
    let key: Buffer
    let cert: Buffer
    before(() => {
      // a throw-away self-signed certificate for 127.0.0.1, made here, never stored
      dir = mkdtempSync(join(tmpdir(), 'yamux-tls-'))
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
      key = readFileSync(join(dir, 'key.pem'))
      cert = readFileSync(join(dir, 'cert.pem'))
    })
    after(() => { rmSync(dir, { recursive: true, force: true }) })

    it('tls.TLSSocket, certificate verified', async () => {
      const listener = tls.createServer({ key, cert })
      await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve))
      const port = (listener.address() as net.AddressInfo).port
      const accepted = new Promise<tls.TLSSocket>(resolve => listener.once('secureConnection', resolve))
      const socket = tls.connect({ port, host: '127.0.0.1', ca: cert })
      await new Promise(resolve => socket.once('secureConnect', resolve))
      expect(socket.authorized).to.equal(true)
      await exercise(socket, await accepted)
      listener.close()
    })
  })

  it('a WebSocket as a byte Duplex (ws createWebSocketStream)', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise(resolve => wss.once('listening', resolve))
    const port = (wss.address() as net.AddressInfo).port
    const accepted = new Promise<WebSocket>(resolve => wss.once('connection', resolve))
    const ws = new WebSocket(`ws://127.0.0.1:${port}`)
    await new Promise(resolve => ws.once('open', resolve))
    await exercise(createWebSocketStream(ws), createWebSocketStream(await accepted))
    await new Promise(resolve => wss.close(resolve))
  })
})
