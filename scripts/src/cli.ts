#!/usr/bin/env node
// The dtrain command (package bin; `node scripts/dist/src/cli.js`): see cli/main.ts.

import { installLastResort } from './console/last-resort.js';
import { fail, main } from './cli/main.js';

installLastResort(process.argv[2] ?? '');
main().catch(fail);
