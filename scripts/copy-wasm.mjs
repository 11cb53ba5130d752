// Copies the compiled WebAssembly kernels next to their compiled loader in dist/.
import { copyFileSync, mkdirSync } from 'node:fs'

mkdirSync('dist/native-free-kernels/wasm', { recursive: true })
for (const f of ['kernels.wasm', 'kernels-relaxed.wasm'])
  copyFileSync(`native-free-kernels/wasm/${f}`, `dist/native-free-kernels/wasm/${f}`)
