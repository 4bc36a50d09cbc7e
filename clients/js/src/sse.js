// A server-sent-events decoder (the WHATWG event-stream format): fields `event`, `data` (several joined
// with "\n"), `id`; comments and `retry` ignored; lines end in LF, CRLF or CR; an event is dispatched at
// a blank line, and a last event without one is dispatched when the stream ends.

// Longest line kept: a stream that never ends a line must not grow memory without bound.
const MAX_LINE = 4 * 1024 * 1024

export class SseDecoder {
  constructor() {
    this.buffer = ''
    this.pendingCR = false
    this.reset()
  }

  reset() {
    this.event = ''
    this.data = []
    this.id = null
  }

  /** Feeds decoded text; returns the events completed by it. */
  push(text) {
    const events = []
    let start = 0
    let i = 0
    if (this.pendingCR && text.startsWith('\n')) start = i = 1  // the LF of a CRLF split across chunks
    this.pendingCR = false
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c !== 10 && c !== 13) continue
      this.buffer += text.slice(start, i)
      this.line(this.buffer, events)
      this.buffer = ''
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++
        } else {
          this.pendingCR = true
        }
      }
      start = i + 1
    }
    this.buffer += text.slice(start)
    if (this.buffer.length > MAX_LINE) throw new Error('event stream line too long')
    return events
  }

  /** The stream ended: returns a last event that had no blank line after it. */
  end() {
    const events = []
    if (this.buffer) this.line(this.buffer, events)
    this.buffer = ''
    this.line('', events)
    return events
  }

  line(line, events) {
    if (line === '') {
      if (this.data.length > 0 || this.event) {
        events.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id })
      }
      this.reset()
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') this.data.push(value)
    else if (field === 'event') this.event = value
    else if (field === 'id') this.id = value
  }
}

/**
 * Yields the events of a fetch Response body. Cancelling the iteration (break, throw, or the signal)
 * cancels the body, which closes the connection.
 * @param {ReadableStream<Uint8Array>} body
 */
export async function* readEvents(body) {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const sse = new SseDecoder()
  let finished = false
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      yield* sse.push(decoder.decode(value, { stream: true }))
    }
    yield* sse.push(decoder.decode())
    yield* sse.end()
    finished = true
  } finally {
    if (!finished) {
      // Stopped early: tell the server by closing the body (ignore a body that already failed).
      await reader.cancel().catch(() => {})
    }
    reader.releaseLock()
  }
}
