/**
 * Node API, issue 9.6: the transport ending without GoAway is not a clean
 * end for a stream that has not received the peer's FIN ('error' with
 * TransportClosedError, reported by the core), while FIN, and the peer's
 * GoAway before the end, still end streams cleanly.
 */
import { expect } from 'aegir/chai'
import { Flag, FrameType, GoAwayCode } from '../../src/core/index.ts'
import { failOnEscapes, header, rawPeer, sleep } from '../fixtures/node-peers.ts'

describe('node API: the transport ending without GoAway', function () {
  this.timeout(10_000)
  failOnEscapes()

  it('a stream without the peer\'s FIN gets TransportClosedError, not a clean end', async () => {
    const p = await rawPeer()
    const accepting = p.session.accept()
    p.socket.write(Buffer.concat([header(FrameType.Data, Flag.SYN, 1, 4), Buffer.from('half')]))
    const stream = await accepting
    const outcome = new Promise<string>(resolve => {
      stream.once('error', (err) => { resolve(err.name) })
      stream.once('end', () => { resolve('end') })
    })
    stream.resume()
    await sleep(20)
    p.socket.end() // the sender dies: no FIN on the stream, no GoAway
    expect(await outcome).to.equal('TransportClosedError')
    p.done()
  })

  it('a stream that received FIN ends cleanly', async () => {
    const p = await rawPeer()
    const accepting = p.session.accept()
    p.socket.write(Buffer.concat([header(FrameType.Data, Flag.SYN | Flag.FIN, 1, 4), Buffer.from('done')]))
    const stream = await accepting
    const outcome = new Promise<string>(resolve => {
      stream.once('error', (err) => { resolve(err.name) })
      stream.once('end', () => { resolve('end') })
    })
    stream.resume()
    await sleep(20)
    p.socket.end()
    expect(await outcome).to.equal('end')
    p.done()
  })

  it('after the peer\'s GoAway, the transport ending leaves open streams a clean end', async () => {
    const p = await rawPeer()
    const accepting = p.session.accept()
    p.socket.write(Buffer.concat([header(FrameType.Data, Flag.SYN, 1, 4), Buffer.from('half')]))
    const stream = await accepting
    const outcome = new Promise<string>(resolve => {
      stream.once('error', (err) => { resolve(err.name) })
      stream.once('end', () => { resolve('end') })
    })
    stream.resume()
    p.socket.write(header(FrameType.GoAway, 0, 0, GoAwayCode.NormalTermination))
    await sleep(20)
    p.socket.end()
    expect(await outcome).to.equal('end')
    p.done()
  })
})
