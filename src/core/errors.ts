/**
 * The errors a yamux session reports. Each mirrors one of hashicorp/yamux's
 * `Err*` values; callers match on `name` (stable across copies of this
 * module) and, where the error ends a session, `goAwayCode` says what was
 * (or would be) sent to the peer.
 */
import { GoAwayCode } from './constants.ts'

export abstract class YamuxError extends Error {
  /** The GoAway code this error puts on the wire when it ends a session. */
  readonly goAwayCode?: GoAwayCode

  constructor (message: string, goAwayCode?: GoAwayCode) {
    super(message)
    this.goAwayCode = goAwayCode
  }
}

/** A stream was reset (hashicorp: ErrConnectionReset). */
export class ConnectionResetError extends YamuxError {
  static readonly name = 'ConnectionResetError'
  override readonly name = 'ConnectionResetError'
  constructor (message = 'stream reset') { super(message) }
}

/** The transport accepted no bytes for too long (hashicorp: ErrConnectionWriteTimeout). */
export class ConnectionWriteTimeoutError extends YamuxError {
  static readonly name = 'ConnectionWriteTimeoutError'
  override readonly name = 'ConnectionWriteTimeoutError'
  constructor (message = 'connection write timeout') { super(message, GoAwayCode.InternalError) }
}

/** The peer opened a stream id that is already open (hashicorp: ErrDuplicateStream). */
export class DuplicateStreamError extends YamuxError {
  static readonly name = 'DuplicateStreamError'
  override readonly name = 'DuplicateStreamError'
  constructor (message = 'duplicate stream initiated') { super(message, GoAwayCode.ProtocolError) }
}

/** A frame had an unknown type, or a type not allowed on its stream (hashicorp: ErrInvalidMsgType). */
export class InvalidMsgTypeError extends YamuxError {
  static readonly name = 'InvalidMsgTypeError'
  override readonly name = 'InvalidMsgTypeError'
  constructor (message = 'invalid message type') { super(message, GoAwayCode.ProtocolError) }
}

/** A frame had a version other than 0 (hashicorp: ErrInvalidVersion). */
export class InvalidVersionError extends YamuxError {
  static readonly name = 'InvalidVersionError'
  override readonly name = 'InvalidVersionError'
  constructor (message = 'invalid protocol version') { super(message, GoAwayCode.ProtocolError) }
}

/** A keep-alive ping went unanswered (hashicorp: ErrKeepAliveTimeout). */
export class KeepAliveTimeoutError extends YamuxError {
  static readonly name = 'KeepAliveTimeoutError'
  override readonly name = 'KeepAliveTimeoutError'
  constructor (message = 'keepalive timeout') { super(message, GoAwayCode.InternalError) }
}

/** The peer sent more data than a stream's window allowed (hashicorp: ErrReceiveWindowExceeded). */
export class ReceiveWindowExceededError extends YamuxError {
  static readonly name = 'ReceiveWindowExceededError'
  override readonly name = 'ReceiveWindowExceededError'
  constructor (message = 'receive window exceeded') { super(message, GoAwayCode.ProtocolError) }
}

/** The peer sent GoAway (hashicorp: ErrRemoteGoAway). `code` is the code it sent. */
export class RemoteGoAwayError extends YamuxError {
  static readonly name = 'RemoteGoAwayError'
  override readonly name = 'RemoteGoAwayError'
  readonly code: number
  constructor (code: number, message = `remote end sent GoAway (code ${code})`) {
    super(message)
    this.code = code
  }
}

/** The session is closed or closing (hashicorp: ErrSessionShutdown). */
export class SessionShutdownError extends YamuxError {
  static readonly name = 'SessionShutdownError'
  override readonly name = 'SessionShutdownError'
  constructor (message = 'session shutdown') { super(message) }
}

/** An operation used a stream that is closed for it (hashicorp: ErrStreamClosed). */
export class StreamClosedError extends YamuxError {
  static readonly name = 'StreamClosedError'
  override readonly name = 'StreamClosedError'
  constructor (message = 'stream closed') { super(message) }
}

/** No stream ids are left on this session (hashicorp: ErrStreamsExhausted). */
export class StreamsExhaustedError extends YamuxError {
  static readonly name = 'StreamsExhaustedError'
  override readonly name = 'StreamsExhaustedError'
  constructor (message = 'streams exhausted') { super(message) }
}

/** A deadline passed: a ping, a stream open or a half-closed stream (hashicorp: ErrTimeout). */
export class TimeoutError extends YamuxError {
  static readonly name = 'TimeoutError'
  override readonly name = 'TimeoutError'
  constructor (message = 'i/o deadline reached') { super(message) }
}

/** A frame carried a flag that makes no sense where it arrived (hashicorp: ErrUnexpectedFlag). */
export class UnexpectedFlagError extends YamuxError {
  static readonly name = 'UnexpectedFlagError'
  override readonly name = 'UnexpectedFlagError'
  constructor (message = 'unexpected flag') { super(message, GoAwayCode.ProtocolError) }
}

/** A window update would take a stream's send window past 2^32-1 (rust-yamux CVE-2026-31814). */
export class WindowOverflowError extends YamuxError {
  static readonly name = 'WindowOverflowError'
  override readonly name = 'WindowOverflowError'
  constructor (message = 'window update overflows the send window') { super(message, GoAwayCode.ProtocolError) }
}

/** A caller-side limit was reached: too many open outbound streams. */
export class StreamLimitError extends YamuxError {
  static readonly name = 'StreamLimitError'
  override readonly name = 'StreamLimitError'
  constructor (message = 'too many outbound streams') { super(message) }
}

/** A configuration value is out of range. */
export class InvalidConfigError extends YamuxError {
  static readonly name = 'InvalidConfigError'
  override readonly name = 'InvalidConfigError'
}

/**
 * Something on our side failed while the session ran (an exception thrown by
 * the session's owner, e.g. a handler callback): GoAway(2) is sent. `cause`
 * holds what was thrown.
 */
export class InternalError extends YamuxError {
  static readonly name = 'InternalError'
  override readonly name = 'InternalError'
  constructor (message = 'internal error', cause?: unknown) {
    super(message, GoAwayCode.InternalError)
    if (cause !== undefined) { this.cause = cause }
  }
}

/** The transport failed (a socket error, a write that threw). `cause` holds its error. */
export class TransportError extends YamuxError {
  static readonly name = 'TransportError'
  override readonly name = 'TransportError'
  constructor (message = 'transport failed', cause?: unknown) {
    super(message)
    if (cause !== undefined) { this.cause = cause }
  }
}

/**
 * The transport ended before the session did: in the middle of a frame, or
 * before a stream received the peer's FIN (without a GoAway from the peer).
 * Data the peer meant to send may be missing, so this is never a clean end.
 */
export class TransportClosedError extends YamuxError {
  static readonly name = 'TransportClosedError'
  override readonly name = 'TransportClosedError'
  constructor (message = 'the transport closed before the session ended') { super(message) }
}

/** `err` as a YamuxError: itself if it is one, else an InternalError carrying it. */
export function toYamuxError (err: unknown): YamuxError {
  if (err instanceof YamuxError) { return err }
  return new InternalError(errorMessage(err), err)
}

/** The message of anything thrown. */
export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
