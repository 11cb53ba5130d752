/**
 * Global setup of the integration project: one `npm run build` before its tests (the CLI,
 * child processes and the installed-package layout run the build output).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const t0 = performance.now()
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.error) throw new Error(`npm run build could not start: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${String(r.status ?? r.signal)}):\n${r.stdout}\n${r.stderr}`)
  process.stdout.write(`integration setup: npm run build took ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
}
