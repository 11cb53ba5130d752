/**
 * The README's TypeScript examples that import vqlite run as written (the package names
 * resolve to the sources through the vitest aliases), and each console.log prints what its
 * `// ...` comment says. A comment is the expected output, arguments formatted as
 * util.inspect shows them (strings quoted), joined by spaces; comments that describe
 * approximate or variable output instead are checked by the rules in DESCRIBED below.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, describe, expect, it, vi } from 'vitest'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => /from 'vqlite(\/[\w-]+)?'/.test(code))

/** What each console.log line of an example says it prints: the comment after it. */
function expectedOutputs(code: string): string[] {
  return code
    .split('\n')
    .filter((line) => /^\s*console\.log\(/.test(line))
    .map((line) => {
      const comment = /\)\s*\/\/\s*(.+)$/.exec(line)
      if (!comment) throw new Error(`README example line without a comment saying what it prints: ${line.trim()}`)
      return comment[1]!.trim()
    })
}

/** Comments that describe the output rather than spell it out, and how to check them. */
const DESCRIBED: Record<string, (args: unknown[]) => void> = {
  // The query is the first vector (id 1000): it finds itself, at a small approximate distance.
  '1000 0.03 (approximate cosine distance)': ([id, distance]) => {
    expect(id).toBe(1000)
    expect(distance).toBeGreaterThanOrEqual(0)
    expect(distance).toBeLessThan(0.1)
  },
  // Query 3 is the vector of id 1003; five ids, no padding needed in a 5,000-item index.
  'Float64Array(5), -1 padded if short': ([ids]) => {
    expect(ids).toBeInstanceOf(Float64Array)
    expect((ids as Float64Array).length).toBe(5)
    expect((ids as Float64Array)[0]).toBe(1003)
    expect(Array.from(ids as Float64Array).every((id) => id >= 1000 && id < 6000)).toBe(true)
  },
}

const shown = (args: unknown[]): string => args.map((a) => inspect(a, { depth: 4, breakLength: Infinity })).join(' ')

const dir = mkdtempSync(join(tmpdir(), 'vqlite-readme-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('README examples', () => {
  it('there are some, and each says what it prints', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3)
    for (const code of blocks) expect(expectedOutputs(code).length).toBeGreaterThan(0)
  })

  blocks.forEach((code, i) => {
    const firstLog = expectedOutputs(code)[0]
    it(`example ${i + 1} prints what it says (${firstLog})`, async () => {
      const expected = expectedOutputs(code)
      const file = join(dir, `example-${i}.ts`)
      writeFileSync(file, code)
      const logs: unknown[][] = []
      const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args))
      try {
        await import(/* @vite-ignore */ file)
      } finally {
        spy.mockRestore()
      }
      expect(logs.length, `console.log calls of example ${i + 1}: ${JSON.stringify(logs.map(shown))}`).toBe(expected.length)
      expected.forEach((want, j) => {
        const check = DESCRIBED[want]
        if (check) check(logs[j]!)
        else expect(shown(logs[j]!), `example ${i + 1}, console.log ${j + 1}`).toBe(want)
      })
    })
  })
})
