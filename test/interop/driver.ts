/**
 * Live interop matrix: our yamux against hashicorp/yamux, go-yamux and
 * rust-yamux (raw yamux over TCP, through `libp2p-yamux/node`) and against a
 * go-libp2p node (full stack: TCP + noise + yamux, through our libp2p
 * muxer), with us dialing and with us listening. Peers are built by
 * interop/build.sh and speak the command protocol of interop/README.md.
 *
 * Prints one line per cell and `N passed, M failed`; exits non-zero on any
 * failure or if a peer binary is missing.
 */
/* eslint-disable no-console -- a command-line driver reports to the terminal */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { yamux } from '../../src/index.ts'
import { Client, Server } from '../../src/node/index.ts'
import { concat } from '../fixtures/session-pair.ts'
import { connectLibp2pV2 } from './libp2p-v2.ts'
import type { Channel, Peering, Role } from './types.ts'
import type { SessionConfig } from '../../src/core/config.ts'
import type { YamuxDuplex, YamuxSession } from '../../src/node/index.ts'
import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { ChildProcess } from 'node:child_process'

const BIN = fileURLToPath(new URL('../../../.cache/interop/bin/', import.meta.url))
const CMD_PROTOCOL = '/interop/cmd/1.0.0'
const BIG = Number(process.env.INTEROP_BIG_MIB ?? 64) * 1024 * 1024

// ---------------------------------------------------------------------------
// Channels: one stream, whichever API carries it

function duplexChannel (stream: YamuxDuplex): Channel {
  // 'data'/'end' rather than for-await: an async iterator destroys the
  // Duplex when the readable side ends, which would reset our write side
  const done = new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Uint8Array[] = []
    stream.on('data', (chunk: Uint8Array) => { chunks.push(chunk); onChunk?.(chunk.byteLength) })
    stream.once('end', () => { resolve(concat(chunks)) })
    stream.once('error', reject)
  })
  done.catch(() => {})
  stream.pause()
  let onChunk: ((n: number) => void) | undefined
  return {
    async write (data) {
      if (stream.write(data)) { return }
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => { stream.off('close', onClose); resolve() }
        const onClose = (): void => { stream.off('drain', onDrain); reject(new Error('stream closed while writing')) }
        stream.once('drain', onDrain)
        stream.once('close', onClose)
      })
    },
    async end () { stream.end() },
    async readAll (callback) {
      onChunk = callback
      stream.resume()
      return done
    },
    reset () { stream.destroy() }
  }
}

function libp2pChannel (stream: Stream): Channel {
  return {
    async write (data) {
      if (!stream.send(data)) {
        await new Promise<void>((resolve, reject) => {
          stream.addEventListener('drain', () => { resolve() }, { once: true })
          stream.addEventListener('close', (evt) => { reject(evt.error ?? new Error('closed')) }, { once: true })
        })
      }
    },
    async end () { await stream.close() },
    async readAll (onChunk) {
      const chunks: Uint8Array[] = []
      for await (const chunk of stream) {
        const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
        chunks.push(bytes)
        onChunk?.(bytes.byteLength)
      }
      if (stream.status === 'reset' || stream.status === 'aborted') { throw new Error(`stream ${stream.status}`) }
      return concat(chunks)
    },
    reset () { stream.abort(new Error('reset by the interop driver')) }
  }
}

/** A raw yamux peer through the Node API (`libp2p-yamux/node`), as its README shows it. */
function rawPeering (session: YamuxSession): Peering {
  const peering: Peering = {
    inbound: [],
    async open () { return duplexChannel(await session.open()) },
    async ping () { return session.ping() },
    goAway () { void session.goAway() },
    ended: session.closed.then(err => err?.name ?? 'closed cleanly'),
    isOpen: () => !session.isClosed,
    async close () { await session.close() }
  }
  void (async () => {
    // the accept loop ends by itself when the session does
    for await (const stream of session) {
      peering.inbound.push(duplexChannel(stream))
      peering.onInbound?.()
    }
  })()
  return peering
}

// ---------------------------------------------------------------------------
// Peers

interface PeerProfile {
  name: string
  /** Shown in the matrix (default: the binary's name). */
  label?: string
  /** Raw yamux peer binary, or undefined for go-libp2p. */
  libp2p: boolean
  /** Our side runs libp2p 2 with `libp2p-yamux/v2` (else libp2p 3 with the root muxer). */
  v2?: boolean
  /** The peer cannot send RST: a reset reads as a clean EOF. */
  resetIsEof?: boolean
  /** The peer keeps the session after receiving GoAway(0). */
  drainsOnGoAway: boolean
  /** Streams the peer tolerates at once; we stay under it. */
  maxStreams?: number
  ping: boolean
}

const PEERS: PeerProfile[] = [
  { name: 'go-hashicorp', libp2p: false, resetIsEof: true, drainsOnGoAway: true, ping: true },
  { name: 'go-yamux', libp2p: false, drainsOnGoAway: false, ping: true },
  { name: 'rust-yamux', libp2p: false, drainsOnGoAway: false, maxStreams: 500, ping: false },
  { name: 'go-libp2p', libp2p: true, drainsOnGoAway: false, ping: true },
  { name: 'go-libp2p', label: 'go-libp2p/v2', libp2p: true, v2: true, drainsOnGoAway: false, ping: true }
]

/** The last lines a peer wrote to stderr, shown when a cell fails. */
let peerStderr = ''

function startPeer (name: string, args: string[]): { child: ChildProcess, ready: Promise<string> } {
  const child = spawn(BIN + name, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  peerStderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); peerStderr = stderr })
  const ready = new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const match = /READY (\S+)/.exec(out)
      if (match !== null) { resolve(match[1]) }
    })
    child.once('exit', (code) => { reject(new Error(`${name} exited with ${code}: ${stderr}`)) })
  })
  return { child, ready }
}

function sessionConfig (profile: PeerProfile, extra: Partial<SessionConfig> = {}): Partial<SessionConfig> {
  return { enableKeepAlive: false, maxOutboundStreams: profile.maxStreams ?? 1000, ...extra }
}

/** Sets up one connection to a fresh or running peer, in `role`. */
async function connectRaw (profile: PeerProfile, role: Role, extra?: Partial<SessionConfig>): Promise<{ peering: Peering, cleanup(): void }> {
  if (role === 'we dial') {
    const peer = startPeer(profile.name, ['listen', '127.0.0.1:0'])
    const port = Number(await peer.ready)
    const socket = net.connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    socket.setNoDelay(true)
    const peering = rawPeering(Client(socket, sessionConfig(profile, extra)))
    return { peering, cleanup: () => { socket.destroy(); peer.child.kill() } }
  }
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const accepted = new Promise<net.Socket>(resolve => server.once('connection', resolve))
  const peer = startPeer(profile.name, ['dial', `127.0.0.1:${port}`])
  peer.ready.catch(() => {})
  const socket = await accepted
  socket.setNoDelay(true)
  const peering = rawPeering(Server(socket, sessionConfig(profile, extra)))
  return { peering, cleanup: () => { socket.destroy(); server.close(); peer.child.kill() } }
}

async function connectLibp2p (role: Role): Promise<{ peering: Peering, cleanup(): void }> {
  const node: Libp2p = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ enableKeepAlive: false })],
    connectionMonitor: { enabled: false }
  })
  const inbound: Channel[] = []
  let onInbound: (() => void) | undefined
  await node.handle(CMD_PROTOCOL, (stream) => {
    inbound.push(libp2pChannel(stream))
    onInbound?.()
  }, { maxInboundStreams: 2000, maxOutboundStreams: 2000 })
  let peer: { child: ChildProcess, ready: Promise<string> }
  let connection: Connection
  if (role === 'we dial') {
    peer = startPeer('go-libp2p', ['listen'])
    connection = await node.dial(multiaddr(await peer.ready))
  } else {
    const connected = new Promise<Connection>(resolve => node.addEventListener('connection:open', (evt) => { resolve(evt.detail) }, { once: true }))
    peer = startPeer('go-libp2p', ['dial', node.getMultiaddrs()[0].toString()])
    peer.ready.catch(() => {})
    connection = await connected
  }
  const muxer = (connection as any).muxer
  const peering: Peering = {
    inbound,
    get onInbound () { return onInbound },
    set onInbound (fn: (() => void) | undefined) { onInbound = fn },
    async open () {
      return libp2pChannel(await connection.newStream(CMD_PROTOCOL, { maxOutboundStreams: 2000, runOnLimitedConnection: true }))
    },
    async ping () { return muxer.ping() },
    goAway () { throw new Error('not used') },
    ended: new Promise(resolve => connection.addEventListener('close', () => { resolve('closed') }, { once: true })),
    isOpen: () => connection.status === 'open',
    async close () { await connection.close() }
  }
  return { peering, cleanup: () => { void node.stop(); peer.child.kill() } }
}

// ---------------------------------------------------------------------------
// Scenarios

function pattern (n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) { out[i] = i % 251 }
  return out
}

function sha (data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const decode = (b: Uint8Array): string => new TextDecoder().decode(b)

async function command (peering: Peering, line: string, body?: Uint8Array, end = true): Promise<Channel> {
  const channel = await peering.open()
  await channel.write(text(line + '\n'))
  if (body !== undefined) {
    for (let at = 0; at < body.byteLength; at += 65536) { await channel.write(body.subarray(at, at + 65536)) }
  }
  if (end) { await channel.end() }
  return channel
}

async function ask (peering: Peering, line: string): Promise<string> {
  const channel = await command(peering, line)
  return decode(await channel.readAll()).trim()
}

async function stats (peering: Peering): Promise<{ resets: number, eofs: number, finFirstBytes: number, streams: number }> {
  return JSON.parse(await ask(peering, 'stats'))
}

async function echoCheck (peering: Peering, size: number): Promise<number> {
  const data = pattern(size)
  const channel = await peering.open()
  const start = performance.now()
  const reading = channel.readAll()
  await channel.write(text('echo\n'))
  for (let at = 0; at < size; at += 65536) { await channel.write(data.subarray(at, at + 65536)) }
  await channel.end()
  const back = await reading
  const seconds = (performance.now() - start) / 1000
  if (back.byteLength !== size || sha(back) !== sha(data)) { throw new Error(`echo returned ${back.byteLength}/${size} bytes, sha256 ${sha(back) === sha(data) ? 'same' : 'differs'}`) }
  return size / 1048576 / seconds
}

async function waitFor (condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) { throw new Error(`timed out waiting for ${what}`) }
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

type Scenario = (peering: Peering, profile: PeerProfile) => Promise<string>

const scenarios: Array<{ name: string, raw?: boolean, config?: Partial<SessionConfig>, run: Scenario }> = [
  {
    name: 'stream opened by us (echo 1 KiB, sha256)',
    run: async (p) => { await echoCheck(p, 1024); return 'ok' }
  },
  {
    name: 'streams opened by the peer (10 x 100000 B)',
    run: async (p) => {
      const reply = command(p, 'open 10 100000')
      await waitFor(() => p.inbound.length >= 10, 10_000, '10 inbound streams')
      const expected = sha(pattern(100000))
      await Promise.all(p.inbound.slice(0, 10).map(async (channel) => {
        const data = await channel.readAll()
        if (sha(data) !== expected) { throw new Error(`inbound stream carried ${data.byteLength} bytes, not the pattern`) }
        await channel.end()
      }))
      const answer = decode(await (await reply).readAll()).trim()
      if (answer !== 'ok 10') { throw new Error(`peer answered ${answer}`) }
      return 'ok'
    }
  },
  {
    name: `echo ${BIG / 1048576} MiB (sha256)`,
    run: async (p) => `${(await echoCheck(p, BIG)).toFixed(0)} MB/s`
  },
  {
    name: `download ${BIG / 1048576} MiB (window growth past 256 KiB)`,
    run: async (p) => {
      const start = performance.now()
      const data = await (await command(p, `source ${BIG}`)).readAll()
      const rate = BIG / 1048576 / ((performance.now() - start) / 1000)
      if (sha(data) !== sha(pattern(BIG))) { throw new Error(`got ${data.byteLength} bytes, not the pattern`) }
      return `${rate.toFixed(0)} MB/s`
    }
  },
  {
    name: '1000 concurrent streams (1 KiB echo each)',
    run: async (p, profile) => {
      // stay under the peer's stream limit (rust-yamux: 512 kills the connection)
      const limit = Math.min(profile.maxStreams ?? 1000, 1000)
      let running = 0
      let peak = 0
      const queue = Array.from({ length: 1000 }, (_, i) => i)
      await Promise.all(Array.from({ length: limit }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          running++
          peak = Math.max(peak, running)
          await echoCheck(p, 1024)
          running--
        }
      }))
      return `peak ${peak} at once`
    }
  },
  {
    name: 'half-close: we FIN first, peer answers after',
    run: async (p) => {
      const data = pattern(1024 * 1024)
      const answer = decode(await (await command(p, 'sink', data)).readAll()).trim()
      if (answer !== `${data.byteLength} ${sha(data)}`) { throw new Error(`sink answered ${answer}`) }
      return 'ok'
    }
  },
  {
    name: 'half-close: peer FINs first, we keep writing',
    run: async (p) => {
      const before = (await stats(p)).finFirstBytes
      const channel = await command(p, 'fin-first', undefined, false)
      const reading = channel.readAll()
      await channel.write(pattern(100000))
      if ((await reading).byteLength !== 0) { throw new Error('peer sent data after fin-first') }
      await channel.end()
      await waitFor(() => false, 0, '').catch(() => {})
      let after = before
      for (let i = 0; i < 100 && after - before < 100000; i++) {
        after = (await stats(p)).finFirstBytes
        if (after - before < 100000) { await new Promise(resolve => setTimeout(resolve, 20)) }
      }
      if (after - before !== 100000) { throw new Error(`peer read ${after - before} bytes after its FIN`) }
      return 'ok'
    }
  },
  {
    name: 'reset by the peer',
    run: async (p, profile) => {
      const channel = await command(p, 'reset', undefined, false)
      try {
        await channel.readAll()
      } catch (err: any) {
        return `our read failed with ${err.name}`
      }
      if (profile.resetIsEof === true) { return 'clean EOF (the peer cannot send RST)' }
      throw new Error('no reset seen')
    }
  },
  {
    name: 'reset by us',
    run: async (p, profile) => {
      const before = await stats(p)
      const channel = await command(p, 'expect-reset', text('some bytes'), false)
      await new Promise(resolve => setTimeout(resolve, 50))
      channel.reset()
      for (let i = 0; i < 100; i++) {
        const after = await stats(p)
        if (after.resets > before.resets) { return 'peer saw the reset' }
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      throw new Error(`peer did not see a reset (${profile.name})`)
    }
  },
  {
    name: 'ping RTT, both directions',
    run: async (p, profile) => {
      const ours = await p.ping()
      const theirs = await ask(p, 'ping')
      if (profile.ping && !/^\d+$/.test(theirs)) { throw new Error(`peer ping answered ${theirs}`) }
      return `ours ${ours.toFixed(3)} ms, theirs ${profile.ping ? (Number(theirs) / 1000).toFixed(3) + ' ms' : theirs}`
    }
  },
  {
    name: '5 s idle with keep-alive on',
    raw: true,
    config: { enableKeepAlive: true, keepAliveInterval: 1000, connectionWriteTimeout: 2000 },
    run: async (p) => {
      await echoCheck(p, 16)
      await new Promise(resolve => setTimeout(resolve, 5000))
      if (!p.isOpen()) { throw new Error('session closed while idle') }
      await echoCheck(p, 16)
      return 'session alive, echo works'
    }
  },
  {
    name: 'GoAway(0) from us with a stream in flight',
    raw: true,
    run: async (p, profile) => {
      const size = 8 * 1024 * 1024
      const channel = await command(p, `source ${size}`)
      let got = 0
      const reading = channel.readAll((n) => { got += n })
      await waitFor(() => got > 0, 5000, 'first bytes')
      p.goAway()
      try {
        await p.open()
        throw new Error('open() worked after our GoAway')
      } catch (err: any) {
        if (err.name !== 'SessionShutdownError') { throw err }
      }
      try {
        const data = await reading
        if (data.byteLength !== size) { throw new Error(`stream ended after ${data.byteLength} bytes`) }
        return 'in-flight stream finished; no new streams'
      } catch (err: any) {
        if (profile.drainsOnGoAway) { throw err }
        return `peer ended the session on GoAway(0) as it does (stream: ${err.name})`
      }
    }
  },
  {
    name: 'GoAway(0) from the peer',
    raw: true,
    run: async (p, profile) => {
      const answer = await ask(p, 'goaway')
      if (answer !== 'ok') { throw new Error(`goaway answered ${answer}`) }
      await new Promise(resolve => setTimeout(resolve, 100))
      try {
        await p.open()
        if (!p.isOpen()) { return 'session ended by the peer' }
        throw new Error('open() worked after the peer\'s GoAway')
      } catch (err: any) {
        if (err.name === 'RemoteGoAwayError' || err.name === 'SessionShutdownError') { return `open() rejected: ${err.name}${profile.drainsOnGoAway ? '' : ''}` }
        throw err
      }
    }
  },
  {
    name: 'stream limit reached without killing the connection',
    raw: true,
    run: async (p, profile) => {
      const limit = profile.maxStreams ?? 1000
      const open: Channel[] = []
      let refused = ''
      for (let i = 0; i < limit + 20; i++) {
        try {
          const channel = await command(p, 'echo', undefined, false)
          open.push(channel)
        } catch (err: any) {
          refused = err.name
          break
        }
      }
      if (profile.maxStreams !== undefined && refused !== 'StreamLimitError') { throw new Error(`expected StreamLimitError past ${limit}, got ${refused === '' ? 'none' : refused}`) }
      await Promise.all(open.map(async (channel) => { const r = channel.readAll(); await channel.end(); await r }))
      await echoCheck(p, 1024)
      if (!p.isOpen()) { throw new Error('connection died') }
      return refused === '' ? `${open.length} streams open at once` : `${open.length} open, then ${refused}; connection alive`
    }
  }
]

// ---------------------------------------------------------------------------

async function main (): Promise<void> {
  const only = process.env.INTEROP_ONLY
  const cells: Array<[PeerProfile, Role, typeof scenarios[number]]> = []
  for (const profile of PEERS) {
    for (const role of ['we dial', 'we listen'] as Role[]) {
      for (const scenario of scenarios) {
        if (scenario.raw === true && profile.libp2p) { continue }
        if (only !== undefined && !`${profile.label ?? profile.name} ${role} ${scenario.name}`.includes(only)) { continue }
        cells.push([profile, role, scenario])
      }
    }
  }
  // the whole matrix needs every peer; an INTEROP_ONLY selection only its own
  const missing = [...new Set(cells.map(([p]) => p.name))].filter(name => !existsSync(BIN + name))
  if (missing.length > 0) {
    console.error(`missing interop peers: ${missing.join(', ')} — run interop/build.sh (needs go and cargo)`)
    process.exitCode = 1
    return
  }
  let passed = 0
  let failed = 0
  for (const [profile, role, scenario] of cells) {
    if (await runCell(profile, role, scenario)) { passed++ } else { failed++ }
  }
  console.log(`\n${passed} passed, ${failed} failed`)
  if (failed > 0 || passed === 0) { process.exitCode = 1 }
}

/** Runs one cell of the matrix on a fresh connection; prints its line. */
async function runCell (profile: PeerProfile, role: Role, scenario: typeof scenarios[number]): Promise<boolean> {
  const label = `${(profile.label ?? profile.name).padEnd(12)} ${role.padEnd(9)} ${scenario.name}`
  let setup: { peering: Peering, cleanup(): void } | undefined
  try {
    setup = profile.libp2p
      ? profile.v2 === true ? await connectLibp2pV2(role, startPeer, CMD_PROTOCOL) : await connectLibp2p(role)
      : await connectRaw(profile, role, scenario.config)
    const detail = await withTimeout(scenario.run(setup.peering, profile), 120_000)
    console.log(`PASS  ${label}: ${detail}`)
    return true
  } catch (err: any) {
    console.log(`FAIL  ${label}: ${err?.name ?? ''} ${err?.message ?? err}`)
    if (peerStderr !== '') { console.log(peerStderr.trim().split('\n').slice(-5).map(l => `      | ${l}`).join('\n')) }
    return false
  } finally {
    setup?.cleanup()
  }
}

async function withTimeout <T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`timed out after ${ms} ms`)) }, ms) })])
  } finally {
    clearTimeout(timer)
  }
}

main().then(() => { process.exit() }, (err) => { console.error(err); process.exit(1) })
