// What the providers' responses look like: the text in one streamed event, an error inside a stream,
// and the text of a whole (non-streamed) answer. OpenAI (chat completions, completions, responses; also
// Groq, Mistral, OpenRouter), Anthropic (messages) and Gemini (generateContent).

function geminiText(doc) {
  const parts = doc?.candidates?.[0]?.content?.parts
  if (!Array.isArray(parts)) return ''
  return parts.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('')
}

/** The text a streamed event adds, or '' (for JSON payloads of OpenAI, Anthropic and Gemini streams). */
export function textDelta(doc) {
  if (doc === null || typeof doc !== 'object') return ''
  // Anthropic: content_block_delta with a text_delta
  if (doc.type === 'content_block_delta') return typeof doc.delta?.text === 'string' ? doc.delta.text : ''
  // OpenAI Responses API
  if (doc.type === 'response.output_text.delta') return typeof doc.delta === 'string' ? doc.delta : ''
  const choice = doc.choices?.[0]
  if (choice) {
    if (typeof choice.delta?.content === 'string') return choice.delta.content  // chat completions
    if (typeof choice.text === 'string') return choice.text                     // completions
    return ''
  }
  return geminiText(doc)
}

/**
 * The error an event of a stream carries, or null: the relay's `event: error` frame
 * ({"error":"…"}), Anthropic's error event ({"type":"error","error":{…}}), an OpenAI error object sent
 * in the stream, or Gemini's.
 * @returns {{message: string, code: string|null, fromRelay: boolean}|null}
 */
export function streamError(event, doc) {
  if (event === 'error') {
    const inner = doc?.error
    if (typeof inner === 'string') return { message: inner, code: doc?.code ?? null, fromRelay: true }
    if (inner && typeof inner.message === 'string') {
      return { message: inner.message, code: inner.type ?? inner.code ?? null, fromRelay: false }
    }
    return { message: 'the stream reported an error', code: null, fromRelay: true }
  }
  if (doc && typeof doc === 'object' && doc.error && typeof doc.error === 'object') {
    const e = doc.error
    if (typeof e.message === 'string') {
      return { message: e.message, code: e.type ?? e.status ?? e.code ?? null, fromRelay: false }
    }
  }
  return null
}

/** The text of a whole answer (OpenAI, Anthropic or Gemini JSON, or a Gemini array of chunks). */
export function responseText(doc) {
  if (Array.isArray(doc)) return doc.map(responseText).join('')
  if (doc === null || typeof doc !== 'object') return ''
  if (Array.isArray(doc.content)) {  // Anthropic
    return doc.content.map((b) => (b?.type === 'text' && typeof b.text === 'string' ? b.text : '')).join('')
  }
  const choice = doc.choices?.[0]
  if (choice) {
    if (typeof choice.message?.content === 'string') return choice.message.content
    if (typeof choice.text === 'string') return choice.text
    return ''
  }
  if (typeof doc.output_text === 'string') return doc.output_text  // OpenAI Responses API
  return geminiText(doc)
}
