/**
 * The benchmark's stand-in for libp2p's upgrade keeps what the peer sent
 * after the exchange: the peer's muxer may already be talking (its first
 * ping), and a muxer that never sees that ping never answers it.
 */
import { expect } from 'aegir/chai'
import { Uint8ArrayList } from 'uint8arraylist'
import { UPGRADE_EXCHANGE, imitateUpgrade, tcpPair } from '../../benchmarks/transports.ts'
import type { TransportPair } from '../../benchmarks/transports.ts'
import type { MessageStream } from '@libp2p/interface'

async function bytesFrom (conn: MessageStream, n: number): Promise<Uint8Array> {
  const got = new Uint8ArrayList()
  return new Promise((resolve) => {
    const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }): void => {
      got.append(evt.data)
      if (got.byteLength < n) { return }
      conn.removeEventListener('message', onMessage)
      resolve(got.subarray(0, n))
    }
    conn.addEventListener('message', onMessage)
  })
}

describe('benchmark upgrade exchange', () => {
  let pair: TransportPair | undefined

  afterEach(async () => {
    await pair?.close()
    pair = undefined
  })

  it('hands bytes that follow the exchange in the same read to the next reader', async () => {
    process.env.BENCH_TCP_FRESH = '1'
    try {
      pair = await tcpPair()
    } finally {
      delete process.env.BENCH_TCP_FRESH
    }
    const { dialer, listener } = pair
    const early = Uint8Array.from([0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7]) // a yamux ping, say
    // the listener's side played by hand: its last message and the early
    // bytes leave in one write, so the dialer reads them together
    const listenerSide = (async () => {
      const steps = UPGRADE_EXCHANGE
      for (let i = 0; i < steps.length; i++) {
        const [from, bytes] = steps[i]
        if (from === 'dialer') {
          await bytesFrom(listener, bytes)
        } else if (i === steps.length - 1) {
          const last = new Uint8Array(bytes + early.byteLength)
          last.set(early, bytes)
          listener.send(last)
        } else {
          listener.send(new Uint8Array(bytes))
        }
      }
    })()
    await Promise.all([imitateUpgrade(dialer, 'dialer'), listenerSide])
    expect(UPGRADE_EXCHANGE[UPGRADE_EXCHANGE.length - 1][0]).to.equal('listener')
    expect(await bytesFrom(dialer, early.byteLength)).to.deep.equal(early)
  })
})
