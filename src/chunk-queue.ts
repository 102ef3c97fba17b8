/**
 * Received chunks waiting for a reader, held so that memory follows the
 * bytes, not the number of frames that carried them.
 *
 * Every adapter buffers what the peer sent until the application reads it.
 * Kept one object per chunk, a peer sending one-byte Data frames to a stream
 * nobody reads would make us hold a Uint8Array (and an array slot) per byte:
 * ~100-250 bytes of heap per byte of window. So the first `keepSeparate`
 * waiting chunks are kept as they arrived (boundaries and all); past that,
 * chunks under {@link PACK_BELOW} bytes are copied, in order, into shared
 * slabs and come out again as larger chunks (their boundaries are not kept:
 * yamux carries a byte stream, and a reader cannot rely on how the peer's
 * bytes were framed). Larger chunks are always kept by reference. The
 * objects held are then at most `keepSeparate`, plus one per chunk of
 * {@link PACK_BELOW} bytes or more, plus one per slab; slab space is at most
 * about twice the bytes packed into it.
 */
import type { Uint8ArrayList } from 'uint8arraylist'

/** Chunks smaller than this may be packed together; larger ones are never copied. */
export const PACK_BELOW = 1024
/** The first slab of a run of packed chunks; each next one is twice as large, up to MAX_SLAB. */
const FIRST_SLAB = 256
const MAX_SLAB = 64 * 1024

export type Chunk = Uint8Array | Uint8ArrayList

export class ChunkQueue<T extends Chunk = Uint8Array> {
  /** Bytes held. */
  bytes = 0
  /** Chunks held as objects, oldest first from `head`; the open slab's bytes come after all of them. */
  private chunks: T[] = []
  private head = 0
  /** The slab small chunks are being copied into, and how much of it is filled. */
  private slab: Uint8Array | undefined = undefined
  private filled = 0
  private readonly keepSeparate: number

  /** `keepSeparate`: how many waiting chunks keep their boundaries before small ones are packed. */
  constructor (keepSeparate: number) {
    this.keepSeparate = keepSeparate
  }

  /** Objects held for the chunks (for tests and diagnostics): the memory cost beyond the bytes. */
  get objects (): number {
    return this.chunks.length - this.head + (this.slab !== undefined ? 1 : 0)
  }

  /** Adds `chunk` at the end (by reference, or copied into a slab if it is small and many wait). */
  append (chunk: T): void {
    const n = chunk.byteLength
    if (n === 0) { return }
    this.bytes += n
    if (n < PACK_BELOW && (this.slab !== undefined || this.chunks.length - this.head >= this.keepSeparate)) {
      this.pack(chunk, n)
      return
    }
    this.closeSlab()
    this.chunks.push(chunk)
  }

  /** Puts `chunk` back in front, by reference. */
  unshift (chunk: T): void {
    if (chunk.byteLength === 0) { return }
    this.bytes += chunk.byteLength
    if (this.head > 0) {
      this.chunks[--this.head] = chunk
    } else {
      this.chunks.unshift(chunk)
    }
  }

  /** Takes the oldest chunk; undefined when empty. */
  shift (): T | undefined {
    const chunks = this.chunks
    if (this.head < chunks.length) {
      const chunk = chunks[this.head]
      chunks[this.head++] = undefined as unknown as T
      if (this.head === chunks.length) {
        this.chunks = []
        this.head = 0
      } else if (this.head > 1024 && this.head * 2 > chunks.length) {
        this.chunks = chunks.slice(this.head)
        this.head = 0
      }
      this.bytes -= chunk.byteLength
      return chunk
    }
    const slab = this.slab
    if (slab === undefined) { return undefined }
    const view = slab.subarray(0, this.filled)
    this.slab = undefined
    this.bytes -= view.byteLength
    return view as T
  }

  /** Takes everything, oldest first. */
  takeAll (): T[] {
    this.closeSlab()
    const out = this.head === 0 ? this.chunks : this.chunks.slice(this.head)
    this.clear()
    return out
  }

  /** Drops everything. */
  clear (): void {
    this.chunks = []
    this.head = 0
    this.slab = undefined
    this.bytes = 0
  }

  private pack (chunk: T, n: number): void {
    let slab = this.slab
    if (slab === undefined || slab.byteLength - this.filled < n) {
      const size = slab === undefined ? FIRST_SLAB : Math.min(slab.byteLength * 2, MAX_SLAB)
      this.closeSlab()
      slab = this.slab = new Uint8Array(size > n ? size : n)
      this.filled = 0
    }
    if (chunk instanceof Uint8Array) {
      slab.set(chunk, this.filled)
      this.filled += n
    } else {
      for (const buf of chunk as Uint8ArrayList) {
        slab.set(buf, this.filled)
        this.filled += buf.byteLength
      }
    }
  }

  /** Ends the open slab: its bytes become one chunk (copied out if it is mostly empty, so the rest is freed). */
  private closeSlab (): void {
    const slab = this.slab
    if (slab === undefined) { return }
    this.slab = undefined
    const view = this.filled * 2 < slab.byteLength ? slab.slice(0, this.filled) : slab.subarray(0, this.filled)
    this.chunks.push(view as T)
  }
}
