import { createHash } from 'node:crypto'
import { expect } from 'aegir/chai'
import { tcpPair } from '../fixtures/node-peers.ts'
import type { YamuxDuplex } from '../../src/node/index.ts'

async function readAll (stream: YamuxDuplex): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) { chunks.push(chunk) }
  return Buffer.concat(chunks)
}

describe('node API: Client/Server over TCP', () => {
  it('echoes 16 MiB on a stream with back-pressure both ways', async () => {
    const { client, server, close } = await tcpPair()
    void (async () => {
      const stream = await server.accept()
      stream.pipe(stream)
    })()
    const stream = await client.open()
    const data = Buffer.alloc(16 * 1024 * 1024)
    for (let i = 0; i < data.length; i++) { data[i] = (i * 13) & 0xff }
    const reading = readAll(stream)
    stream.end(data)
    const back = await reading
    expect(createHash('sha256').update(back).digest('hex')).to.equal(createHash('sha256').update(data).digest('hex'))
    await close()
  })

  it('opens from both sides, pings and closes cleanly', async () => {
    const { client, server, close } = await tcpPair()
    const fromServer = await server.open()
    fromServer.end('hello client')
    fromServer.resume()
    const atClient = await client.accept()
    atClient.end()
    expect((await readAll(atClient)).toString()).to.equal('hello client')
    expect(await client.ping()).to.be.a('number').and.at.least(0)
    const closed = new Promise(resolve => server.once('close', resolve))
    client.close()
    expect(await closed).to.equal(undefined)
    expect(server.isClosed).to.equal(true)
    await close()
  })

  it('a clean session end leaves buffered data readable and raises no error', async () => {
    const { client, server, close } = await tcpPair()
    const stream = await server.open()
    stream.write('still here')
    const atClient = await client.accept()
    const errors: Error[] = []
    atClient.on('error', (err) => errors.push(err))
    await new Promise(resolve => setTimeout(resolve, 50))
    server.close()
    await new Promise(resolve => client.once('close', resolve))
    const chunks: Buffer[] = []
    atClient.on('data', (chunk: Buffer) => chunks.push(chunk))
    await new Promise(resolve => atClient.once('end', resolve))
    expect(Buffer.concat(chunks).toString()).to.equal('still here')
    expect(errors).to.deep.equal([])
    await close()
  })

  it('a stream reset by the peer errors with ConnectionResetError', async () => {
    const { client, server, close } = await tcpPair()
    const stream = await client.open()
    stream.write('x')
    const remote = await server.accept()
    const error = new Promise<Error>(resolve => stream.once('error', resolve))
    remote.destroy()
    expect((await error).name).to.equal('ConnectionResetError')
    await close()
  })
})
