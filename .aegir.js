import { fileURLToPath } from 'node:url'

const polyfill = fileURLToPath(new URL('./scripts/node20-polyfill.cjs', import.meta.url))

/** @type {import('aegir').PartialOptions} */
export default {
  build: {
    bundle: false
  },
  test: {
    files: ['dist/test/**/*.spec.js'],
    // Tests run compiled from dist/ on every Node version. libp2p v3 and its
    // compliance suite call Promise.withResolvers (Node >= 22): on Node 20 the
    // polyfill adds it, in the test process only (src/ never uses it).
    before: async () => ({ env: { NODE_OPTIONS: `--require ${polyfill}` } })
  },
  dependencyCheck: {
    ignore: ['@libp2p/interface-compliance-tests'],
    // examples/ (npm start) and scripts/ use dev dependencies, like test/ and benchmarks/
    productionIgnorePatterns: ['/benchmarks', '/dist', '/test', '/examples', '/scripts', '/interop', '.aegir.js']
  }
}
