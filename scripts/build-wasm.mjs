// Compiles the WebAssembly kernels (native-free-kernels/wasm/assembly/kernels.ts) into
// their two binaries: kernels.wasm (plain SIMD) and kernels-relaxed.wasm (SIMD and relaxed
// SIMD; see lookup16 in the source). The same bytes on every build.
//
//   node scripts/build-wasm.mjs [--out-dir native-free-kernels/wasm]
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: join(root, 'native-free-kernels/wasm') } } })
const asc = join(root, 'node_modules/assemblyscript/bin/asc.js')
const source = join(root, 'native-free-kernels/wasm/assembly/kernels.ts')
const binaries = [
  ['kernels.wasm', 'simd'],
  ['kernels-relaxed.wasm', 'simd,relaxed-simd'],
]
mkdirSync(values['out-dir'], { recursive: true })
for (const [file, features] of binaries) {
  const args = [asc, source, '-O3', '--runtime', 'minimal', '--enable', features, '--noAssert', '-o', join(values['out-dir'], file)]
  execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
}
