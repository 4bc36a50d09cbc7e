// A small WebDriver client: starts Debian's chromedriver and a headless Chromium (nothing downloaded),
// and speaks the W3C WebDriver protocol to it with fetch. Only what the browser tests use.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, waitFor } from '../clients/lib/suite.js'

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'

function which(names) {
  for (const name of names) {
    for (const dir of (process.env.PATH ?? '').split(':')) {
      const p = path.join(dir, name)
      if (fs.existsSync(p)) return p
    }
  }
  return null
}

// Flags that keep Chromium quiet and on loopback: no updates, sync, safe-browsing or metrics calls.
const CHROME_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
  '--no-default-browser-check', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-default-apps', '--disable-domain-reliability', '--no-pings',
  '--disable-client-side-phishing-detection', '--metrics-recording-only', '--password-store=basic',
  '--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication',
  '--hide-scrollbars', '--force-device-scale-factor=1',
]

export class Session {
  constructor(base, id) {
    this.base = base
    this.id = id
  }

  async cmd(method, route, body) {
    const res = await fetch(`${this.base}/session/${this.id}${route}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    })
    const doc = await res.json()
    if (!res.ok) throw new Error(`WebDriver ${method} ${route}: ${doc.value?.error}: ${doc.value?.message}`)
    return doc.value
  }

  get(url) { return this.cmd('POST', '/url', { url }) }

  async find(css) {
    const v = await this.cmd('POST', '/element', { using: 'css selector', value: css })
    return v[ELEMENT]
  }

  async click(css) { await this.cmd('POST', `/element/${await this.find(css)}/click`, {}) }

  async type(css, text) {
    const id = await this.find(css)
    await this.cmd('POST', `/element/${id}/clear`, {})
    await this.cmd('POST', `/element/${id}/value`, { text })
  }

  async text(css) { return this.cmd('GET', `/element/${await this.find(css)}/text`) }

  /** Runs a function body in the page; `args` are its arguments. */
  exec(script, ...args) { return this.cmd('POST', '/execute/sync', { script, args }) }

  async screenshot(file) {
    const b64 = await this.cmd('GET', '/screenshot')
    fs.writeFileSync(file, Buffer.from(b64, 'base64'))
  }

  /** Polls a script until it returns a truthy value, which is returned. */
  waitFor(script, timeoutMs, what, ...args) {
    return waitFor(() => this.exec(script, ...args), timeoutMs, what)
  }
}

/** Starts chromedriver and one browser session; stop() ends both. */
export async function startBrowser({ width = 1280, height = 1600 } = {}) {
  const chromium = which(['chromium', 'chromium-browser', 'google-chrome'])
  const driver = which(['chromedriver'])
  if (!chromium || !driver) {
    throw new Error('Chromium and its driver are needed: apt-get install chromium chromium-driver')
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'byok-chrome-'))
  const port = await freePort()
  const proc = spawn(driver, [`--port=${port}`, '--allowed-ips=127.0.0.1'], { stdio: 'ignore' })
  let exited = false
  proc.on('exit', () => { exited = true })
  const base = `http://127.0.0.1:${port}`
  const stopDriver = async () => {
    if (!exited) {
      proc.kill('SIGTERM')
      await waitFor(() => exited, 5000, 'chromedriver to stop').catch(() => proc.kill('SIGKILL'))
    }
    fs.rmSync(profile, { recursive: true, force: true })
  }
  try {
    await waitFor(async () => (await (await fetch(`${base}/status`)).json()).value?.ready, 10000, 'chromedriver')
    const res = await fetch(`${base}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        capabilities: {
          alwaysMatch: {
            browserName: 'chrome',
            'goog:chromeOptions': {
              binary: chromium,
              args: [...CHROME_ARGS, `--window-size=${width},${height}`, `--user-data-dir=${profile}`],
            },
          },
        },
      }),
    })
    const doc = await res.json()
    if (!res.ok) throw new Error(`no browser session: ${doc.value?.message}`)
    const session = new Session(base, doc.value.sessionId)
    await session.cmd('POST', '/timeouts', { script: 10000, pageLoad: 15000, implicit: 0 })
    return {
      session,
      stop: async () => {
        await session.cmd('DELETE', '').catch(() => {})
        await stopDriver()
      },
    }
  } catch (err) {
    await stopDriver()
    throw err
  }
}
