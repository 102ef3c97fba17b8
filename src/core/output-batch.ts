/**
 * Gathers frames into one transport write. Headers, and payloads small
 * enough that copying beats an extra chunk, are packed side by side into a
 * shared scratch buffer; large payloads are referenced, not copied. The
 * scratch region only ever advances, so views handed to the transport are
 * never overwritten.
 */
import { HEADER_LENGTH } from './constants.ts'
import { encodeHeaderInto } from './frame.ts'
import type { FrameType } from './constants.ts'

const SCRATCH_SIZE = 16 * 1024
/** Payload pieces up to this size are copied next to their header. */
const COPY_THRESHOLD = 2048

export class OutputBatch {
  chunks: Uint8Array[] = []
  byteLength = 0
  private scratch = new Uint8Array(SCRATCH_SIZE)
  /** Start of the scratch segment not yet pushed to `chunks`. */
  private segmentStart = 0
  private pos = 0

  get isEmpty (): boolean {
    return this.byteLength === 0
  }

  header (type: FrameType, flags: number, streamId: number, length: number): void {
    this.reserve(HEADER_LENGTH)
    encodeHeaderInto(this.scratch, this.pos, type, flags, streamId, length)
    this.pos += HEADER_LENGTH
    this.byteLength += HEADER_LENGTH
  }

  payload (piece: Uint8Array): void {
    const n = piece.byteLength
    if (n <= COPY_THRESHOLD) {
      this.reserve(n)
      this.scratch.set(piece, this.pos)
      this.pos += n
    } else {
      this.closeSegment()
      this.chunks.push(piece)
    }
    this.byteLength += n
  }

  /** Hands out everything gathered so far and starts a new batch. */
  take (): Uint8Array[] {
    this.closeSegment()
    const chunks = this.chunks
    this.chunks = []
    this.byteLength = 0
    return chunks
  }

  private reserve (n: number): void {
    if (this.pos + n > this.scratch.byteLength) {
      this.closeSegment()
      this.scratch = new Uint8Array(SCRATCH_SIZE)
      this.pos = 0
      this.segmentStart = 0
    }
  }

  private closeSegment (): void {
    if (this.pos > this.segmentStart) {
      this.chunks.push(this.scratch.subarray(this.segmentStart, this.pos))
      this.segmentStart = this.pos
    }
  }
}
