/**
 * `npm run lab -- up [N] | down | status`. See lab/up.ts, lab/down.ts, lab/status.ts.
 */
import { down } from './down.ts';
import { labPaths } from './paths.ts';
import { renderStatus, status } from './status.ts';
import { up } from './up.ts';
import { MAX_HOSTS } from './addressing.ts';
import { withLabLock } from './lock.ts';

const USAGE = 'usage: npm run lab -- up [N]   (N hosts, default 3)\n       npm run lab -- down\n       npm run lab -- status';

async function main(args: string[]): Promise<number> {
  const paths = labPaths();
  const [command, ...rest] = args;
  switch (command) {
    case 'up': {
      const count = parseCount(rest[0]);
      const state = await withLabLock(paths.lockFile, () => up(paths, { count }), undefined, waiting);
      for (const host of state.hosts) console.log(`${host.name}\t${host.address}`);
      return 0;
    }
    case 'down': {
      const report = await withLabLock(paths.lockFile, () => down(paths), undefined, waiting);
      const what = [
        `${report.stopped} process(es)`,
        `${report.unmounted.length} mount(s)`,
        `${report.network.length} network object(s)`,
        `${report.removedDirs.length} dir(s)`,
      ];
      console.log(`lab down: removed ${what.join(', ')}`);
      return 0;
    }
    case 'status':
      process.stdout.write(renderStatus(await status(paths)));
      return 0;
    default:
      console.error(command ? `unknown lab command ${JSON.stringify(command)}\n${USAGE}` : USAGE);
      return 2;
  }
}

function waiting(owner: number): void {
  console.error(`waiting for process ${owner}, which is changing the lab (up/down or a lab test) …`);
}

function parseCount(value: string | undefined): number {
  if (value === undefined) return 3;
  const count = Number(value);
  if (!/^[0-9]+$/.test(value) || count < 1 || count > MAX_HOSTS) {
    throw new Error(`up: the number of hosts must be a whole number from 1 to ${MAX_HOSTS}, got ${JSON.stringify(value)}`);
  }
  return count;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
