/**
 * One end of the two-process TCP benchmark (scenarios/split-tcp.ts): `rx`
 * listens on a real `@libp2p/tcp` listener and counts what arrives; `tx`
 * dials it and sends. The parent drives both over IPC, one round at a time,
 * so each process keeps its warm JIT state between rounds as a server does.
 *
 * Run as `node --require ./scripts/node20-polyfill.cjs --expose-gc
 * dist/benchmarks/split-peer.js rx|tx <contender>` (forked with IPC).
 */
import { defaultLogger } from '@libp2p/logger'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { selectContenders } from './contenders.ts'
import { beforeTimedRun, closeMuxer, errorMessage, writeAll } from './harness.ts'
import { captureUpgrader } from './transports.ts'
import type { Contender } from './contenders.ts'
import type { MessageStream, MultiaddrConnection, StreamMuxer } from '@libp2p/interface'

/** What the parent sends. */
export type SplitCommand =
  | { type: 'expect', totalBytes: number }
  | { type: 'send', port: number, totalBytes: number, streams: number, writeSize: number }
  | { type: 'hangup' }

/** What a peer answers. */
export type SplitReport =
  | { type: 'ready', port: number }
  | { type: 'received', cpuSeconds: number, endedAt: number }
  | { type: 'sent', cpuSeconds: number, startedAt: number }
  | { type: 'failed', error: string }

/** Wall-clock ms comparable between the two processes. */
function wallMs (): number {
  return performance.timeOrigin + performance.now()
}

function cpuSince (start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1e6
}

function report (message: SplitReport): void {
  process.send?.(message)
}

const transport = tcp()({ logger: defaultLogger() })
const STREAM_LIMIT = 2000

async function receiver (contender: Contender): Promise<void> {
  let expected = Infinity
  const upgrader = captureUpgrader((conn: MultiaddrConnection) => {
    let count = 0
    let cpu0: NodeJS.CpuUsage | undefined
    let muxer: StreamMuxer | undefined
    const onBytes = (n: number): void => {
      cpu0 ??= process.cpuUsage()
      count += n
      if (count >= expected && count - n < expected) {
        report({ type: 'received', cpuSeconds: cpuSince(cpu0), endedAt: wallMs() })
      }
    }
    const countBytes = (stream: MessageStream): void => {
      stream.addEventListener('message', (evt) => { onBytes(evt.data.byteLength) })
    }
    if (contender.kind === 'bare') {
      countBytes(conn)
    } else if (contender.kind === 'muxer') {
      muxer = contender.create(conn, STREAM_LIMIT)
      muxer.addEventListener('stream', (evt) => { countBytes(evt.detail) })
    }
    conn.addEventListener('close', () => { void closeMuxer(muxer) })
  })
  const listener = transport.createListener({ upgrader })
  await listener.listen(multiaddr('/ip4/127.0.0.1/tcp/0'))
  const port = Number(listener.getAddrs()[0].getComponents().find(c => c.name === 'tcp')?.value)
  process.on('message', (command: SplitCommand) => {
    if (command.type === 'expect') { expected = command.totalBytes }
    if (command.type === 'hangup') { void listener.close().finally(() => process.exit(0)) }
  })
  report({ type: 'ready', port })
}

async function sender (contender: Contender): Promise<void> {
  let open: { conn: MultiaddrConnection, muxer?: StreamMuxer } | undefined
  const send = async (command: Extract<SplitCommand, { type: 'send' }>): Promise<void> => {
    const { totalBytes, streams, writeSize } = command
    const conn = await transport.dial(multiaddr(`/ip4/127.0.0.1/tcp/${command.port}`), {
      upgrader: captureUpgrader(() => {}),
      signal: AbortSignal.timeout(10_000)
    }) as unknown as MultiaddrConnection
    const muxer = contender.kind === 'muxer' ? contender.create(conn, STREAM_LIMIT) : undefined
    open = { conn, muxer }
    const chunk = new Uint8Array(writeSize).fill(0x61)
    beforeTimedRun()
    const cpu0 = process.cpuUsage()
    const startedAt = wallMs()
    if (muxer === undefined) {
      await writeAll(conn, totalBytes, chunk)
    } else {
      const share = Math.floor(totalBytes / streams)
      const one = async (bytes: number): Promise<void> => {
        const stream = await muxer.createStream()
        await writeAll(stream, bytes, chunk)
        await stream.close()
      }
      // the first stream alone: chainsafe aborts a connection that gets more
      // than 10 streams before its listener is attached
      const first = one(share + totalBytes - share * streams)
      await new Promise(resolve => setTimeout(resolve, 0))
      const rest: Array<Promise<void>> = []
      for (let i = 1; i < streams; i++) { rest.push(one(share)) }
      await Promise.all([first, ...rest])
    }
    report({ type: 'sent', cpuSeconds: cpuSince(cpu0), startedAt })
  }
  process.on('message', (command: SplitCommand) => {
    if (command.type === 'send') {
      send(command).catch((err) => { report({ type: 'failed', error: errorMessage(err) }) })
    } else if (command.type === 'hangup') {
      const closing = open
      open = undefined
      void (async () => {
        await closeMuxer(closing?.muxer)
        await closing?.conn.close().catch(() => {})
        report({ type: 'ready', port: 0 })
      })()
    }
  })
  report({ type: 'ready', port: 0 })
}

const [role, name] = process.argv.slice(2)
const contender = selectContenders([name]).find(c => c.name === name)
process.on('uncaughtException', (err) => { report({ type: 'failed', error: errorMessage(err) }) })
process.on('unhandledRejection', (err) => { report({ type: 'failed', error: errorMessage(err) }) })
process.on('disconnect', () => process.exit(0))
if (contender === undefined || contender.kind === 'muxer-v2') {
  report({ type: 'failed', error: `no v3 contender named ${name}` })
} else if (role === 'rx') {
  receiver(contender).catch((err) => { report({ type: 'failed', error: errorMessage(err) }) })
} else {
  sender(contender).catch((err) => { report({ type: 'failed', error: errorMessage(err) }) })
}
