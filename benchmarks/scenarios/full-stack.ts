/**
 * Scenario 0: what a libp2p user gets. Two libp2p 3 nodes in this process,
 * TCP + noise, the muxer under test on both; the dialer sends `totalBytes`
 * over 1 or N streams of a registered protocol (multistream-select and all),
 * the listener's handler counts every byte. The "bare" row is the same bytes
 * on one noise-encrypted `@libp2p/tcp` connection with no muxer (no libp2p
 * node: the encrypter run by hand), the floor a muxer adds to.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { beforeTimedRun, deferred, errorMessage, guarded, roundOrder, writeAll } from '../harness.ts'
import { CaseResult } from '../results.ts'
import { tcpPair } from '../transports.ts'
import type { BenchConfig } from '../config.ts'
import type { Contender, MuxerContender } from '../contenders.ts'
import type { CaseSpec, MetricSpec } from '../results.ts'
import type { TransportPair } from '../transports.ts'
import type { Runner } from '../workers.ts'
import type { MessageStream, Stream, Upgrader } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

const GiB = 1024 * 1024 * 1024
const MiB = 1024 * 1024
const PROTOCOL = '/bench/sink/1.0.0'

const METRICS: MetricSpec[] = [
  { key: 'mbps', label: 'MB/s', better: 'higher', digits: 0 },
  { key: 'cpuPerGiB', label: 'CPU s/GiB', better: 'lower', digits: 3 },
  { key: 'seconds', label: 'seconds', better: 'lower', digits: 3, ratio: false }
]

export interface FullStackCase {
  result: CaseResult
  streams: number
}

export interface FullStackOptions {
  streams: number
  totalBytes: number
  writeSize: number
  timeoutMs: number
}

export interface FullStackResult {
  seconds: number
  cpuSeconds: number
}

export function fullStackCases (config: BenchConfig, contenders: Contender[]): FullStackCase[] {
  return config.fullStackStreams.map((streams) => {
    const spec: CaseSpec = {
      id: `full-stack-${streams}`,
      scenario: '0. full stack',
      title: `0. Full stack: two libp2p nodes, TCP + noise, ${streams} stream${streams === 1 ? '' : 's'}, ${config.fullStackBytes / MiB} MiB in ${config.writeSize / 1024} KiB writes`,
      short: `full stack, ${streams} stream${streams === 1 ? '' : 's'}`,
      metrics: METRICS,
      primary: 'mbps',
      notes: [
        'What a libp2p user sees: `createLibp2p` with `@libp2p/tcp`, `@chainsafe/libp2p-noise` and the muxer, streams opened with `dialProtocol` on an established connection (the first alone, the rest at once), CPU of the one process running both nodes.',
        'Bare row: the same bytes on one noise-encrypted `@libp2p/tcp` connection with no muxer and no libp2p node around it.'
      ]
    }
    return { result: new CaseResult(spec, contenders), streams }
  })
}

async function createNode (contender: MuxerContender, limit: number): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [contender.libp2p(limit)],
    connectionMonitor: { enabled: false }
  })
  return node
}

async function muxedRun (contender: MuxerContender, options: FullStackOptions, nodes: Libp2p[]): Promise<FullStackResult> {
  const { streams, totalBytes, writeSize } = options
  const limit = Math.max(streams * 2, 2000)
  const dialer = await createNode(contender, limit)
  nodes.push(dialer)
  const listener = await createNode(contender, limit)
  nodes.push(listener)

  const received = deferred()
  let count = 0
  const handlerOptions = { maxInboundStreams: limit, maxOutboundStreams: limit }
  await listener.handle(PROTOCOL, (stream) => {
    stream.addEventListener('message', (evt) => {
      count += evt.data.byteLength
      if (count >= totalBytes) { received.resolve() }
    })
    stream.addEventListener('remoteCloseWrite', () => { stream.close().catch(() => {}) })
    stream.addEventListener('close', (evt) => {
      if (evt.error !== undefined && count < totalBytes) { received.reject(evt.error) }
    })
  }, handlerOptions)
  // the dialer registers the protocol too, so its outbound stream limit applies
  await dialer.handle(PROTOCOL, (stream) => { stream.abort(new Error('unexpected')) }, handlerOptions)
  const connection = await dialer.dial(listener.getMultiaddrs()[0])

  const chunk = new Uint8Array(writeSize).fill(0x61)
  const share = Math.floor(totalBytes / streams)
  const extra = totalBytes - share * streams
  const send = async (stream: Stream, bytes: number): Promise<void> => {
    await writeAll(stream, bytes, chunk)
    await stream.close()
  }

  beforeTimedRun()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  // the first stream alone: chainsafe aborts a connection that gets more
  // than 10 streams before the listener's handler is attached
  const first = await connection.newStream(PROTOCOL, { maxOutboundStreams: limit })
  const writers: Array<Promise<void>> = [send(first, share + (extra > 0 ? 1 : 0))]
  for (let i = 1; i < streams; i++) {
    const bytes = share + (i < extra ? 1 : 0)
    writers.push((async () => {
      await send(await connection.newStream(PROTOCOL, { maxOutboundStreams: limit }), bytes)
    })())
  }
  await Promise.all([received.promise, ...writers])
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
}

/** noise over a real `@libp2p/tcp` connection, no muxer: both ends' encrypted MessageStreams. */
async function noisePair (pair: TransportPair): Promise<[MessageStream, MessageStream]> {
  const upgrader = { getStreamMuxers: () => new Map() } as unknown as Upgrader
  const encrypter = async (): Promise<ReturnType<ReturnType<typeof noise>>> => {
    const privateKey = await generateKeyPair('Ed25519')
    return noise()({ privateKey, peerId: peerIdFromPrivateKey(privateKey), logger: defaultLogger(), upgrader })
  }
  const [a, b] = await Promise.all([encrypter(), encrypter()])
  const [outbound, inbound] = await Promise.all([
    a.secureOutbound(pair.dialer, { skipStreamMuxerNegotiation: true }),
    b.secureInbound(pair.listener, { skipStreamMuxerNegotiation: true })
  ])
  return [outbound.connection, inbound.connection]
}

async function bareRun (options: FullStackOptions, pairs: TransportPair[]): Promise<FullStackResult> {
  const { totalBytes, writeSize } = options
  const pair = await tcpPair()
  pairs.push(pair)
  const [sender, receiver] = await noisePair(pair)
  const received = deferred()
  let count = 0
  receiver.addEventListener('message', (evt) => {
    count += evt.data.byteLength
    if (count >= totalBytes) { received.resolve() }
  })
  receiver.addEventListener('close', (evt) => { if (count < totalBytes) { received.reject(evt.error ?? new Error('connection closed early')) } })
  const chunk = new Uint8Array(writeSize).fill(0x61)
  beforeTimedRun()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await Promise.all([received.promise, writeAll(sender, totalBytes, chunk)])
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
}

/** One full-stack run (in the contender's worker). */
export async function fullStackRun (contender: Contender, options: FullStackOptions): Promise<FullStackResult> {
  const nodes: Libp2p[] = []
  const pairs: TransportPair[] = []
  return guarded(async () => {
    if (contender.kind === 'bare') { return bareRun(options, pairs) }
    if (contender.kind !== 'muxer') { throw new Error(`${contender.name} is not a libp2p 3 muxer`) }
    return muxedRun(contender, options, nodes)
  }, options.timeoutMs, async () => {
    await Promise.all(nodes.map(async node => node.stop()))
    await Promise.all(pairs.map(async pair => pair.close()))
  })
}

function runOptions (c: FullStackCase, config: BenchConfig, totalBytes: number): FullStackOptions {
  return { streams: c.streams, totalBytes, writeSize: config.writeSize, timeoutMs: config.runTimeoutMs }
}

/** One unrecorded pass at 1/8 size, so round 1 is not the JIT's warm-up. */
export async function warmUpFullStack (cases: FullStackCase[], contenders: Contender[], config: BenchConfig, runner: Runner, log: (line: string) => void): Promise<void> {
  for (const c of cases) {
    for (const contender of contenders) {
      try {
        await runner.fullStack(contender, runOptions(c, config, Math.max(c.streams * config.writeSize, Math.floor(config.fullStackBytes / 8))))
      } catch (err) {
        log(`  warm-up ${c.result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
      }
    }
  }
}

export async function runFullStackRound (round: number, cases: FullStackCase[], contenders: Contender[], config: BenchConfig, runner: Runner, log: (line: string) => void): Promise<void> {
  for (const c of cases) {
    const order = roundOrder(contenders, round)
    for (const contender of order) {
      try {
        const r = await runner.fullStack(contender, runOptions(c, config, config.fullStackBytes))
        const sample = {
          mbps: config.fullStackBytes / r.seconds / 1e6,
          cpuPerGiB: r.cpuSeconds / (config.fullStackBytes / GiB),
          seconds: r.seconds
        }
        c.result.add(contender.name, round, { sample })
        log(`  ${c.result.spec.id} ${contender.name}: ${sample.mbps.toFixed(0)} MB/s, ${sample.cpuPerGiB.toFixed(3)} CPU s/GiB`)
      } catch (err) {
        c.result.add(contender.name, round, { error: errorMessage(err) })
        log(`  ${c.result.spec.id} ${contender.name}: FAILED ${errorMessage(err)}`)
      }
    }
  }
}
