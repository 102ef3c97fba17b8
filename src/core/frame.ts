/**
 * The yamux frame codec: a 12-byte big-endian header, then (for Data
 * frames only) `length` payload bytes.
 *
 * The decoder is streaming and never buffers a payload: it validates each
 * header the moment its 12th byte arrives, then hands the payload on as
 * zero-copy views of the input chunks, piece by piece. A peer announcing a
 * 4 GiB frame costs us nothing until the bytes actually arrive, and then
 * only what the receiving stream's window allows.
 */
import { FrameType, HEADER_LENGTH, PROTOCOL_VERSION } from './constants.ts'
import { InvalidMsgTypeError, InvalidVersionError } from './errors.ts'

export interface FrameHeader {
  type: FrameType
  flags: number
  streamId: number
  length: number
}

/** Writes a header into `target` at `offset` (12 bytes). */
export function encodeHeaderInto (target: Uint8Array, offset: number, type: FrameType, flags: number, streamId: number, length: number): void {
  target[offset] = PROTOCOL_VERSION
  target[offset + 1] = type
  target[offset + 2] = (flags >>> 8) & 0xff
  target[offset + 3] = flags & 0xff
  target[offset + 4] = streamId >>> 24
  target[offset + 5] = (streamId >>> 16) & 0xff
  target[offset + 6] = (streamId >>> 8) & 0xff
  target[offset + 7] = streamId & 0xff
  target[offset + 8] = length >>> 24
  target[offset + 9] = (length >>> 16) & 0xff
  target[offset + 10] = (length >>> 8) & 0xff
  target[offset + 11] = length & 0xff
}

/** Encodes one header into a new 12-byte array. */
export function encodeHeader (header: FrameHeader): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH)
  encodeHeaderInto(out, 0, header.type, header.flags, header.streamId, header.length)
  return out
}

function readU32 (buf: Uint8Array, offset: number): number {
  // multiply rather than shift: `<< 24` would go negative for ids >= 2^31
  return buf[offset] * 0x1000000 + ((buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3])
}

/**
 * Decodes and validates a header at `offset` (12 bytes must be present).
 * Throws {@link InvalidVersionError} or {@link InvalidMsgTypeError}.
 */
export function decodeHeader (buf: Uint8Array, offset = 0): FrameHeader {
  if (buf[offset] !== PROTOCOL_VERSION) {
    throw new InvalidVersionError(`invalid protocol version ${buf[offset]}`)
  }
  const type = buf[offset + 1]
  if (type > FrameType.GoAway) {
    throw new InvalidMsgTypeError(`invalid message type ${type}`)
  }
  return {
    type: type as FrameType,
    flags: (buf[offset + 2] << 8) | buf[offset + 3],
    streamId: readU32(buf, offset + 4),
    length: readU32(buf, offset + 8)
  }
}

/** What the decoder calls as frames arrive. */
export interface FrameSink {
  /**
   * A header arrived and passed version/type validation. For Data frames the
   * payload follows through `onPayload`, then `onFrameEnd`. Throwing here
   * stops decoding before any of the payload is looked at.
   */
  onHeader(header: FrameHeader): void
  /**
   * A piece of the current Data frame's payload: a view into the input chunk.
   * `more` is true when the frame goes on past this chunk.
   */
  onPayload(header: FrameHeader, piece: Uint8Array, more: boolean): void
  /** The current frame (header and whole payload) is complete. */
  onFrameEnd(header: FrameHeader): void
}

/**
 * Streaming decoder. Feed it chunks of any size with `push`; it calls the
 * sink synchronously for every header, payload piece and frame end.
 */
export class FrameDecoder {
  private readonly sink: FrameSink
  /** Holds a header split across chunks (at most 11 bytes are ever waiting). */
  private readonly headerBuf = new Uint8Array(HEADER_LENGTH)
  private headerFill = 0
  /** The frame whose payload is being received, if any. */
  private current: FrameHeader | undefined
  private payloadLeft = 0
  private failed = false

  constructor (sink: FrameSink) {
    this.sink = sink
  }

  /** Bytes of a split header waiting for the rest. */
  get bufferedBytes (): number {
    return this.headerFill
  }

  /** True while in the middle of a frame. */
  get midFrame (): boolean {
    return this.headerFill > 0 || this.current !== undefined
  }

  /** Stops decoding: the rest of the current chunk and every later one are ignored. */
  stop (): void {
    this.failed = true
  }

  push (chunk: Uint8Array): void {
    if (this.failed) { return }
    try {
      this.decode(chunk)
    } catch (err) {
      this.failed = true
      throw err
    }
  }

  private decode (chunk: Uint8Array): void {
    const end = chunk.byteLength
    let pos = 0
    while (pos < end && !this.failed) {
      const current = this.current
      if (current !== undefined) {
        const n = Math.min(this.payloadLeft, end - pos)
        this.payloadLeft -= n
        const piece = chunk.subarray(pos, pos + n)
        pos += n
        this.sink.onPayload(current, piece, this.payloadLeft > 0)
        if (this.payloadLeft === 0) {
          this.current = undefined
          this.sink.onFrameEnd(current)
        }
        continue
      }

      let header: FrameHeader
      if (this.headerFill === 0 && end - pos >= HEADER_LENGTH) {
        header = decodeHeader(chunk, pos)
        pos += HEADER_LENGTH
      } else {
        const n = Math.min(HEADER_LENGTH - this.headerFill, end - pos)
        this.headerBuf.set(chunk.subarray(pos, pos + n), this.headerFill)
        this.headerFill += n
        pos += n
        if (this.headerFill < HEADER_LENGTH) { return }
        this.headerFill = 0
        header = decodeHeader(this.headerBuf, 0)
      }

      this.sink.onHeader(header)
      if (header.type === FrameType.Data && header.length > 0) {
        this.current = header
        this.payloadLeft = header.length
      } else {
        this.sink.onFrameEnd(header)
      }
    }
  }
}
