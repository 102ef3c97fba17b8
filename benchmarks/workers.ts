/**
 * Where runs execute. By default every contender gets its own worker
 * process: the parent sends it one run at a time (so contenders still
 * interleave round by round and never overlap), while each contender's heap
 * and JIT state stay its own, as in an application that loads one muxer.
 * run.ts starts fresh workers for every scenario. `BENCH_ISOLATE=0` runs
 * everything in this process.
 */
import { fork } from 'node:child_process'
import { selectContenders } from './contenders.ts'
import { deferred, errorMessage, installStrayErrorHandlers } from './harness.ts'
import { selectNodeContenders } from './node-contenders.ts'
import { churnRun } from './scenarios/churn.ts'
import { fullStackRun } from './scenarios/full-stack.ts'
import { nodeChurn, nodeTransfer } from './scenarios/node-runs.ts'
import { openBurstRun } from './scenarios/open-burst.ts'
import { transfer } from './scenarios/transfer.ts'
import type { Contender } from './contenders.ts'
import type { Deferred } from './harness.ts'
import type { NodeContender } from './node-contenders.ts'
import type { Sample } from './results.ts'
import type { ChurnOptions } from './scenarios/churn.ts'
import type { FullStackOptions, FullStackResult } from './scenarios/full-stack.ts'
import type { NodeChurnOptions, NodeTransferOptions } from './scenarios/node-runs.ts'
import type { OpenBurstOptions } from './scenarios/open-burst.ts'
import type { TransferOptions, TransferResult } from './scenarios/transfer.ts'
import type { ChildProcess } from 'node:child_process'

export type Job =
  | { kind: 'transfer', options: TransferOptions }
  | { kind: 'churn', options: ChurnOptions }
  | { kind: 'fullStack', options: FullStackOptions }
  | { kind: 'open-burst', options: OpenBurstOptions }
  | { kind: 'node-transfer', options: NodeTransferOptions }
  | { kind: 'node-churn', options: NodeChurnOptions }

interface Request { id: number, job: Job }
interface Reply { id: number, value?: unknown, error?: string }

async function execute (name: string, job: Job): Promise<unknown> {
  if (job.kind === 'node-transfer' || job.kind === 'node-churn') {
    const contender = selectNodeContenders([name])[0]
    if (contender === undefined) { throw new Error(`unknown Node API contender ${name}`) }
    return job.kind === 'node-transfer' ? nodeTransfer(contender, job.options) : nodeChurn(contender, job.options)
  }
  const contender = selectContenders([name])[0]
  if (contender === undefined) { throw new Error(`unknown contender ${name}`) }
  if (job.kind === 'transfer') { return transfer(contender, job.options) }
  if (job.kind === 'fullStack') { return fullStackRun(contender, job.options) }
  if (job.kind === 'open-burst') {
    if (contender.kind !== 'muxer') { throw new Error(`${name} is not a libp2p 3 muxer`) }
    return openBurstRun(contender, job.options)
  }
  return churnRun(contender, job.options)
}

/** Entry point of a worker process (`run.js --worker <contender>`). */
export function workerMain (name: string): void {
  installStrayErrorHandlers()
  // runs arrive one at a time; keep them strictly sequential anyway
  let queue = Promise.resolve()
  process.on('message', (msg: Request) => {
    queue = queue.then(async () => {
      let reply: Reply
      try {
        reply = { id: msg.id, value: await execute(name, msg.job) }
      } catch (err) {
        reply = { id: msg.id, error: errorMessage(err) }
      }
      process.send?.(reply)
    })
  })
  process.on('disconnect', () => { process.exit(0) })
}

class Worker {
  private child?: ChildProcess
  private readonly pending = new Map<number, Deferred<unknown>>()
  private nextId = 0
  private stderr = ''

  constructor (private readonly name: string) {}

  private start (): ChildProcess {
    const child = fork(process.argv[1], ['--worker', this.name], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc']
    })
    child.stderr?.on('data', (buf: Buffer) => { this.stderr = (this.stderr + buf.toString()).slice(-2000) })
    child.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id)
      if (waiter === undefined) { return }
      this.pending.delete(reply.id)
      if (reply.error !== undefined) { waiter.reject(new Error(reply.error)) } else { waiter.resolve(reply.value) }
    })
    child.on('exit', (code, signal) => {
      const tail = this.stderr.trim().split('\n').slice(-3).join(' | ')
      for (const waiter of this.pending.values()) {
        waiter.reject(new Error(`worker exited with ${code ?? signal}${tail === '' ? '' : `: ${tail}`}`))
      }
      this.pending.clear()
      if (this.child === child) { this.child = undefined }
    })
    this.child = child
    return child
  }

  async run (job: Job, timeoutMs: number): Promise<unknown> {
    const child = this.child ?? this.start()
    const id = this.nextId++
    const reply = deferred<unknown>()
    this.pending.set(id, reply)
    // the worker enforces the run's own timeout; this one catches a wedged worker
    const timer = setTimeout(() => {
      this.pending.delete(id)
      reply.reject(new Error(`worker did not answer within ${timeoutMs} ms; restarted`))
      child.kill('SIGKILL')
    }, timeoutMs)
    child.send({ id, job } satisfies Request)
    try {
      return await reply.promise
    } finally {
      clearTimeout(timer)
    }
  }

  stop (): void {
    if (this.child?.connected === true) { this.child.disconnect() }
  }
}

export class Runner {
  private readonly workers = new Map<string, Worker>()

  constructor (readonly isolate: boolean) {}

  private async run (contender: { name: string }, job: Job, timeoutMs: number): Promise<unknown> {
    if (!this.isolate) { return execute(contender.name, job) }
    let worker = this.workers.get(contender.name)
    if (worker === undefined) {
      worker = new Worker(contender.name)
      this.workers.set(contender.name, worker)
    }
    return worker.run(job, timeoutMs + 15_000)
  }

  async transfer (contender: Contender, options: TransferOptions): Promise<TransferResult> {
    return await this.run(contender, { kind: 'transfer', options }, options.timeoutMs) as TransferResult
  }

  async fullStack (contender: Contender, options: FullStackOptions): Promise<FullStackResult> {
    return await this.run(contender, { kind: 'fullStack', options }, options.timeoutMs) as FullStackResult
  }

  async churn (contender: Contender, options: ChurnOptions): Promise<Sample> {
    return await this.run(contender, { kind: 'churn', options }, options.timeoutMs) as Sample
  }

  async openBurst (contender: Contender, options: OpenBurstOptions): Promise<Sample> {
    return await this.run(contender, { kind: 'open-burst', options }, options.timeoutMs) as Sample
  }

  async nodeTransfer (contender: NodeContender, options: NodeTransferOptions): Promise<{ seconds: number, cpuSeconds: number }> {
    return await this.run(contender, { kind: 'node-transfer', options }, options.timeoutMs) as { seconds: number, cpuSeconds: number }
  }

  async nodeChurn (contender: NodeContender, options: NodeChurnOptions): Promise<Sample> {
    return await this.run(contender, { kind: 'node-churn', options }, options.timeoutMs) as Sample
  }

  stop (): void {
    for (const worker of this.workers.values()) { worker.stop() }
  }
}
