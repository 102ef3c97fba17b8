/**
 * When a received payload piece may be kept as a view of the chunk it came
 * in, and when it must be copied: the memory bound on held payload.
 */

/**
 * `piece`, or a copy of it when keeping the view would pin a much larger
 * transport buffer: a piece under a quarter of its buffer is copied, unless
 * its frame (`frameLength` bytes) is at least as long as that buffer, since
 * a frame spans at most two buffers more than its length fills, so its
 * pieces pin under 3x its bytes. Whatever is kept this way pins at most
 * about 4x its bytes.
 */
export function keepable (piece: Uint8Array, frameLength: number): Uint8Array {
  const buffer = piece.buffer.byteLength
  return piece.byteLength * 4 < buffer && frameLength < buffer ? copyOf(piece) : piece
}

/**
 * A copy in memory of its own. Not `slice()`: Node's Buffer (what sockets
 * deliver) overrides it to return a view of the same memory.
 */
function copyOf (piece: Uint8Array): Uint8Array {
  const copy = new Uint8Array(piece.byteLength)
  copy.set(piece)
  return copy
}
