// A loopback HTTP server for files, with what a resumable downloader needs: HEAD, Content-Length,
// Accept-Ranges and single-range requests (206 with Content-Range; 416 when unsatisfiable).
// Python's http.server ignores Range, so the tests use this one.
import http from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

// Parses "bytes=A-B", "bytes=A-" or "bytes=-N" against `size`; null when absent or not a single
// range we understand (then the whole file is sent), 'unsatisfiable' when out of bounds.
function parseRange(header, size) {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start;
  let end;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

// Serves the files of `files` ({ '/name.gguf': '/abs/path' }). Resolves to
// { url, requests, close() }; `requests` records { method, path, range } for each request.
export async function startFileServer(files) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const urlPath = new URL(req.url, 'http://x').pathname;
    requests.push({ method: req.method, path: urlPath, range: req.headers.range ?? null });
    const file = files[urlPath];
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    let size;
    try {
      size = (await stat(file)).size;
    } catch {
      res.writeHead(404);
      res.end();
      return;
    }
    const range = parseRange(req.headers.range, size);
    const common = {
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': `attachment; filename="${path.basename(file)}"`,
      'Last-Modified': new Date(0).toUTCString(),
    };
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...common, 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    const headers = { ...common, 'Content-Length': String(end - start + 1) };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(file, { start, end });
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
