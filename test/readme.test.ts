import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'

/** The README's ```ts blocks that import from 'vqlite', run against the sources. */
const blocks = [...readFileSync(new URL('../README.md', import.meta.url), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((code) => code.includes("from 'vqlite'"))

const dir = mkdtempSync(join(import.meta.dirname, '.readme-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('README examples', () => {
  it('there is at least one', () => expect(blocks.length).toBeGreaterThan(0))

  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs`, async () => {
      const file = join(dir, `example-${i}.ts`)
      writeFileSync(file, code.replaceAll("from 'vqlite'", "from '../../src/index.js'"))
      const logs: unknown[][] = []
      const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args))
      try {
        await import(file)
      } finally {
        spy.mockRestore()
      }
      process.stdout.write(`README example ${i + 1} printed: ${JSON.stringify(logs)}\n`)
      expect(logs.length).toBeGreaterThan(0)
    })
  })
})
