/**
 * The README of every package installed in a node_modules folder, copied to
 * dest/<package>/README.md (scoped names as scope__name): the second text corpus of the
 * fusion evaluation and the CLI latency bench. Returns the files written.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'

export function copyPackageReadmes(modules: string, dest: string): string[] {
  const files: string[] = []
  const packages = readdirSync(modules).flatMap((n) =>
    n.startsWith('@') ? readdirSync(join(modules, n)).map((m) => `${n}/${m}`) : n.startsWith('.') ? [] : [n],
  )
  for (const p of packages) {
    let readme: string | undefined
    try {
      readme = readdirSync(join(modules, p)).find((f) => /^readme(\.(md|markdown|txt))?$/i.test(f))
    } catch {
      continue
    }
    if (readme === undefined) continue
    const to = join(dest, p.replace('/', '__'), 'README.md')
    mkdirSync(dirname(to), { recursive: true })
    copyFileSync(join(modules, p, readme), to)
    files.push(to)
  }
  return files
}
