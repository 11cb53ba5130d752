/** Shared pieces of the `vqlite serve` tests: a small Markdown corpus and the server as a child process. */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CLI, runIn } from './cli-run.js'

/** Writes docs/deploy.md, docs/pets.md, other/market.md under `dir` and indexes them into `dir/<name>.vqlite`. */
export function makeCorpus(dir: string, name = 'docs'): string {
  mkdirSync(join(dir, 'docs'), { recursive: true })
  mkdirSync(join(dir, 'other'), { recursive: true })
  writeFileSync(
    join(dir, 'docs', 'deploy.md'),
    '# Deploying\n\nTo deploy an application to Cloud Foundry, build the archive and push it with the command line tools.\n',
  )
  writeFileSync(
    join(dir, 'docs', 'pets.md'),
    '# Pets\n\nCats and dogs are the most popular <b>pets</b> & companions; a cat sleeps most of the day.\n',
  )
  writeFileSync(join(dir, 'other', 'market.md'), '# Markets\n\nThe stock market fell sharply on Monday, and the pets industry too.\n')
  const index = `${name}.vqlite`
  const r = runIn(dir, ['index-text', 'docs', 'other', '--index', index, '--json'])
  if (r.status !== 0) throw new Error(`index-text failed: ${r.all}`)
  return join(dir, index)
}

export interface ServeProcess {
  readonly url: string
  readonly child: ChildProcess
  /** Sends SIGTERM and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; stderr: string }>
}

/** Starts `vqlite serve ARGS` in `cwd` and waits for the URL it prints. */
export function startServe(cwd: string, args: string[], timeout = 30_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const exited = new Promise<{ code: number | null; stderr: string }>((ok) => {
    child.once('exit', (code) => ok({ code, stderr }))
  })
  return new Promise((ok, ko) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      ko(new Error(`vqlite serve did not print its URL in ${timeout} ms:\n${stdout}\n${stderr}`))
    }, timeout)
    const onData = (): void => {
      const m = /(http:\/\/\S+\/) /.exec(stdout)
      if (!m) return
      clearTimeout(timer)
      child.stdout.off('data', onData)
      ok({
        url: m[1]!,
        child,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          return exited
        },
      })
    }
    child.stdout.on('data', onData)
    void exited.then(({ code }) => {
      clearTimeout(timer)
      ko(new Error(`vqlite serve exited (${String(code)}) before printing its URL:\n${stdout}\n${stderr}`))
    })
  })
}
