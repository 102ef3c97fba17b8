/**
 * How libp2p streams end when the connection under them ends: a stream the
 * peer did not finish (no FIN) fails when the transport ends without
 * GoAway, so a killed sender never looks like a finished one; streams the
 * peer finished, and every stream after our own close(), end cleanly; a
 * transport failure reaches every stream as TransportError.
 */
import { expect } from 'aegir/chai'
import { TransportClosedError, TransportError } from '../../src/index.ts'
import { muxers, pattern, until, within } from './helpers.ts'
import type { Stream, StreamCloseEvent } from '@libp2p/interface'

function closed (stream: Stream): Promise<StreamCloseEvent> {
  return new Promise(resolve => { stream.addEventListener('close', resolve, { once: true }) })
}

/** Reads to the end; returns the bytes read and what the iteration threw. */
async function readAll (stream: Stream): Promise<{ bytes: number, error?: Error }> {
  let bytes = 0
  try {
    for await (const chunk of stream) { bytes += chunk.byteLength }
    return { bytes }
  } catch (err: any) {
    return { bytes, error: err }
  }
}

describe('libp2p streams when the transport ends', function () {
  this.timeout(20_000)

  it('a stream without the peer\'s FIN fails with TransportClosedError when the transport ends without GoAway', async () => {
    const { dialer, inbound, conns } = muxers()
    const upload = await dialer.createStream()
    upload.send(pattern(0, 1000))
    await until(() => inbound.length === 1)
    const reader = inbound[0]
    const reading = readAll(reader)
    const onClose = closed(reader)
    await until(() => reader.readBufferLength === 0)
    // the sending process dies: its transport ends (a FIN on TCP), no GoAway, no stream FIN
    await conns[0].close()
    const evt = await within(onClose, 5000, 'close event')
    expect(evt.error).to.be.an.instanceOf(TransportClosedError)
    expect(evt.error?.name).to.equal('TransportClosedError')
    const result = await within(reading, 5000, 'reader')
    expect(result.error?.name).to.equal('TransportClosedError')
    expect(reader.status).to.not.equal('closed')
  })

  it('a stream the peer finished (FIN) ends cleanly with all its data when the transport ends', async () => {
    const { dialer, inbound, conns } = muxers()
    const upload = await dialer.createStream()
    upload.send(pattern(0, 1000))
    await upload.close()
    await until(() => inbound.length === 1 && inbound[0].remoteWriteStatus === 'closed')
    const reader = inbound[0]
    const onClose = closed(reader)
    await conns[0].close()
    const evt = await within(onClose, 5000, 'close event')
    expect(evt.error).to.equal(undefined)
    const result = await within(readAll(reader), 5000, 'reader')
    expect(result).to.deep.equal({ bytes: 1000 })
  })

  it('after our own close() (as libp2p closes a connection) every stream ends cleanly on both sides', async () => {
    const { dialer, inbound, conns } = muxers()
    const upload = await dialer.createStream()
    upload.send(pattern(0, 1000))
    await until(() => inbound.length === 1)
    // the listener's side of the stream never finishes writing: only our close ends it
    const onClose = closed(upload)
    const remoteClose = closed(inbound[0])
    await within(dialer.close(), 5000, 'muxer close')
    await conns[0].close()
    expect((await within(onClose, 5000, 'local close')).error).to.equal(undefined)
    expect((await within(remoteClose, 5000, 'remote close')).error).to.equal(undefined)
    expect(await within(readAll(inbound[0]), 5000, 'remote reader')).to.deep.equal({ bytes: 1000 })
  })

  it('a stream without FIN ends cleanly when the peer sent GoAway before its transport ended', async () => {
    const { dialer, inbound, conns } = muxers()
    const upload = await dialer.createStream()
    upload.send(pattern(0, 1000))
    await until(() => inbound.length === 1 && inbound[0].readBufferLength === 1000)
    const onClose = closed(inbound[0])
    // GoAway(0) from a peer that keeps its streams open (libp2p's close() would FIN them first)
    ;(dialer as any).session.goAway()
    await until(() => (inbound[0] as any).session.remoteGoAway === true)
    await conns[0].close()
    expect((await within(onClose, 5000, 'close event')).error).to.equal(undefined)
    expect(await within(readAll(inbound[0]), 5000, 'reader')).to.deep.equal({ bytes: 1000 })
  })

  it('a transport failure reaches every stream as TransportError carrying the transport\'s error', async () => {
    const { dialer, inbound, conns } = muxers()
    const upload = await dialer.createStream()
    upload.send(pattern(0, 1000))
    await until(() => inbound.length === 1)
    const onClose = closed(inbound[0])
    const cause = new Error('connection reset by peer')
    conns[0].abort(cause)
    const evt = await within(onClose, 5000, 'close event')
    expect(evt.error).to.be.an.instanceOf(TransportError)
    expect(evt.error?.name).to.equal('TransportError')
    expect((evt.error as TransportError).cause).to.equal(cause)
  })
})
