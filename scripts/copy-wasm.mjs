// Copies the compiled WebAssembly kernels next to their compiled loader in dist/.
import { copyFileSync, mkdirSync } from 'node:fs'

mkdirSync('dist/native-free-kernels/wasm', { recursive: true })
copyFileSync('native-free-kernels/wasm/kernels.wasm', 'dist/native-free-kernels/wasm/kernels.wasm')
