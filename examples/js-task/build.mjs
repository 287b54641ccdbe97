// Builds task.js into a component (offline, through the componentize-js API; the
// `jco componentize` command line failed on this machine). Output path: argv[2] or
// ../target/js/js_task.wasm. With these features disabled it imports only the world's host.
import { componentize } from '@bytecodealliance/componentize-js';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? resolve(here, '../target/js/js_task.wasm'));
const { component } = await componentize({
  sourcePath: resolve(here, 'task.js'),
  witPath: resolve(here, '../../wit'),
  worldName: 'task',
  disableFeatures: ['random', 'stdio', 'clocks', 'http', 'fetch-event'],
});
await mkdir(dirname(out), { recursive: true });
await writeFile(out, component);
console.log(`wrote ${out} (${component.length} bytes)`);
