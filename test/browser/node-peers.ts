/**
 * The Node.js side of the browser end-to-end tests: libp2p v3 nodes on
 * 127.0.0.1 (WebSockets + noise), one muxing with `@chainsafe/libp2p-yamux` and
 * one with ours, each echoing and answering the page's calls.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux as chainsafeYamux } from '@chainsafe/libp2p-yamux'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { yamux } from '../../src/index.ts'
import { ECHO, echo, firstDifference, roundTrip, testData } from '../fixtures/echo.ts'
import type { NodePeerInfo, NodePeerStatus, OpenStreamsRequest, OpenStreamsResult } from './protocol.ts'
import type { StreamMuxerFactory } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

interface Peer {
  info: NodePeerInfo
  node: Libp2p
  streamErrors: string[]
}

async function startPeer (name: string, muxerName: string, muxer: (components: any) => StreamMuxerFactory): Promise<Peer> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer],
    connectionMonitor: { enabled: false }
  })
  const streamErrors: string[] = []
  await node.handle(ECHO, (stream) => {
    echo(stream, (err) => { streamErrors.push(`echo: ${err.name}: ${err.message}`) })
  }, { maxInboundStreams: 256, maxOutboundStreams: 256 })
  const multiaddr = node.getMultiaddrs().find(ma => ma.toString().includes('/ws'))
  if (multiaddr === undefined) { throw new Error(`${name}: no WebSockets address`) }
  return { info: { name, muxer: muxerName, multiaddr: multiaddr.toString() }, node, streamErrors }
}

async function openStreams (peer: Peer, request: OpenStreamsRequest): Promise<OpenStreamsResult> {
  const connection = peer.node.getConnections().find(c => c.remotePeer.toString() === request.peerId)
  if (connection === undefined) { throw new Error(`${peer.info.name}: no connection to ${request.peerId}`) }
  const failures: string[] = []
  let echoedBytes = 0
  await Promise.all(Array.from({ length: request.streams }, async (_, i) => {
    const data = testData(request.bytesPerStream, request.seed + i)
    try {
      const stream = await connection.newStream(ECHO, { maxOutboundStreams: 256 })
      const back = await roundTrip(stream, data)
      const at = firstDifference(back, data)
      if (at === -1) {
        echoedBytes += back.byteLength
      } else {
        failures.push(`stream ${i}: ${back.byteLength} of ${data.byteLength} bytes back, first difference at ${at}`)
      }
    } catch (err: any) {
      failures.push(`stream ${i}: ${err.name}: ${err.message}`)
      peer.streamErrors.push(`opened stream: ${err.name}: ${err.message}`)
    }
  }))
  return { echoedBytes, failures }
}

/** The Node.js peers, started and stopped together. */
export class NodePeers {
  private readonly peers: Peer[]

  private constructor (peers: Peer[]) {
    this.peers = peers
  }

  static async start (): Promise<NodePeers> {
    return new NodePeers(await Promise.all([
      startPeer('chainsafe', '@chainsafe/libp2p-yamux 8', chainsafeYamux()),
      startPeer('ours', 'libp2p-yamux', yamux())
    ]))
  }

  infos (): NodePeerInfo[] {
    return this.peers.map(p => p.info)
  }

  /** Serves the page's {@link NodePeerCall}. */
  async call (name: string, call: string, arg: unknown): Promise<OpenStreamsResult | NodePeerStatus> {
    const peer = this.peers.find(p => p.info.name === name)
    if (peer === undefined) { throw new Error(`no Node.js peer named ${name}`) }
    if (call === 'openStreams') { return openStreams(peer, arg as OpenStreamsRequest) }
    if (call === 'status') {
      const connections = peer.node.getConnections().filter(c => c.remotePeer.toString() === arg).length
      return { connections, streamErrors: [...peer.streamErrors] }
    }
    throw new Error(`unknown call ${call}`)
  }

  async stop (): Promise<void> {
    await Promise.all(this.peers.map(async p => p.node.stop()))
  }
}
