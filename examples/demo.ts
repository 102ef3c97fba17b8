/**
 * Demo: two libp2p nodes on this machine, TCP + noise + libp2p-yamux. One
 * serves an echo protocol; the other opens streams to it (a few large
 * transfers and a crowd of small ones, concurrently) and checks every byte
 * that comes back. Prints a progress line while running and a summary.
 *
 * Run with `npm start` (or `node dist/examples/demo.js [MiB per big stream]`).
 */
/* eslint-disable no-console -- a command-line demo reports to the terminal */
import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { yamux } from '../src/index.ts'
import type { YamuxMuxer } from '../src/index.ts'
import type { MessageStream, Stream, StreamMuxerFactory } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

const ECHO = '/libp2p-yamux/demo/echo/1.0.0'
const BIG_STREAMS = 4
const BIG_MIB = Number(process.argv[2] ?? 32)
const SMALL_STREAMS = Number(process.env.SMALL ?? 500)
const SMALL_BYTES = 4096
const CHUNK = 64 * 1024

/** Wraps our factory to keep hold of each muxer, for its counters. */
function trackedYamux (muxers: YamuxMuxer[]): () => StreamMuxerFactory {
  const factory = yamux()()
  return () => Object.assign(Object.create(factory), {
    createStreamMuxer (maConn: MessageStream): YamuxMuxer {
      const muxer = factory.createStreamMuxer(maConn)
      muxers.push(muxer)
      return muxer
    }
  })
}

async function node (muxers: YamuxMuxer[]): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [trackedYamux(muxers)],
    connectionMonitor: { enabled: false }
  })
}

async function waitForDrain (stream: Stream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.addEventListener('drain', () => { resolve() }, { once: true })
    stream.addEventListener('close', () => { reject(new Error('stream closed while writing')) }, { once: true })
  })
}

async function echo (stream: Stream): Promise<void> {
  try {
    for await (const buf of stream) {
      if (!stream.send(buf)) { await waitForDrain(stream) }
    }
    await stream.close()
  } catch (err: any) {
    stream.abort(err)
  }
}

const progress = { sent: 0, received: 0, open: 0, done: 0 }

/** Sends `total` bytes of a pattern, reads the echo back and checks its SHA-256. */
async function transfer (stream: Stream, total: number, seed: number): Promise<void> {
  progress.open++
  const chunk = new Uint8Array(Math.min(CHUNK, total)).map((_, i) => (i * 7 + seed) & 0xff)
  const sentHash = createHash('sha256')
  const receivedHash = createHash('sha256')
  let received = 0
  const reading = (async () => {
    for await (const data of stream) {
      if (data instanceof Uint8Array) { receivedHash.update(data) } else { for (const buf of data) { receivedHash.update(buf) } }
      received += data.byteLength
      progress.received += data.byteLength
    }
  })()
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    const piece = chunk.subarray(0, Math.min(chunk.byteLength, total - sent))
    sentHash.update(piece)
    progress.sent += piece.byteLength
    if (!stream.send(piece)) { await waitForDrain(stream) }
  }
  await stream.close()
  await reading
  progress.open--
  progress.done++
  if (received !== total || sentHash.digest('hex') !== receivedHash.digest('hex')) {
    throw new Error(`stream ${stream.id}: the echo differs from what was sent (${received}/${total} bytes)`)
  }
}

function mib (bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1)
}

async function main (): Promise<void> {
  const clientMuxers: YamuxMuxer[] = []
  const server = await node([])
  const client = await node(clientMuxers)
  await server.handle(ECHO, (stream) => { void echo(stream) }, { maxInboundStreams: 1000 })
  console.log(`server listening on ${server.getMultiaddrs()[0].toString()}`)

  const connection = await client.dial(server.getMultiaddrs()[0])
  console.log(`connected over ${connection.encryption} + ${connection.multiplexer}`)

  const total = BIG_STREAMS * BIG_MIB * 1024 * 1024 + SMALL_STREAMS * SMALL_BYTES
  const start = performance.now()
  const ticker = setInterval(() => {
    const seconds = (performance.now() - start) / 1000
    process.stdout.write(`\r  ${progress.open.toString().padStart(4)} streams open, ${progress.done.toString().padStart(4)} done, ` +
      `${mib(progress.sent).padStart(7)} MiB sent, ${mib(progress.received).padStart(7)} MiB echoed, ` +
      `${(progress.received / 1024 / 1024 / seconds).toFixed(0).padStart(5)} MiB/s `)
  }, 250)

  const open = async (): Promise<Stream> => connection.newStream(ECHO, { maxOutboundStreams: 1000 })
  await Promise.all([
    ...Array.from({ length: BIG_STREAMS }, async (_, i) => { await transfer(await open(), BIG_MIB * 1024 * 1024, i) }),
    ...Array.from({ length: SMALL_STREAMS }, async (_, i) => { await transfer(await open(), SMALL_BYTES, i) })
  ])
  clearInterval(ticker)
  const seconds = (performance.now() - start) / 1000

  const dialerMuxer = clientMuxers[0]
  const rtt = await dialerMuxer.ping()
  const stats = dialerMuxer.stats
  console.log('\n\nsummary')
  console.log(`  streams:        ${BIG_STREAMS} x ${BIG_MIB} MiB and ${SMALL_STREAMS} x ${SMALL_BYTES} B, each echo checked by SHA-256`)
  console.log(`  moved:          ${mib(total)} MiB each way in ${seconds.toFixed(2)} s (${(total / 1024 / 1024 / seconds).toFixed(0)} MiB/s echoed)`)
  console.log(`  yamux ping:     ${rtt.toFixed(3)} ms round trip`)
  console.log(`  dialer frames:  ${stats.dataFramesSent} data, ${stats.creditUpdatesSent} window updates, ${stats.transportWrites} transport writes`)
  console.log(`  per MiB sent:   ${(stats.transportWrites / (stats.bytesWritten / 1048576)).toFixed(1)} transport writes, ${(stats.creditUpdatesSent / (stats.bytesReceived / 1048576)).toFixed(2)} window updates per MiB received`)

  await client.stop()
  await server.stop()
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
