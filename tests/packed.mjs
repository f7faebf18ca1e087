// The package as a user gets it: `npm pack` of the built pkg/, installed from that tarball into an
// empty project. Tests import it from there (Node) or bundle it from there (Vite), so a file that
// package.json's `files` leaves out, or an `exports` entry that points nowhere, fails a test.

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * Packs pkg/ and installs the tarball into a new empty project under test-results/; resolves to
 * { project, packageDir, tarball, files } (files: the paths the tarball holds, from npm's report).
 * Each caller gets its own project: the Node and browser tests run at the same time.
 */
export async function installPacked() {
  await mkdir(join(ROOT, 'test-results'), { recursive: true });
  const scratch = await mkdtemp(join(ROOT, 'test-results', 'packed-'));
  const { stdout } = await run('npm', ['pack', join(ROOT, 'pkg'), '--json', '--pack-destination', scratch], { cwd: scratch });
  const [report] = JSON.parse(stdout);
  const tarball = join(scratch, report.filename);
  const project = join(scratch, 'app');
  await run('mkdir', ['-p', project]);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'packed-app', private: true, type: 'module' }));
  // The dependencies come from npm's cache when the workspace's install put them there.
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], { cwd: project });
  const packageDir = join(project, 'node_modules', 'webembed');
  return { project, packageDir, tarball, files: report.files.map((f) => f.path), installed: await readdir(packageDir) };
}
