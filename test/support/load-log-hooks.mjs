// Module loader hooks (see load-log.mjs): one line per module loaded, written before the module runs.
import { appendFileSync } from 'node:fs';

export async function load(url, context, next) {
  if (process.env.DROVER_LOAD_LOG) appendFileSync(process.env.DROVER_LOAD_LOG, `${url}\n`);
  return next(url, context);
}
