// Parse Mermaid text with the real Mermaid library; print what it parsed as JSON.
//
//   node parse.mjs < diagram.mmd       one diagram on stdin, one JSON object out
//   node parse.mjs --lines             one JSON-encoded string per input line,
//                                      one JSON object per output line (for tests:
//                                      Mermaid takes seconds to load, once)
//
// Output: {"diagramType", "states": [{id, kind, label, classes}],
//          "relations": [{from, to, label}], "classes": {name: [style, ...]}}
// kind is "start" or "end" for the [*] pseudo-states, else "state". A parse
// error gives {"error": message} (and exit status 1 in single mode).
//
// Mermaid needs a DOM (DOMPurify sanitizes labels): jsdom provides window and
// document before Mermaid is imported.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;

const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

async function parse(text) {
  let parsed;
  let diagram;
  try {
    parsed = await mermaid.parse(text); // throws on a syntax error; registers the diagrams
    diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  } catch (err) {
    return { error: String(err?.message ?? err) };
  }
  const db = diagram.db;
  if (typeof db.getStates !== 'function' || typeof db.getRelations !== 'function') {
    return { error: `not a state diagram: ${parsed.diagramType}` };
  }
  // getData() carries the node shapes: stateStart / stateEnd mark [*].
  const shapes = new Map(db.getData().nodes.map((n) => [n.id, n.shape]));
  const kinds = { stateStart: 'start', stateEnd: 'end' };
  const states = [...db.getStates().values()].map((s) => ({
    id: s.id,
    kind: kinds[shapes.get(s.id)] ?? 'state',
    label: s.descriptions.length ? s.descriptions.join(' ') : s.id,
    classes: [...s.classes],
  }));
  const relations = db.getRelations().map((r) => ({
    from: r.id1,
    to: r.id2,
    label: r.relationTitle ?? '',
  }));
  const classes = Object.fromEntries(
    [...db.getClasses().values()].map((c) => [c.id, [...c.styles]]),
  );
  return { diagramType: parsed.diagramType, states, relations, classes };
}

const emit = (result) => process.stdout.write(JSON.stringify(result) + '\n');

if (process.argv.includes('--lines')) {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim()) emit(await parse(JSON.parse(line)));
  }
} else {
  const result = await parse(readFileSync(0, 'utf8'));
  emit(result);
  process.exitCode = 'error' in result ? 1 : 0;
}
