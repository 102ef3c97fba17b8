/**
 * Runs in the page: a js-libp2p v3 node (WebSockets + noise + libp2p-yamux
 * from the package root) dials the Node.js nodes the runner started on
 * 127.0.0.1, one muxing with `@chainsafe/libp2p-yamux` and one with ours, and
 * moves MiBs both ways on streams opened from each side.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { activeTimers, yamux } from '../../src/index.ts'
import { ECHO, echo, firstDifference, roundTrip, testData } from '../fixtures/echo.ts'
import type { NodePeerCall, NodePeerInfo, NodePeerStatus, PageGlobals } from './protocol.ts'
import type { Libp2p } from 'libp2p'

const KiB = 1024
const MiB = 1024 * KiB

const page = globalThis as PageGlobals

function nodePeerCall (): NodePeerCall {
  const call = page.yamuxNodePeerCall
  if (call === undefined) { throw new Error('not started by the browser runner (test/browser/run.ts)') }
  return call
}

async function until (what: string, condition: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > end) { throw new Error(`timed out waiting until ${what}`) }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** Round-trips `data` on a new stream the page opens; returns a failure line or undefined. */
async function echoFromPage (node: Libp2p, peer: NodePeerInfo, data: Uint8Array): Promise<string | undefined> {
  const stream = await node.dialProtocol(multiaddr(peer.multiaddr), ECHO, { maxOutboundStreams: 256 })
  const back = await roundTrip(stream, data)
  const at = firstDifference(back, data)
  return at === -1 ? undefined : `${back.byteLength} of ${data.byteLength} bytes back, first difference at ${at}`
}

describe('browser: js-libp2p in the page (WebSockets + noise + libp2p-yamux) dials Node.js', function () {
  const peers = page.yamuxNodePeers ?? []

  it('the runner started the Node.js peers', () => {
    expect(peers.map(p => p.name)).to.deep.equal(['chainsafe', 'ours'])
  })

  for (const peer of peers) {
    describe(`Node.js node muxing with ${peer.muxer}`, function () {
      this.timeout(120_000)
      let node: Libp2p
      let timersBefore = 0
      const pageStreamErrors: string[] = []

      async function nodeStatus (): Promise<NodePeerStatus> {
        return nodePeerCall()(peer.name, 'status', node.peerId.toString())
      }

      before(async () => {
        timersBefore = activeTimers()
        node = await createLibp2p({
          transports: [webSockets()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          // the default gater refuses private addresses such as 127.0.0.1
          connectionGater: { denyDialMultiaddr: () => false },
          connectionMonitor: { enabled: false }
        })
        await node.handle(ECHO, (stream) => {
          echo(stream, (err) => { pageStreamErrors.push(`${err.name}: ${err.message}`) })
        }, { maxInboundStreams: 256, maxOutboundStreams: 256 })
        await node.dial(multiaddr(peer.multiaddr))
      })

      after(async () => {
        await node?.stop()
      })

      it('echoes 2 MiB on one stream the page opens, byte for byte', async () => {
        expect(await echoFromPage(node, peer, testData(2 * MiB, 1))).to.equal(undefined)
      })

      it('echoes 256 KiB on each of 8 concurrent streams the page opens', async () => {
        const failures = await Promise.all(Array.from({ length: 8 }, async (_, i) => echoFromPage(node, peer, testData(256 * KiB, 100 + i))))
        expect(failures.filter(f => f !== undefined)).to.deep.equal([])
      })

      it('the Node.js node opens 8 streams toward the page and gets 256 KiB back on each', async () => {
        const result = await nodePeerCall()(peer.name, 'openStreams', {
          peerId: node.peerId.toString(), streams: 8, bytesPerStream: 256 * KiB, seed: 200
        })
        expect(result.failures).to.deep.equal([])
        expect(result.echoedBytes).to.equal(8 * 256 * KiB)
      })

      it('streams from both sides at once: 4 MiB each way', async () => {
        const [fromNode, ...fromPage] = await Promise.all([
          nodePeerCall()(peer.name, 'openStreams', { peerId: node.peerId.toString(), streams: 4, bytesPerStream: 512 * KiB, seed: 300 }),
          ...Array.from({ length: 4 }, async (_, i) => echoFromPage(node, peer, testData(512 * KiB, 400 + i)))
        ])
        expect(fromNode.failures).to.deep.equal([])
        expect(fromNode.echoedBytes).to.equal(4 * 512 * KiB)
        expect(fromPage.filter(f => f !== undefined)).to.deep.equal([])
      })

      it('stops cleanly: no stream errors on either side, the Node.js node sees the connection end, no timer left', async () => {
        expect((await nodeStatus()).connections).to.equal(1)
        await node.stop()
        expect(node.getConnections()).to.have.length(0)
        await until('the Node.js node has no connection to the page', async () => (await nodeStatus()).connections === 0)
        expect((await nodeStatus()).streamErrors).to.deep.equal([])
        expect(pageStreamErrors).to.deep.equal([])
        expect(activeTimers()).to.equal(timersBefore)
      })
    })
  }
})
