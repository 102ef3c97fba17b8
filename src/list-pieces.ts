/**
 * The buffers of a `Uint8ArrayList`, read without its iterator: the iterator
 * is a generator, a measurable cost on paths that run once per received or
 * written chunk. Falls back to iterating if the list keeps its buffers some
 * other way (the array is not part of the package's typed API).
 */
import type { Uint8ArrayList } from 'uint8arraylist'

export function listPieces (list: Uint8ArrayList): readonly Uint8Array[] {
  const bufs = (list as unknown as { bufs?: unknown }).bufs
  return Array.isArray(bufs) ? bufs as Uint8Array[] : [...list]
}
