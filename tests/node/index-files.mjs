// Helpers the shipped-index tests share (not a test file): a NumPy .npy writer for vectors a test
// makes, a folder's files by hash (to compare two builds byte for byte), and a folder served over HTTP.

import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes `values` (rows × dimension float32, C order) as a NumPy format-1 .npy file. */
export async function writeNpy(path, values, rows, dimension) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dimension}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 255, header.length >> 8]);
  await writeFile(path, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]));
}

/** Every file of an index folder, path → sha256. */
export async function filesOf(out) {
  const files = {};
  for (const folder of ['', 'c', 'p', 'k', 'd']) {
    for (const entry of await readdir(join(out, folder), { withFileTypes: true }).catch(() => [])) {
      if (entry.isFile()) files[join(folder, entry.name)] = createHash('sha256').update(await readFile(join(out, folder, entry.name))).digest('hex');
    }
  }
  return files;
}

/**
 * `folder` served over HTTP on 127.0.0.1 (loadIndex fetches file: URLs without the `fetch`
 * option), each path asked recorded in `asked`; `close()` stops it.
 */
export async function serveFolder(folder) {
  const asked = [];
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://x').pathname).slice(1);
    asked.push(path);
    const bytes = await readFile(join(folder, path)).catch(() => null);
    if (!bytes || path.includes('..')) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-length': bytes.length }).end(bytes);
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${server.address().port}/`, asked, close: () => new Promise((done) => server.close(done)) };
}
