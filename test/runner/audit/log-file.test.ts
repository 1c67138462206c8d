/**
 * The audit log's file: what the operator is told when it cannot be made depends on whether they chose
 * the path (--audit-log) or drover did (audit/RUN-ID.jsonl in the working directory).
 */
import { expect } from 'chai';
import { AuditLogError, openAuditLog } from '../../../runner/audit/log-file.ts';

describe('audit log file', () => {
  // sysfs refuses new directories even to root, like a working directory that cannot be written.
  const path = '/sys/drover-test/audit/run.jsonl';

  it('points at --audit-log when the default audit/ directory cannot be created, not at leaving it out', () => {
    const error = (() => {
      try {
        openAuditLog(path, false);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).to.be.instanceOf(AuditLogError);
    expect((error as AuditLogError).message).to.match(/^audit log \/sys\/drover-test\/audit\/run\.jsonl: cannot create the directory \/sys\/drover-test \(E[A-Z]+\)$/);
    expect((error as AuditLogError).hint).to.equal('run drover from a directory where it can create audit/ (the default place of audit logs), or give --audit-log PATH in a directory you can write to');
  });

  it('offers the default when the --audit-log path cannot be used', () => {
    expect(() => openAuditLog(path, true))
      .to.throw(AuditLogError)
      .with.property('hint', 'choose a path for --audit-log in a directory you can write to, or leave the option out to get audit/RUN-ID.jsonl');
  });
});
