/**
 * The shapes the interop driver drives a peer through, whichever stack
 * (raw yamux sessions, libp2p 3, libp2p 2) carries the streams.
 */
import type { ChildProcess } from 'node:child_process'

/** One stream, whichever API carries it. */
export interface Channel {
  write(data: Uint8Array): Promise<void>
  end(): Promise<void>
  /** Reads to EOF; rejects with the stream's error (e.g. a reset). */
  readAll(onChunk?: (n: number) => void): Promise<Uint8Array>
  reset(): void
}

export interface Peering {
  open(): Promise<Channel>
  /** Streams the peer opens to us. */
  inbound: Channel[]
  onInbound?(): void
  ping(): Promise<number>
  goAway(): void
  /** Resolves when the session or connection ends. */
  ended: Promise<string>
  isOpen(): boolean
  /** Sets how many streams we may open (a peer limit we respect). */
  close(): Promise<void>
}

export type Role = 'we dial' | 'we listen'

/** Starts a peer binary; `ready` resolves with what it printed after READY. */
export type StartPeer = (name: string, args: string[]) => { child: ChildProcess, ready: Promise<string> }
