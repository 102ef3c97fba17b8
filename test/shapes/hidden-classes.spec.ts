/**
 * V8 keeps a hidden class only while some object has it. Streams and core
 * records keep one class for the life of the process (module-level shape
 * objects, and fields that never change their kind), so a full GC while no
 * stream is open does not discard the optimised code that works on them.
 * Checked with V8's natives syntax in a child process.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'

const probe = fileURLToPath(new URL('./probe.js', import.meta.url))

describe('hidden classes of streams and core records', () => {
  it('every stream and record has the shape object\'s class, round after round with a full GC between', function () {
    this.timeout(30_000)
    const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', probe], { encoding: 'utf8' })
    const { gc, rounds } = JSON.parse(out) as { gc: boolean, rounds: Array<Record<string, boolean>> }
    expect(gc).to.equal(true)
    expect(rounds).to.have.length(3)
    for (const r of rounds) {
      expect(r).to.deep.equal({ record: true, stream: true, remote: true })
    }
  })
})
