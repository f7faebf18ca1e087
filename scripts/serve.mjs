// A static file server for the demo, the browser tests and the benchmark. Serves the repository
// root (pkg/, www/, models/, tests/, bench/) and ../shared as /shared/, on 127.0.0.1 only.
//
//   node scripts/serve.mjs [--port 8080] [--path /www/]   prints the page's URL and serves until stopped

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SHARED = resolve(ROOT, '..', 'shared');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

function locate(pathname) {
  const decoded = decodeURIComponent(pathname);
  const [base, rest] = decoded.startsWith('/shared/') ? [SHARED, decoded.slice('/shared/'.length)] : [ROOT, decoded];
  const file = resolve(base, '.' + normalize('/' + rest));
  return file === base || file.startsWith(base + sep) ? file : null;
}

/** Starts the server; resolves to { server, url } once it listens. */
export function startServer({ port = 0, crossOriginIsolated = false } = {}) {
  const server = createServer(async (request, response) => {
    const { pathname, search } = new URL(request.url, 'http://localhost');
    if (pathname === '/') {
      // The query goes along: `/?model=…` is the demo with that model.
      response.writeHead(302, { location: `/www/${search}` });
      return response.end();
    }
    let file = locate(pathname);
    try {
      if (file && (await stat(file)).isDirectory()) file = join(file, 'index.html');
      const info = file && (await stat(file));
      if (!info?.isFile()) throw new Error('not a file');
      const headers = {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': info.size,
        'cache-control': 'no-cache',
      };
      if (crossOriginIsolated) {
        headers['cross-origin-opener-policy'] = 'same-origin';
        headers['cross-origin-embedder-policy'] = 'require-corp';
      }
      response.writeHead(200, headers);
      if (request.method === 'HEAD') return response.end();
      createReadStream(file).pipe(response);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`not found: ${pathname}\n`);
    }
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => done({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const portFlag = process.argv.indexOf('--port');
  const port = portFlag > 0 ? Number(process.argv[portFlag + 1]) : Number(process.env.PORT ?? 8080);
  const pathFlag = process.argv.indexOf('--path');
  const path = pathFlag > 0 ? process.argv[pathFlag + 1] : '/www/';
  const { url } = await startServer({ port });
  console.log(`webembed ${path === '/www/' ? 'demo' : 'page'}: ${url}${path}  (model: /models/all-MiniLM-L6-v2/; Ctrl-C stops)`);
}
