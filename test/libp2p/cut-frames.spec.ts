/* Frames cut by transport reads reach a libp2p stream as one delivery each (up to 256 KiB), in order, intact. */
import { expect } from 'aegir/chai'
import { Uint8ArrayList } from 'uint8arraylist'
import { muxers, pattern, patternByte, until } from './helpers.ts'
import type { Muxers } from './helpers.ts'

/** Makes the listener's transport hand every chunk on in reads of `size` bytes, as TCP or noise cut frames. */
function cutReads (m: Muxers, size: number): void {
  const conn = m.conns[1]
  const onData = conn.onData.bind(conn)
  conn.onData = (data: Uint8Array | Uint8ArrayList): void => {
    const bytes = data instanceof Uint8Array ? data : data.subarray()
    for (let i = 0; i < bytes.byteLength; i += size) { onData(bytes.subarray(i, i + size)) }
  }
}

/** Listens on the listener's one stream (already there) and resolves with the message sizes once `total` bytes came. */
async function receive (m: Muxers, total: number): Promise<number[]> {
  const sizes: number[] = []
  let at = 0
  let wrong = 0
  m.inbound[0].addEventListener('message', (evt) => {
    const bytes = evt.data.subarray()
    for (let k = 0; k < bytes.byteLength; k++) { if (bytes[k] !== patternByte(at + k)) { wrong++ } }
    at += bytes.byteLength
    sizes.push(bytes.byteLength)
  })
  await until(() => at >= total)
  expect(wrong, 'bytes out of place').to.equal(0)
  return sizes
}

describe('libp2p streams: frames cut by transport reads', () => {
  it('a 64 KiB frame cut into 1,000-byte reads arrives as one message', async () => {
    const m = muxers()
    cutReads(m, 1000)
    const stream = await m.dialer.createStream()
    await until(() => m.inbound.length === 1)
    const total = 10 * 65536
    const received = receive(m, total)
    for (let at = 0; at < total; at += 65536) { stream.send(pattern(at, 65536)) }
    const sizes = await received
    expect(sizes).to.deep.equal(new Array(10).fill(65536))
  })

  it('a 1 MiB frame is still handed on as it comes, in pieces of about 256 KiB', async () => {
    const m = muxers({ maxMessageSize: 1024 * 1024 }, { initialStreamWindowSize: 4 * 1024 * 1024, maxStreamWindowSize: 4 * 1024 * 1024 })
    cutReads(m, 65536)
    const stream = await m.dialer.createStream()
    await until(() => m.inbound.length === 1)
    const total = 1024 * 1024
    const received = receive(m, total)
    stream.send(pattern(0, total))
    const sizes = await received
    expect(sizes.length).to.be.at.least(4)
    for (const size of sizes) { expect(size).to.be.at.most(256 * 1024 + 65536) }
  })
})
