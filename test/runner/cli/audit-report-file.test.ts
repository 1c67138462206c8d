/**
 * `audit report -o FILE` as a file: owner-only like the logs it is made from (their diffs are in it),
 * never over an existing file.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditCommand } from '../../../runner/cli/audit-command.ts';
import { UsageError } from '../../../runner/cli/options.ts';
import { fleetLog } from '../../support/audit-log-fixture.ts';

describe('audit report -o', () => {
  it('writes the page readable by its owner only, as the audit log it shows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-report-file-'));
    const log = join(dir, 'run.jsonl');
    writeFileSync(log, fleetLog(), { mode: 0o600 });
    for (const name of ['report.html', 'report.md']) {
      const output = join(dir, name);
      expect(await auditCommand(['report', log, '-o', output])).to.equal(0);
      expect(statSync(output).mode & 0o777, name).to.equal(0o600);
      expect(readFileSync(output, 'utf8')).to.include('node19');
    }
    const refused = await auditCommand(['report', log, '-o', log]).catch((error: unknown) => error);
    expect(refused).to.be.instanceOf(UsageError);
    expect((refused as Error).message).to.match(/cannot write .*run\.jsonl \(EEXIST\); a report never replaces a file/);
    expect(readFileSync(log, 'utf8')).to.equal(fleetLog());
  });
});
