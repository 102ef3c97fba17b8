/**
 * The runs of the Node.js API scenarios, each over a fresh TCP loopback
 * socket pair: a bulk transfer over N streams, sequential stream churn, and
 * (in a child process) idle streams held open. A run in which nothing moves
 * for `STALL_MS` fails and says how far it got (yamux-js wedges silently on
 * a frame split across socket reads).
 */
import { once } from 'node:events'
import net from 'node:net'
import { beforeTimedRun, deferred, guarded } from '../harness.ts'
import { IDLE_WARM_UP, IdleStreams } from '../idle-streams.ts'
import type { NodeContender, NodeMuxContender, NodeMuxPair } from '../node-contenders.ts'
import type { Sample } from '../results.ts'
import type { Duplex, Writable } from 'node:stream'

export const STALL_MS = 3000

const CHURN_PAYLOAD = 1024

interface SocketPair {
  dialer: net.Socket
  listener: net.Socket
  close(): void
}

async function socketPair (): Promise<SocketPair> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const dialer = net.connect(port, '127.0.0.1')
  await once(dialer, 'connect')
  const [listener] = await accepted
  server.close()
  for (const socket of [dialer, listener]) {
    // Nagle off, as @libp2p/tcp sets it; errors surface through the muxer
    socket.setNoDelay(true)
    socket.on('error', () => {})
  }
  return { dialer, listener, close: () => { dialer.destroy(); listener.destroy() } }
}

/** `work`, or a rejection once `progress()` has not moved for STALL_MS. */
async function unlessStalled<T> (work: Promise<T>, progress: () => number, of: string): Promise<T> {
  let timer: ReturnType<typeof setInterval> | undefined
  const stalled = new Promise<never>((_resolve, reject) => {
    let last = progress()
    let since = performance.now()
    timer = setInterval(() => {
      const now = progress()
      if (now !== last) {
        last = now
        since = performance.now()
      } else if (performance.now() - since >= STALL_MS) {
        reject(new Error(`stalled: nothing moved for ${STALL_MS / 1000} s, at ${now} of ${of}`))
      }
    }, 100)
  })
  try {
    return await Promise.race([work, stalled])
  } finally {
    clearInterval(timer)
  }
}

async function drained (stream: Writable): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', onDrain)
      stream.off('close', onClose)
      stream.off('error', done)
      if (err === undefined) { resolve() } else { reject(err) }
    }
    const onDrain = (): void => { done() }
    const onClose = (): void => { done(new Error('closed while waiting for drain')) }
    stream.on('drain', onDrain)
    stream.on('close', onClose)
    stream.on('error', done)
  })
}

async function writeAll (stream: Writable, total: number, chunk: Buffer): Promise<void> {
  let sent = 0
  while (sent < total) {
    const n = Math.min(chunk.length, total - sent)
    const more = stream.write(n === chunk.length ? chunk : chunk.subarray(0, n))
    sent += n
    if (!more) { await drained(stream) }
  }
}

export interface NodeTransferOptions {
  streams: number
  totalBytes: number
  writeSize: number
  timeoutMs: number
}

/** Bulk transfer: the dialer sends `totalBytes` over `streams` streams; the clock stops when the listener has counted every byte. */
export async function nodeTransfer (contender: NodeContender, options: NodeTransferOptions): Promise<{ seconds: number, cpuSeconds: number }> {
  const { streams, totalBytes, writeSize } = options
  let pair: SocketPair | undefined
  let mux: NodeMuxPair | undefined
  const chunk = Buffer.alloc(writeSize, 0x61)
  return guarded(async () => {
    pair = await socketPair()
    const received = deferred()
    let count = 0
    const onBytes = (data: Buffer): void => {
      count += data.length
      if (count >= totalBytes) { received.resolve() }
    }
    if (contender.kind === 'socket') {
      pair.listener.on('data', onBytes)
    } else {
      mux = contender.connect(pair.dialer, pair.listener, Math.max(streams * 2, 2000))
      mux.onStream((stream) => {
        stream.on('data', onBytes)
        stream.on('error', (err) => { received.reject(err) })
      })
    }
    beforeTimedRun()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const writers: Array<Promise<void>> = []
    if (contender.kind === 'socket') {
      writers.push(writeAll(pair.dialer, totalBytes, chunk))
    } else {
      const opener = mux as NodeMuxPair
      const share = Math.floor(totalBytes / streams)
      for (let i = 0; i < streams; i++) {
        const bytes = share + (i < totalBytes - share * streams ? 1 : 0)
        writers.push((async () => {
          const stream = await opener.open()
          stream.on('error', (err) => { received.reject(err) })
          await writeAll(stream, bytes, chunk)
          stream.end()
        })())
      }
    }
    await unlessStalled(Promise.all([received.promise, ...writers]), () => count, `${totalBytes} bytes`)
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
  }, options.timeoutMs, async () => {
    mux?.close()
    pair?.close()
  })
}

export interface NodeChurnOptions {
  streams: number
  timeoutMs: number
}

/** One stream's life: open, write 1 KiB, read the 1 KiB echo, end, wait until both sides have closed. */
async function cycle (mux: NodeMuxPair, payload: Buffer): Promise<void> {
  const stream = await mux.open()
  await new Promise<void>((resolve, reject) => {
    let got = 0
    stream.on('data', (data: Buffer) => {
      got += data.length
      if (got >= CHURN_PAYLOAD) { stream.end() }
    })
    stream.on('error', reject)
    stream.on('close', () => {
      if (got >= CHURN_PAYLOAD) { resolve() } else { reject(new Error('stream closed before the echo')) }
    })
    stream.write(payload)
  })
}

/** Sequential churn; the bare socket's row is 1 KiB echo round trips (no stream to open or close). */
export async function nodeChurn (contender: NodeContender, options: NodeChurnOptions): Promise<Sample> {
  let pair: SocketPair | undefined
  let mux: NodeMuxPair | undefined
  const payload = Buffer.alloc(CHURN_PAYLOAD, 0x62)
  return guarded(async () => {
    pair = await socketPair()
    let done = 0
    let run: () => Promise<void>
    if (contender.kind === 'socket') {
      const { dialer, listener } = pair
      listener.on('data', (data: Buffer) => listener.write(data))
      // the echo keeps order: the round trip of a request sent at offset o ends once o + 1 KiB is back
      const echoed = { bytes: 0, waiting: 0, wake: (): void => {} }
      dialer.on('data', (data: Buffer) => {
        echoed.bytes += data.length
        if (echoed.bytes >= echoed.waiting) { echoed.wake() }
      })
      run = async () => {
        for (; done < options.streams; done++) {
          echoed.waiting = echoed.bytes + CHURN_PAYLOAD
          const back = new Promise<void>((resolve) => { echoed.wake = resolve })
          dialer.write(payload)
          await back
        }
      }
    } else {
      const echo = mux = contender.connect(pair.dialer, pair.listener, 2000)
      echo.onStream((stream: Duplex) => {
        stream.on('error', () => {})
        stream.on('data', (data: Buffer) => stream.write(data))
        stream.on('end', () => stream.end())
      })
      run = async () => {
        for (; done < options.streams; done++) { await cycle(echo, payload) }
      }
    }
    beforeTimedRun()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await unlessStalled(run(), () => done, `${options.streams} streams`)
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    return {
      streamsPerSec: options.streams / seconds,
      usPerStream: seconds * 1e6 / options.streams,
      cpuUsPerStream: (cpu.user + cpu.system) / options.streams
    }
  }, options.timeoutMs, async () => {
    mux?.close()
    pair?.close()
  })
}

/** Runs in a child process: `n` idle streams over TCP, both ends in this process. */
export async function nodeMemoryChild (contender: NodeMuxContender, n: number): Promise<Sample> {
  const meter = new IdleStreams()
  const pair = await socketPair()
  const mux = contender.connect(pair.dialer, pair.listener, n + IDLE_WARM_UP + 100)
  mux.onStream(meter.onInbound)
  return meter.measure(n, {
    open: async () => mux.open(),
    wait: async (arrived, count, what) => { await unlessStalled(arrived, count, what) }
  })
}
