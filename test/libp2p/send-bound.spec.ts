/* The connection-wide bound on queued writes, seen from libp2p streams: a peer that stops reading back-pressures every writer at maxSessionSendQueue, and all resume intact. */
import { expect } from 'aegir/chai'
import { DEFAULT_MAX_SESSION_SEND_QUEUE } from '../../src/core/constants.ts'
import { muxers, pattern, patternByte, settle, until } from './helpers.ts'
import type { SendResult } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

const STREAMS = 20
const CHUNK = 64 * 1024
const WINDOW = 16 * 1024 * 1024

async function stalledWriters (maxSessionSendQueue?: number): Promise<{ accepted: number[], finish(): Promise<number[]> }> {
  // the listener grants 16 MiB windows: per stream, only its 1 MiB queue limit would hold writers back
  const m = muxers({ maxSessionSendQueue }, { initialStreamWindowSize: WINDOW, maxStreamWindowSize: WINDOW, maxSessionWindowSize: 64 * WINDOW })
  const streams = await Promise.all(Array.from({ length: STREAMS }, async () => m.dialer.createStream()))
  for (const s of streams) { s.send(Uint8Array.of(patternByte(0))) }
  await until(() => m.inbound.length === STREAMS)
  await settle() // the listener's ACKs and 16 MiB grants arrive
  const received = new Array<number>(STREAMS).fill(0)
  let corrupt = 0
  m.inbound.forEach((s, i) => {
    s.addEventListener('message', (evt) => {
      const bytes = evt.data.subarray()
      for (let k = 0; k < bytes.byteLength; k++) { if (bytes[k] !== patternByte(received[i] + k)) { corrupt++ } }
      received[i] += bytes.byteLength
    })
  })

  // the peer stops reading: nothing the dialer hands its transport leaves
  const conn = m.conns[0]
  const sendData = conn.sendData.bind(conn)
  const held: Uint8ArrayList[] = []
  conn.sendData = (data: Uint8ArrayList): SendResult => {
    held.push(data)
    return { sentBytes: data.byteLength, canSendMore: false }
  }
  const accepted = streams.map((s, i) => {
    let n = 1
    // each stream writes until send() says wait (at most 32 MiB, so a missing bound ends the loop)
    while (n < 32 * 1024 * 1024) {
      const ok = s.send(pattern(n, CHUNK))
      n += CHUNK
      if (!ok) { break }
    }
    return n
  })
  return {
    accepted,
    finish: async () => {
      // the peer reads again: what was held goes out, then every stream drains and writes the rest
      conn.sendData = sendData
      for (const data of held) { sendData(data) }
      conn.safeDispatchEvent('drain')
      await until(() => streams.every(s => !s.writableNeedsDrain))
      for (const s of streams) { await s.close() }
      await until(() => received.every((n, i) => n === accepted[i]))
      expect(corrupt, 'bytes out of place').to.equal(0)
      return received
    }
  }
}

describe('libp2p streams: a peer that stops reading', () => {
  it('back-pressures all writers together at maxSessionSendQueue (16 MiB by default), then every stream resumes with its data intact', async () => {
    expect(DEFAULT_MAX_SESSION_SEND_QUEUE).to.equal(16 * 1024 * 1024)
    const { accepted, finish } = await stalledWriters()
    const total = accepted.reduce((a, b) => a + b, 0)
    // 20 streams × 1 MiB would be 20 MiB; the session bound stops them at 16 MiB and a chunk each
    expect(total).to.be.at.most(DEFAULT_MAX_SESSION_SEND_QUEUE + STREAMS * CHUNK + STREAMS)
    expect(total).to.be.at.least(DEFAULT_MAX_SESSION_SEND_QUEUE)
    const received = await finish()
    expect(received).to.deep.equal(accepted)
  })

  it('a larger maxSessionSendQueue lets them queue more (the bound is what stopped them)', async () => {
    const { accepted, finish } = await stalledWriters(64 * 1024 * 1024)
    const total = accepted.reduce((a, b) => a + b, 0)
    expect(total).to.be.at.least(STREAMS * 1024 * 1024)
    await finish()
  })
})
