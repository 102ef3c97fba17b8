/**
 * Run by hidden-classes.spec.ts in a child process with V8's natives syntax:
 * moves data over a few streams of the libp2p muxer, with a full GC between
 * rounds, and prints whether each stream and core record still has the
 * hidden class of the module-level shape objects.
 */
import { RECORD_SHAPE } from '../../src/core/stream-record.ts'
import { STREAM_SHAPE } from '../../src/libp2p/stream.ts'
import { coreRecord, muxers, sendAll, until } from '../libp2p/helpers.ts'

// eslint-disable-next-line no-new-func
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean
const gc = (globalThis as { gc?(): void }).gc

async function round (): Promise<Record<string, boolean>> {
  const { dialer, listener, inbound } = muxers()
  const stream = await dialer.createStream()
  const record = coreRecord(dialer, stream)
  let received = 0
  await until(() => inbound.length === 1)
  const remote = inbound[0]
  remote.addEventListener('message', (evt) => { received += evt.data.byteLength })
  remote.addEventListener('remoteCloseWrite', () => { void remote.close() })
  await sendAll(stream, 256 * 1024)
  await stream.close()
  await until(() => received === 256 * 1024 && stream.status === 'closed' && remote.status === 'closed')
  const result = {
    record: record !== undefined && sameMap(record, RECORD_SHAPE),
    stream: sameMap(stream, STREAM_SHAPE),
    remote: sameMap(remote, STREAM_SHAPE)
  }
  await dialer.close()
  await listener.close()
  return result
}

const rounds: Array<Record<string, boolean>> = []
for (let i = 0; i < 3; i++) {
  rounds.push(await round())
  gc?.()
}
process.stdout.write(JSON.stringify({ gc: gc !== undefined, rounds }))
