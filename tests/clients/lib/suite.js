// Starts the real suite for the JavaScript tests: build/bin/byok-relay (vault, relay and gateway in one
// process) on loopback, with a fresh database in a temporary directory and the providers' base URLs
// pointed at the fake provider. Everything started is stopped by stop().
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

export function binDir() {
  return process.env.BYOK_BIN_DIR || path.join(ROOT, 'build/bin')
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

export async function waitFor(check, timeoutMs, what) {
  const until = Date.now() + timeoutMs
  for (;;) {
    let value
    try { value = await check() } catch { value = undefined }
    if (value) return value
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * @param {{providerUrl: string, port?: number, env?: Record<string,string>}} options
 * @returns {Promise<{url: string, port: number, log: () => string, stop: () => Promise<void>}>}
 */
export async function startSuite({ providerUrl, port: wantedPort, env = {} }) {
  const exe = path.join(binDir(), 'byok-relay')
  if (!fs.existsSync(exe)) throw new Error(`${exe} is missing: build it (./scripts/build.sh --target byok-relay)`)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'byok-js-'))
  const port = wantedPort ?? await freePort()
  const logPath = path.join(tmp, 'relay.log')
  const out = fs.openSync(logPath, 'w')
  const child = spawn(exe, [], {
    cwd: tmp,
    stdio: ['ignore', out, out],
    env: {
      PATH: process.env.PATH,
      ENCRYPTION_SECRET: randomBytes(32).toString('hex'),
      PORT: String(port),
      DB_PATH: path.join(tmp, 'relay.db'),
      BYOK_VAULT_ADDR: `127.0.0.1:${await freePort()}`,
      BYOK_RELAY_ADDR: `127.0.0.1:${await freePort()}`,
      BYOK_GATEWAY_HOST: '127.0.0.1',
      ALLOWED_ORIGINS: '*',
      BYOK_PROVIDER_OPENAI_BASE_URL: providerUrl,
      BYOK_PROVIDER_ANTHROPIC_BASE_URL: providerUrl,
      BYOK_PROVIDER_GOOGLE_BASE_URL: providerUrl,
      BYOK_RELAY_USAGE_FLUSH_MS: '50',
      ...env,
    },
  })
  fs.closeSync(out)
  let exited = null
  child.on('exit', (code, signal) => { exited = { code, signal } })
  const url = `http://127.0.0.1:${port}`
  const log = () => fs.readFileSync(logPath, 'utf8')
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM')
      await waitFor(() => exited, 10000, 'byok-relay to stop').catch(() => child.kill('SIGKILL'))
    }
    fs.rmSync(tmp, { recursive: true, force: true })
  }
  try {
    await waitFor(async () => exited || (await fetch(`${url}/health`)).status === 200,
      20000, 'byok-relay /health to answer 200')
    if (exited) throw new Error('exited')
  } catch (err) {
    const text = log()
    await stop()
    throw new Error(`byok-relay did not start (${exited ? `exit ${exited.code ?? exited.signal}` : err.message}):\n${text}`)
  }
  return { url, port, log, stop }
}
