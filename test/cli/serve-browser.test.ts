/**
 * The search page of `vqlite serve` in a real browser (playwright-core driving the system
 * Chromium; skipped when none is installed): a query typed and submitted shows the expected
 * top source with its highlight as <mark>, HTML in the indexed text stays text, and a
 * screenshot goes to test-output/serve-search.png.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeCorpus, type ServeProcess, startServe } from './serve-run.js'

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => p !== undefined && p !== '' && existsSync(p),
)
const OUT = join(import.meta.dirname, '..', '..', 'test-output')

describe.skipIf(CHROMIUM === undefined)('vqlite serve: the search page in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vqlite-serve-browser-'))
  let server: ServeProcess
  let browser: Awaited<ReturnType<typeof chromium.launch>>

  beforeAll(async () => {
    makeCorpus(dir)
    ;[server, browser] = await Promise.all([
      startServe(dir, ['docs.vqlite', '--port', '0']),
      chromium.launch({ executablePath: CHROMIUM!, headless: true, args: ['--no-sandbox'] }),
    ])
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('searches, shows the top source and the <mark> highlights, escapes HTML; screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } })
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text())
    })
    await page.goto(server.url)
    await expect.poll(() => page.textContent('#status')).toContain('3 chunks')
    // one index: no index choice shown
    expect(await page.isVisible('#index')).toBe(false)
    await page.fill('#query', 'popular pets')
    await page.selectOption('#mode', 'keyword')
    await page.click('button[type=submit]')
    await page.waitForSelector('#results li.hit')
    expect(await page.textContent('#results li.hit:first-child .source')).toBe('docs/pets.md')
    const marks = await page.$$eval('#results li.hit:first-child mark', (ms) => ms.map((m) => m.textContent))
    expect(marks.map((m) => m?.toLowerCase())).toEqual(expect.arrayContaining(['popular', 'pets']))
    // the <b> of the document is shown as text, not made an element
    expect(await page.$$eval('#results b', (bs) => bs.length)).toBe(0)
    expect(await page.textContent('#results li.hit:first-child .snippet')).toContain('<b>')
    // the source-prefix filter
    await page.fill('#prefix', 'other/')
    await page.click('button[type=submit]')
    await expect.poll(() => page.$$eval('#results .source', (s) => s.map((e) => e.textContent))).toEqual(['other/market.md'])
    await page.fill('#prefix', '')
    await page.click('button[type=submit]')
    await expect.poll(() => page.textContent('#results li.hit:first-child .source')).toBe('docs/pets.md')
    mkdirSync(OUT, { recursive: true })
    await page.screenshot({ path: join(OUT, 'serve-search.png'), fullPage: true })
    expect(existsSync(join(OUT, 'serve-search.png'))).toBe(true)
    expect(problems).toEqual([])
  }, 60_000)
})
