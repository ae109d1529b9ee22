#!/usr/bin/env node

// The dtrain command (package bin; `node scripts/dist/src/cli.js`): see cli/main.ts.

import { fail, main } from './cli/main.js';
import { installLastResort } from './console/last-resort.js';

installLastResort(process.argv[2] ?? '');
main().catch(fail);
