// A loopback file server for watching a download from the browser: it answers HEAD and single
// byte ranges like lib/file_server.js, but sends slowly (`bytesPerSecond`) and can stop sending
// once `holdAt` bytes went out in all, until release() is called. A test can then look at a
// download that is surely in the middle, reload the page, and let it finish.
import { once } from 'node:events';
import http from 'node:http';
import { open, stat } from 'node:fs/promises';

const CHUNK = 16 * 1024;

function rangeOf(header, size) {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start < size && start <= end ? { start, end } : 'unsatisfiable';
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startSlowFileServer(files, { bytesPerSecond = 512 * 1024, holdAt = Infinity } = {}) {
  let sent = 0;
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  let isReleased = false;
  let reachedHold;
  const held = new Promise((resolve) => { reachedHold = resolve; });
  const requests = [];
  const sockets = new Set();

  const server = http.createServer(async (req, res) => {
    const urlPath = new URL(req.url, 'http://x').pathname;
    requests.push({ method: req.method, path: urlPath, range: req.headers.range ?? null });
    const file = files[urlPath];
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    const { size } = await stat(file);
    const range = rangeOf(req.headers.range, size);
    const common = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream',
                     'Last-Modified': new Date(0).toUTCString() };
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...common, 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    res.writeHead(range ? 206 : 200, {
      ...common, 'Content-Length': String(end - start + 1),
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') { res.end(); return; }
    // A client that goes away (a cancelled download) ends the loop below.
    const gone = once(res, 'close');
    const handle = await open(file, 'r');
    try {
      for (let at = start; at <= end && !res.destroyed; at += CHUNK) {
        if (sent >= holdAt && !isReleased) {
          reachedHold();
          await Promise.race([released, gone]);
        }
        const length = Math.min(CHUNK, end - at + 1);
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, at);
        sent += length;
        if (!res.write(buffer)) await Promise.race([once(res, 'drain'), gone]);
        await pause((length / bytesPerSecond) * 1000);
      }
      res.end();
    } catch {
      res.destroy();
    } finally {
      await handle.close();
    }
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    held,                     // resolves once the server stopped at `holdAt`
    sentBytes: () => sent,
    release() { isReleased = true; release(); },
    close() {
      isReleased = true;
      release();
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
