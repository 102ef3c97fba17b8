/**
 * Counts yamux frames by decoding the 12-byte headers of the bytes a
 * transport sends (bodies are skipped, never copied). Works for any yamux
 * implementation, so window updates are counted the same way for ours and
 * for `@chainsafe/libp2p-yamux`.
 */

const HEADER_LENGTH = 12
const TYPE_DATA = 0
const TYPE_WINDOW_UPDATE = 1
const FLAG_RST = 0x8

export interface FrameCounts {
  dataFrames: number
  /** WindowUpdate frames that grant credit (Length > 0, no RST). */
  windowUpdates: number
  /** WindowUpdate frames with Length 0: they only carry SYN/ACK/FIN/RST. */
  flagOnlyUpdates: number
  /** Ping and GoAway frames. */
  otherFrames: number
  /** Bytes that did not decode as yamux (should stay 0). */
  undecodable: number
}

export class YamuxFrameTap {
  readonly counts: FrameCounts = { dataFrames: 0, windowUpdates: 0, flagOnlyUpdates: 0, otherFrames: 0, undecodable: 0 }
  private readonly header = new Uint8Array(HEADER_LENGTH)
  private headerFill = 0
  private bodyLeft = 0
  private broken = false

  feed (buf: Uint8Array): void {
    if (this.broken) {
      this.counts.undecodable += buf.byteLength
      return
    }
    let offset = 0
    while (offset < buf.byteLength) {
      if (this.bodyLeft > 0) {
        const skip = Math.min(this.bodyLeft, buf.byteLength - offset)
        this.bodyLeft -= skip
        offset += skip
        continue
      }
      const take = Math.min(HEADER_LENGTH - this.headerFill, buf.byteLength - offset)
      this.header.set(buf.subarray(offset, offset + take), this.headerFill)
      this.headerFill += take
      offset += take
      if (this.headerFill === HEADER_LENGTH) {
        this.headerFill = 0
        this.onHeader()
        if (this.broken) {
          this.counts.undecodable += buf.byteLength - offset
          return
        }
      }
    }
  }

  private onHeader (): void {
    const h = this.header
    const version = h[0]
    const type = h[1]
    const flags = (h[2] << 8) | h[3]
    const length = ((h[8] << 24) | (h[9] << 16) | (h[10] << 8) | h[11]) >>> 0
    if (version !== 0 || type > 3) {
      this.broken = true
      this.counts.undecodable += HEADER_LENGTH
      return
    }
    if (type === TYPE_DATA) {
      this.counts.dataFrames++
      this.bodyLeft = length
    } else if (type === TYPE_WINDOW_UPDATE) {
      if (length > 0 && (flags & FLAG_RST) === 0) {
        this.counts.windowUpdates++
      } else {
        this.counts.flagOnlyUpdates++
      }
    } else {
      this.counts.otherFrames++
    }
  }
}

export function sumCounts (a: FrameCounts, b: FrameCounts): FrameCounts {
  return {
    dataFrames: a.dataFrames + b.dataFrames,
    windowUpdates: a.windowUpdates + b.windowUpdates,
    flagOnlyUpdates: a.flagOnlyUpdates + b.flagOnlyUpdates,
    otherFrames: a.otherFrames + b.otherFrames,
    undecodable: a.undecodable + b.undecodable
  }
}
