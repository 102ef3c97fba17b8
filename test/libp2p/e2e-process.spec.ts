/**
 * The real thing for "a killed sender never looks like a finished upload":
 * a separate Node process uploads over TCP + noise to a libp2p node muxing
 * with ours, and is SIGKILLed mid-upload (the kernel closes its socket, no
 * GoAway, no FIN on the stream) or finishes and exits normally.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { yamux } from '../../src/index.ts'
import { CHUNK, UPLOAD } from './fixtures/upload-protocol.ts'
import type { Libp2p } from 'libp2p'

interface Outcome { bytes: number, error?: string }

const script = fileURLToPath(new URL('./fixtures/upload-process.js', import.meta.url))

describe('libp2p + TCP + noise: an uploading process that dies or finishes', function () {
  this.timeout(60_000)
  let node: Libp2p
  /** What the upload handler saw, for the current test. */
  const state: { outcome?: Promise<Outcome> } = {}

  beforeEach(async () => {
    node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionMonitor: { enabled: false }
    })
    state.outcome = new Promise<Outcome>(resolve => {
      void node.handle(UPLOAD, async (stream) => {
        let bytes = 0
        let acked = false
        try {
          for await (const chunk of stream) {
            bytes += chunk.byteLength
            if (!acked) { acked = true; stream.send(Uint8Array.of(1)) }
          }
          await stream.close()
          resolve({ bytes })
        } catch (err: any) {
          resolve({ bytes, error: err.name })
        }
      })
    })
  })

  afterEach(async () => {
    await node?.stop()
  })

  async function run (mode: 'kill' | 'finish', muxer: 'ours' | 'chainsafe'): Promise<number | null> {
    const child = spawn(process.execPath, [script, node.getMultiaddrs()[0].toString(), mode, muxer], { stdio: ['ignore', 'ignore', 'inherit'] })
    return new Promise(resolve => { child.on('exit', (code) => { resolve(code) }) })
  }

  for (const muxer of ['ours', 'chainsafe'] as const) {
    it(`a sender (${muxer} yamux) killed mid-upload: the upload fails, it does not end cleanly`, async () => {
      const exit = run('kill', muxer)
      const result = await state.outcome
      expect(await exit).to.equal(null) // killed by the signal
      // a FIN from the dead socket is TransportClosedError; a TCP reset is TransportError
      expect(result?.error).to.be.oneOf(['TransportClosedError', 'TransportError'])
    })
  }

  it('a sender that finishes (stream FIN) and exits: the upload ends cleanly with every byte', async () => {
    const exit = run('finish', 'ours')
    expect(await state.outcome).to.deep.equal({ bytes: 2 * CHUNK })
    expect(await exit).to.equal(0)
  })
})
