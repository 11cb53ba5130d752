#!/usr/bin/env node
// Checks the import rules of .dependency-cruiser.cjs over the repository's source folders.
// dependency-cruiser refuses a folder that does not exist, so only the folders present are
// passed (the layout may not have every one yet). Extra arguments go to depcruise as they are.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const FOLDERS = ['src', 'native-free-kernels', 'cli', 'bench', 'datasets']
const folders = FOLDERS.filter((f) => existsSync(join(root, f)))

const env = { ...process.env, PATH: [join(root, 'node_modules', '.bin'), process.env.PATH].join(delimiter) }
const args = [...folders, '--config', '.dependency-cruiser.cjs', ...process.argv.slice(2)]
console.log(`depcruise ${args.join(' ')}`)
const r = spawnSync('depcruise', args, { cwd: root, env, stdio: 'inherit' })
if (r.error) {
  console.error(`deps-check: could not run depcruise: ${r.error.message}`)
  process.exit(2)
}
process.exit(r.status ?? 1)
