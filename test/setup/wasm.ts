/**
 * Global setup: the WebAssembly kernels (native-free-kernels/wasm/kernels.wasm and
 * kernels-relaxed.wasm, compiled from assembly/ and not in git) are built when missing or
 * older than their sources, so the tests run the library's default backend, not silently
 * the TypeScript fallback.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const binaries = ['kernels.wasm', 'kernels-relaxed.wasm'].map((f) => join(root, 'native-free-kernels/wasm', f))
  const sources = join(root, 'native-free-kernels/wasm/assembly')
  const newest = Math.max(...readdirSync(sources).map((f) => statSync(join(sources, f)).mtimeMs))
  if (binaries.every((wasm) => existsSync(wasm) && statSync(wasm).mtimeMs >= newest)) return
  const r = spawnSync('npm', ['run', 'build:wasm'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.error) throw new Error(`npm run build:wasm could not start: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`npm run build:wasm failed (exit ${String(r.status ?? r.signal)}):\n${r.stdout}\n${r.stderr}`)
}
