/**
 * A pull-driven async iterator over queued byte chunks: the `source` of the
 * v2 muxer (yamux bytes for the transport) and of each v2 stream (payload for
 * the application). Its owner hears of every pull, which is what makes flow
 * control follow consumption: a stream returns window credit, the muxer
 * releases the session's transport back-pressure.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { ChunkQueue } from '../chunk-queue.ts'

export interface ChunkSourceInit {
  /**
   * True: a pull takes every queued chunk as one item (the muxer's output).
   * False: one chunk per pull, each as a Uint8ArrayList (a stream's payload,
   * message boundaries as they arrived while few chunks wait; past
   * KEEP_SEPARATE waiting, small chunks are packed together so that a flood
   * of tiny frames costs its bytes, not an object per frame: chunk-queue.ts).
   */
  coalesce: boolean
  /** The consumer took `bytes` bytes. */
  onPull(bytes: number): void
  /**
   * The consumer stopped reading early (`return()`/`throw()`); `dropped` is
   * the byte count of the chunks it left unread, now discarded.
   */
  onAbandon?(dropped: number): void
}

type Item = Uint8Array | Uint8ArrayList

/** Waiting chunks of a stream's payload that keep their boundaries before small ones are packed. */
const KEEP_SEPARATE = 64

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined }

export class ChunkSource implements AsyncGenerator<Item, void, unknown> {
  /** Bytes queued and not yet pulled. */
  bytes = 0
  private readonly chunks: ChunkQueue<Uint8Array>
  private ended = false
  private abandoned = false
  private error: Error | undefined
  private waiter: { resolve(result: IteratorResult<Item, undefined>): void, reject(err: Error): void } | undefined
  /** Called once the consumer has come back after the last chunk and seen the end. */
  private finishWaiters: Array<() => void> = []
  private finished = false
  /** True once a consumer has asked for a chunk. */
  started = false
  private readonly init: ChunkSourceInit

  constructor (init: ChunkSourceInit) {
    this.init = init
    // the muxer's output is taken whole at each pull: nothing to pack
    this.chunks = new ChunkQueue(init.coalesce ? Infinity : KEEP_SEPARATE)
  }

  /** True once `end()` was called or the consumer stopped. */
  get isEnded (): boolean {
    return this.ended
  }

  /** Queues a chunk (by reference, or packed if it is small and many wait). Ignored after the end, or if empty. */
  push (chunk: Uint8Array): void {
    if (this.ended || chunk.byteLength === 0) { return }
    this.chunks.append(chunk)
    this.bytes += chunk.byteLength
    const waiter = this.waiter
    if (waiter !== undefined) {
      this.waiter = undefined
      waiter.resolve(this.take())
    }
  }

  /**
   * Ends the source: what is queued is still delivered, then the iteration
   * ends, or throws `error` if one is given.
   */
  end (error?: Error): void {
    if (this.ended) { return }
    this.ended = true
    this.error = error
    const waiter = this.waiter
    if (waiter !== undefined && this.chunks.bytes === 0) {
      this.waiter = undefined
      this.settleEnd(waiter)
    }
  }

  /**
   * Resolves once the consumer has taken every chunk and come back for more
   * after the end (so it has finished with the last one), or stopped reading.
   */
  async whenFinished (): Promise<void> {
    if (this.finished) { return }
    await new Promise<void>(resolve => { this.finishWaiters.push(resolve) })
  }

  async next (): Promise<IteratorResult<Item, undefined>> {
    this.started = true
    if (this.chunks.bytes > 0) { return this.take() }
    if (this.ended) {
      this.finish()
      if (this.error !== undefined && !this.abandoned) {
        const error = this.error
        this.error = undefined // thrown once, then the iteration is done
        throw error
      }
      return DONE
    }
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject } })
  }

  async return (): Promise<IteratorResult<Item, undefined>> {
    this.abandon()
    return DONE
  }

  async throw (): Promise<IteratorResult<Item, undefined>> {
    this.abandon()
    return DONE
  }

  [Symbol.asyncIterator] (): this {
    return this
  }

  async [Symbol.asyncDispose] (): Promise<void> {
    this.abandon()
  }

  private take (): IteratorResult<Item, undefined> {
    let value: Item
    let bytes: number
    if (this.init.coalesce && this.chunks.objects > 1) {
      const list = new Uint8ArrayList(...this.chunks.takeAll())
      value = list
      bytes = list.byteLength
    } else {
      const chunk = this.chunks.shift() as Uint8Array
      value = this.init.coalesce ? chunk : new Uint8ArrayList(chunk)
      bytes = chunk.byteLength
    }
    this.bytes -= bytes
    this.init.onPull(bytes)
    return { done: false, value }
  }

  private finish (): void {
    if (this.finished) { return }
    this.finished = true
    const waiters = this.finishWaiters
    this.finishWaiters = []
    for (const resolve of waiters) { resolve() }
  }

  private settleEnd (waiter: NonNullable<ChunkSource['waiter']>): void {
    this.finish()
    const error = this.error
    if (error !== undefined && !this.abandoned) {
      this.error = undefined
      waiter.reject(error)
    } else {
      waiter.resolve(DONE)
    }
  }

  private abandon (): void {
    if (this.abandoned) { return }
    this.abandoned = true
    const dropped = this.bytes
    this.chunks.clear()
    this.bytes = 0
    const wasEnded = this.ended
    this.ended = true
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.resolve(DONE)
    this.finish()
    if (!wasEnded || dropped > 0) { this.init.onAbandon?.(dropped) }
  }
}
