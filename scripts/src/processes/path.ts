// Where the dtrain command's entry point is, for starting worker and benchmark processes.

import { fileURLToPath } from 'node:url';

/** scripts/dist/src/cli.js: run it with process.execPath. */
export const CLI_PATH = fileURLToPath(new URL('../cli.js', import.meta.url));
