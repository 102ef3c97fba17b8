/**
 * `npm run soak`: the soak workload for SOAK_SECONDS (default 180), with a
 * report. Exits non-zero if anything failed or leaked.
 */
/* eslint-disable no-console -- a command-line tool reports to the terminal */
import { soak } from './workload.ts'

const seconds = Number(process.env.SOAK_SECONDS ?? 180)
console.log(`soak: ${seconds} s, 16 concurrent tasks on one connection`)
const result = await soak(seconds)
console.log(JSON.stringify(result, null, 2))
const leaked = result.leftover.dialerStreams + result.leftover.listenerStreams + result.leftover.timers
const grew = result.heapAfterMiB - result.heapBeforeMiB
console.log(`streams ${result.streams}, bytes ${(result.bytes / 1048576).toFixed(0)} MiB, resets ${result.resets}, pings ${result.pings}`)
console.log(`heap ${result.heapBeforeMiB.toFixed(1)} -> ${result.heapAfterMiB.toFixed(1)} MiB (peak ${result.heapPeakMiB.toFixed(1)}), RSS peak ${result.rssPeakMiB.toFixed(0)} MiB`)
if (result.failures.length > 0 || leaked > 0 || grew > 8) {
  console.log('SOAK FAILED')
  process.exitCode = 1
} else {
  console.log('soak passed: nothing leaked')
}
