// Preloaded with `node --import` by test/runner/cli/startup.test.ts: registers load-log-hooks.mjs, which
// appends every module URL the process loads (through ESM loading, tsx's included) to $DROVER_LOAD_LOG.
import { register } from 'node:module';

register('./load-log-hooks.mjs', import.meta.url);
