// The event-stream decoder on its own: fields, comments, line endings, multi-line data.
import test from 'node:test'
import assert from 'node:assert/strict'
import { SseDecoder, textDelta, responseText } from '../src/index.js'

function decode(pieces) {
  const d = new SseDecoder()
  return [...pieces.flatMap((p) => d.push(p)), ...d.end()]
}

test('fields, comments and multi-line data', () => {
  assert.deepEqual(decode([': hi\nevent: update\nid: 7\ndata: a\ndata:b\nretry: 10\n\n']), [
    { event: 'update', data: 'a\nb', id: '7' },
  ])
})

test('CR, LF and CRLF line ends, also split across pieces', () => {
  assert.deepEqual(decode(['data: one\r', '\n\r', '\ndata: two\r\rdata: three\n', '\n']).map((e) => e.data), [
    'one', 'two', 'three',
  ])
})

test('an event without data is still dispatched when it names its type; empty blocks are not', () => {
  assert.deepEqual(decode(['\n\nevent: ping\n\n']), [{ event: 'ping', data: '', id: null }])
})

test('a last event without a blank line is dispatched at the end', () => {
  assert.deepEqual(decode(['data: tail']), [{ event: 'message', data: 'tail', id: null }])
})

test('an endless line is refused', () => {
  const d = new SseDecoder()
  assert.throws(() => { for (let i = 0; i < 5; i++) d.push('x'.repeat(1024 * 1024)) }, /too long/)
})

test('text of whole answers: OpenAI, Anthropic, Gemini, Responses API', () => {
  assert.equal(responseText({ choices: [{ message: { content: 'o' } }] }), 'o')
  assert.equal(responseText({ content: [{ type: 'text', text: 'a' }, { type: 'tool_use' }, { type: 'text', text: 'b' }] }), 'ab')
  assert.equal(responseText([{ candidates: [{ content: { parts: [{ text: 'g1' }] } }] }, { candidates: [{ content: { parts: [{ text: 'g2' }] } }] }]), 'g1g2')
  assert.equal(responseText({ output_text: 'r' }), 'r')
  assert.equal(textDelta({ type: 'response.output_text.delta', delta: 'd' }), 'd')
  assert.equal(textDelta({ choices: [{ text: 'legacy' }] }), 'legacy')
  assert.equal(textDelta({ choices: [{ delta: { role: 'assistant' } }] }), '')
})
