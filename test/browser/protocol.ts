/**
 * What the browser runner and the page share: the Node.js peers the page may
 * dial, and the calls the page makes to them (exposed by playwright-core).
 * Types only, so the page's bundle pulls in nothing from Node.js.
 */

/** A Node.js libp2p node listening on WebSockets on 127.0.0.1. */
export interface NodePeerInfo {
  /** Key for {@link NodePeerCall}. */
  name: string
  /** The muxer it runs, for test titles. */
  muxer: string
  multiaddr: string
}

/** The Node.js node opens `streams` echo streams toward the page's node over its connection. */
export interface OpenStreamsRequest {
  peerId: string
  streams: number
  bytesPerStream: number
  seed: number
}

export interface OpenStreamsResult {
  /** Bytes that came back identical, over all streams. */
  echoedBytes: number
  /** One line per stream that failed or came back different. */
  failures: string[]
}

export interface NodePeerStatus {
  /** Open connections to the page's node. */
  connections: number
  /** Errors seen by the node's echo handler or on streams it opened. */
  streamErrors: string[]
}

export interface NodePeerCall {
  (name: string, call: 'openStreams', request: OpenStreamsRequest): Promise<OpenStreamsResult>
  (name: string, call: 'status', peerId: string): Promise<NodePeerStatus>
}

/** An unhandled rejection in the page, and the test or hook that was running. */
export interface PageError {
  during: string
  name: string
  message: string
  stack: string
}

/** Globals the runner sets in the page before its scripts run. */
export interface PageGlobals {
  yamuxNodePeers?: NodePeerInfo[]
  yamuxNodePeerCall?: NodePeerCall
  yamuxPageError?(error: PageError): void
  yamuxSuiteStarted?(): void
  yamuxSuiteDone?(failures: number): void
}
