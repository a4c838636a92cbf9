// Markdown for model answers, rendered as Preact elements (never as HTML: whatever a model
// writes stays text, so an answer cannot run a script or load anything).
//
// Blocks: fenced code (``` with an optional language; an unclosed fence, as while an answer
// streams, runs to the end), headings (#..######), lists (-, *, + or 1.), block quotes (>),
// horizontal rules and paragraphs. Inline: `code`, **bold**, *italic* / _italic_, and
// [links](https://...) to http(s) addresses only, opened in a new tab without a referrer.
import { type ComponentChildren, type VNode } from 'preact';

type Inline = ComponentChildren;

function inline(text: string): Inline[] {
  const out: Inline[] = [];
  const pattern = /(`+)([\s\S]*?)\1|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1]) out.push(<code>{m[2]}</code>);
    else if (m[3] !== undefined) out.push(<strong>{inline(m[3])}</strong>);
    else if (m[4] !== undefined) out.push(<em>{inline(m[4])}</em>);
    else if (m[5] !== undefined) out.push(<em>{inline(m[5])}</em>);
    else if (m[6] !== undefined) {
      const href = m[7];
      out.push(/^https?:\/\//i.test(href)
        ? <a href={href} target="_blank" rel="noopener noreferrer">{inline(m[6])}</a>
        : m[0]);
    }
    last = pattern.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const LIST_ITEM = /^\s{0,3}([-*+]|\d{1,9}[.)])\s+(.*)$/;

export function Markdown({ text }: { text: string }): VNode {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks: VNode[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s{0,3}(```+|~~~+)\s*([\w+#.-]*)/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence[1])) body.push(lines[i++]);
      i++;  // the closing fence (or past the end)
      blocks.push(
        <pre class="code" data-language={fence[2] || undefined}>
          {fence[2] && <span class="code-language">{fence[2]}</span>}
          <code>{body.join('\n')}</code>
        </pre>);
      continue;
    }
    if (!line.trim()) { i++; continue; }
    const heading = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const Tag = `h${Math.min(6, heading[1].length + 2)}` as 'h3';
      blocks.push(<Tag>{inline(heading[2])}</Tag>);
      i++;
      continue;
    }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) { blocks.push(<hr />); i++; continue; }
    if (/^\s{0,3}>/.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && /^\s{0,3}>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s{0,3}>\s?/, ''));
      blocks.push(<blockquote><Markdown text={quoted.join('\n')} /></blockquote>);
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      const ordered = /\d/.test(item[1]);
      const items: string[] = [];
      while (i < lines.length) {
        const next = LIST_ITEM.exec(lines[i]);
        if (next && /\d/.test(next[1]) === ordered) { items.push(next[2]); i++; }
        else if (lines[i].trim() && /^\s{2,}/.test(lines[i]) && items.length) { items[items.length - 1] += ' ' + lines[i].trim(); i++; }
        else break;
      }
      const children = items.map((t) => <li>{inline(t)}</li>);
      blocks.push(ordered ? <ol start={Number.parseInt(item[1], 10) || 1}>{children}</ol> : <ul>{children}</ul>);
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length && lines[i].trim() && !/^\s{0,3}(```|~~~|#{1,6}\s|>)/.test(lines[i]) && !LIST_ITEM.exec(lines[i])) {
      paragraph.push(lines[i++]);
    }
    if (!paragraph.length) { paragraph.push(lines[i++]); }
    const parts: Inline[] = [];
    paragraph.forEach((p, n) => { if (n) parts.push(<br />); parts.push(...inline(p)); });
    blocks.push(<p>{parts}</p>);
  }
  return <div class="markdown">{blocks}</div>;
}
