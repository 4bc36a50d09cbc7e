// The demo page: the whole flow of an app on byok-relay with the browser client. Register, store a key
// (the field is cleared at once and the key is never shown again), list and delete keys, chat through
// POST /relay with tokens rendered as they stream, Stop (an AbortController), and the user's usage.
import { createClient, RelayError } from './client/index.js'
import { usageSeries } from './usage_data.js'
import { renderUsageChart } from './usage_chart.js'

const APP_ID = 'byok-demo'
const RELAY_URL_KEY = 'byok-demo:relay-url'
const $ = (id) => document.getElementById(id)

let relay = null
let chatInFlight = null  // the AbortController of the chat being streamed
let history = []         // the conversation so far, sent with each message

function say(id, text, kind = '') {
  const e = $(id)
  e.textContent = text
  e.className = `status ${kind}`.trim()
}

function describe(err) {
  if (err?.name === 'AbortError') return 'Stopped.'
  if (err instanceof RelayError) return err.message
  return `Unexpected error: ${err?.message ?? err}`
}

// The relay URL: ?relay=… on the page's address, else the last one used here, else this page's origin.
function initialRelayUrl() {
  const fromQuery = new URLSearchParams(location.search).get('relay')
  if (fromQuery !== null) return fromQuery
  try { return localStorage.getItem(RELAY_URL_KEY) ?? '' } catch { return '' }
}

function requireRelay() {
  if (!relay) throw new RelayError('Connect to a relay first.', { code: 'not_connected' })
  return relay
}

async function connect() {
  const url = $('relay-url').value.trim()
  try {
    relay = createClient({ relayUrl: url, appId: APP_ID })
  } catch {
    relay = null
    say('relay-status', 'That is not a URL.', 'error')
    return
  }
  try { localStorage.setItem(RELAY_URL_KEY, url) } catch { /* storage blocked: not remembered */ }
  say('relay-status', 'Connecting…')
  try {
    const h = await relay.health()
    say('relay-status', `Connected to ${relay.relayUrl}${h.version ? ` (v${h.version})` : ''}`, 'ok')
  } catch (err) {
    say('relay-status', describe(err), 'error')
  }
  showAccount()
  await refreshKeys()
  await refreshUsage()
}

function showAccount() {
  const token = relay?.getToken()
  $('delete-account').disabled = !token
  if (!token) {
    say('account-status', 'Not registered yet.')
    return
  }
  const expiry = relay.getTokenExpiry()
  const when = expiry === null ? 'never expires' : `expires ${new Date(expiry).toISOString().slice(0, 10)}`
  say('account-status', `Registered: the token is stored in this browser and ${when}.`, 'ok')
}

async function register() {
  try {
    const had = requireRelay().getToken()
    await relay.ensureToken()
    showAccount()
    if (had) say('account-status', 'Already registered in this browser.', 'ok')
  } catch (err) {
    say('account-status', describe(err), 'error')
  }
}

// Two clicks: the first arms the button, the second erases the account.
let deleteArmed = null
async function deleteAccount() {
  const button = $('delete-account')
  if (!deleteArmed) {
    button.textContent = 'Click again to delete'
    deleteArmed = setTimeout(() => { deleteArmed = null; button.textContent = 'Delete account' }, 5000)
    return
  }
  clearTimeout(deleteArmed)
  deleteArmed = null
  button.textContent = 'Delete account'
  try {
    await requireRelay().deleteAccount()
    history = []
    showAccount()
    say('account-status', 'Account, keys and usage deleted.', 'ok')
    await refreshKeys()
    await refreshUsage()
  } catch (err) {
    say('account-status', describe(err), 'error')
  }
}

async function saveKey(event) {
  event.preventDefault()
  const input = $('key-input')
  const provider = $('key-provider').value
  const key = input.value.trim()
  input.value = ''  // the key leaves the page now and is never displayed again
  if (!key) {
    say('key-status', 'Paste a key first.', 'error')
    return
  }
  say('key-status', `Storing the ${provider} key…`)
  try {
    await requireRelay().storeKey(provider, key)
    say('key-status', `Key for ${provider} stored, encrypted. It will not be shown again.`, 'ok')
  } catch (err) {
    say('key-status', describe(err), 'error')
  }
  showAccount()
  await refreshKeys()
}

async function refreshKeys() {
  const list = $('key-list')
  const providers = relay ? await relay.listKeys() : []
  list.replaceChildren()
  if (providers.length === 0) {
    const li = document.createElement('li')
    li.className = 'hint'
    li.textContent = 'No keys stored.'
    list.append(li)
    return
  }
  for (const p of providers) {
    const li = document.createElement('li')
    li.dataset.provider = p
    const name = document.createElement('span')
    name.className = 'provider'
    name.textContent = p
    const stars = document.createElement('span')
    stars.className = 'muted'
    stars.textContent = 'key stored ••••••••'
    const del = document.createElement('button')
    del.type = 'button'
    del.className = 'small danger'
    del.textContent = 'Delete'
    del.addEventListener('click', () => deleteKey(p))
    li.append(name, stars, del)
    list.append(li)
  }
}

async function deleteKey(provider) {
  try {
    await requireRelay().deleteKey(provider)
    say('key-status', `Key for ${provider} deleted.`, 'ok')
  } catch (err) {
    say('key-status', describe(err), 'error')
  }
  await refreshKeys()
}

function scrollLog() {
  const log = $('chat-log')
  log.scrollTop = log.scrollHeight
}

function bubble(role, text) {
  const div = document.createElement('div')
  div.className = `msg ${role}`
  const body = document.createElement('p')
  body.className = 'text'
  body.textContent = text
  div.append(body)
  $('chat-log').append(div)
  scrollLog()
  return div
}

async function sendChat(event) {
  event.preventDefault()
  if (chatInFlight) return
  const model = $('chat-model').value.trim()
  const prompt = $('chat-prompt').value.trim()
  if (!model || !prompt) {
    say('chat-status', 'Choose a model and write a message.', 'error')
    return
  }
  bubble('user', prompt)
  const answer = bubble('assistant', '')
  const text = answer.querySelector('.text')
  answer.classList.add('streaming')
  history.push({ role: 'user', content: prompt })
  chatInFlight = new AbortController()
  $('chat-send').disabled = true
  $('chat-stop').disabled = false
  say('chat-status', `Streaming from ${model}…`)
  let chunks = 0
  try {
    const full = await requireRelay().chat({
      model,
      messages: history,
      signal: chatInFlight.signal,
      onChunk: (delta) => {
        chunks += 1
        text.textContent += delta
        answer.dataset.chunks = String(chunks)
        scrollLog()
      },
    })
    history.push({ role: 'assistant', content: full })
    say('chat-status', `Done: ${chunks} chunks.`, 'ok')
    $('chat-prompt').value = ''
  } catch (err) {
    history.pop()  // the question goes again with the next message
    const stopped = err?.name === 'AbortError'
    answer.classList.add(stopped ? 'stopped' : 'error')
    const note = document.createElement('p')
    note.className = 'note'
    note.textContent = stopped ? 'Stopped.' : describe(err)
    answer.append(note)
    scrollLog()
    say('chat-status', stopped ? 'Stopped: the relay closed the provider connection.' : describe(err), stopped ? '' : 'error')
  } finally {
    answer.classList.remove('streaming')
    chatInFlight = null
    $('chat-send').disabled = false
    $('chat-stop').disabled = true
  }
  await refreshUsage()
  // The relay records usage in batches, a moment after the answer ends: look again shortly.
  setTimeout(refreshUsage, 1500)
}

function stopChat() {
  chatInFlight?.abort()
}

async function refreshUsage() {
  const chart = $('usage-chart')
  if (!relay?.getToken()) {
    chart.replaceChildren()
    say('usage-status', 'Register to see your usage.')
    return
  }
  try {
    const stats = await relay.getStats()
    renderUsageChart(chart, usageSeries(stats))
    const total = stats.total ?? stats.total_requests ?? 0
    say('usage-status', `${total} request${total === 1 ? '' : 's'} in all.`, 'ok')
  } catch (err) {
    say('usage-status', describe(err), 'error')
  }
}

$('relay-url').value = initialRelayUrl()
$('relay-form').addEventListener('submit', (e) => { e.preventDefault(); connect() })
$('register').addEventListener('click', register)
$('delete-account').addEventListener('click', deleteAccount)
$('key-form').addEventListener('submit', saveKey)
$('chat-form').addEventListener('submit', sendChat)
$('chat-stop').addEventListener('click', stopChat)
$('usage-refresh').addEventListener('click', refreshUsage)
connect()
