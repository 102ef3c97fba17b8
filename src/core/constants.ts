/**
 * Wire constants of the yamux protocol and the limits this implementation
 * enforces. Every number the protocol or our hardening relies on is named here.
 */

/** The only protocol version defined by the spec. */
export const PROTOCOL_VERSION = 0

/** Every frame starts with a fixed 12-byte header. */
export const HEADER_LENGTH = 12

/** Frame types (header byte 1). */
export enum FrameType {
  /** Carries `length` payload bytes for a stream. */
  Data = 0,
  /** `length` is a credit delta for the stream's send window. */
  WindowUpdate = 1,
  /** `length` is an opaque value echoed back by the peer. Stream id 0. */
  Ping = 2,
  /** `length` is a GoAway code. Stream id 0. */
  GoAway = 3
}

/** Header flag bits (header bytes 2-3). Unknown bits are ignored on receipt. */
export enum Flag {
  /** Opens a stream; on a Ping, marks a request. */
  SYN = 0x1,
  /** Acknowledges a stream; on a Ping, marks a response. */
  ACK = 0x2,
  /** Half-closes the sender's side of a stream. */
  FIN = 0x4,
  /** Resets a stream. */
  RST = 0x8
}

/** GoAway codes (the `length` field of a GoAway frame). */
export enum GoAwayCode {
  NormalTermination = 0,
  ProtocolError = 1,
  InternalError = 2
}

/** Largest value of a u32 header field (stream id, length, window). */
export const MAX_U32 = 0xFFFF_FFFF

/** Every stream starts with this window in both directions (spec). */
export const INITIAL_STREAM_WINDOW = 256 * 1024

/**
 * A stream whose application consumed half its window grows its window to at
 * least this at that first update, whatever its rate (capped by its maximum
 * and the session's budget). Auto-tuning by RTT alone leaves a stream that
 * shares the link with many others at 256 KiB, and so sending a window update
 * for every 128 KiB it moves: 8 per MiB, most of them a transport write (a
 * noise message and a syscall) of their own. Growth needs consumption, so a
 * paused reader never gets a larger window. Nor does any stream before the
 * session's first ping came back or failed, unless the config's
 * growAfterFirstPing is off (see takeCredit).
 */
export const MIN_BUSY_STREAM_WINDOW = 1024 * 1024

/** Default cap for a stream's receive window once auto-tuned. */
export const DEFAULT_MAX_STREAM_WINDOW = 16 * 1024 * 1024

/** Default payload bytes per Data frame we send: keeps one stream from hogging the link. */
export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024

/**
 * We never send a Data frame with a larger payload: rust-yamux rejects
 * bodies over 1 MiB and kills the connection.
 */
export const MAX_FRAME_SIZE_LIMIT = 1024 * 1024

/** Smallest configurable payload per Data frame. */
export const MIN_FRAME_SIZE = 1024

/** libp2p/specs#547: at most this many of our streams may await an ACK. */
export const MAX_ACK_BACKLOG = 256

/**
 * Most pongs we hold while the transport is not accepting writes; pings
 * beyond it go unanswered (a peer that floods pings and stops reading gets
 * no unbounded queue, rust-yamux CVE-2024-32984).
 */
export const MAX_PENDING_PONGS = 32

/**
 * Most control frames (window updates, RSTs, GoAway) queued while the
 * transport is not accepting writes before the session is failed.
 */
export const MAX_PENDING_CONTROL_FRAMES = 4096

/**
 * Most payload bytes one stream keeps queued inside the core, waiting for
 * the transport. Further bytes stay with the caller, who is told to wait.
 */
export const MAX_STREAM_SEND_QUEUE = 1024 * 1024

/**
 * Default bound on the bytes all streams of a session keep queued
 * (maxSessionSendQueue). 4 MiB held a hundred writers behind a slow transport
 * (noise) in turns of refused writes and wake-ups: 16 MiB moved 100 streams
 * through noise 1.35× faster at 0.78× the CPU.
 */
export const DEFAULT_MAX_SESSION_SEND_QUEUE = 16 * 1024 * 1024

/**
 * Writes up to this size are copied when accepted, so callers may reuse
 * small buffers at once (libp2p's length-prefix encoders do). Larger writes
 * are referenced until framed, never copied.
 */
export const COPY_WRITES_UP_TO = 8 * 1024

/** Size of the slabs small writes are copied into. */
export const WRITE_SLAB_SIZE = 64 * 1024

/** Payload bytes gathered into one transport write before it is emitted. */
export const FLUSH_BATCH_BYTES = 256 * 1024
