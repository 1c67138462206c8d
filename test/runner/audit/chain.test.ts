import { expect } from 'chai';
import { auditLogText, closingFields, sealRecord, verifyChain } from '../../../runner/audit/chain.ts';

/** A log of `count` records, the last of them the closing run-end record as the writer seals it. */
function log(count: number): string[] {
  const lines: string[] = [];
  for (let seq = 1; seq < count; seq++) lines.push(sealRecord(seq, lines[lines.length - 1], { kind: 'task', host: `h${seq}`, changed: seq % 2 === 0 }));
  lines.push(sealRecord(count, lines[lines.length - 1], { kind: 'run-end', host: `h${count}`, ...closingFields(count, lines[lines.length - 1]) }));
  return lines;
}

describe('audit hash chain', () => {
  it('verifies an intact log', () => {
    expect(verifyChain(`${log(5).join('\n')}\n`)).to.deep.equal({ ok: true, status: 'intact', records: 5 });
  });

  const tamperings: Array<[string, (lines: string[]) => string[], number]> = [
    ['an edited value', (lines) => lines.map((line, i) => (i === 2 ? line.replace('"changed":false', '"changed":true') : line)), 3],
    [
      'an edited value with its own hash recomputed',
      (lines) => {
        const edited = [...lines];
        edited[1] = sealRecord(2, lines[0], { kind: 'task', host: 'forged', changed: true });
        return edited;
      },
      3,
    ],
    ['a removed record', (lines) => lines.filter((_, i) => i !== 1), 2],
    ['swapped records', (lines) => [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)], 2],
    ['a truncated last line', (lines) => [...lines.slice(0, -1), lines[lines.length - 1]!.slice(0, 40)], 5],
    ['an edited last record', (lines) => [...lines.slice(0, -1), lines[4]!.replace('"host":"h5"', '"host":"hX"')], 5],
  ];
  for (const [what, tamper, brokenAt] of tamperings) {
    it(`finds ${what} and names the first broken record`, () => {
      const verdict = verifyChain(tamper(log(5)).join('\n'));
      expect(verdict.ok).to.equal(false);
      expect(verdict.brokenAt).to.equal(brokenAt);
      expect(verdict.problem).to.be.a('string');
    });
  }

  it('catches a byte changed inside a U+FFFD the writer wrote (decoded as text, FF read as the same U+FFFD)', () => {
    const lines = [sealRecord(1, undefined, { kind: 'task', host: 'h1', stdout: 'output \ufffd\ufffd that was not UTF-8' })];
    lines.push(sealRecord(2, lines[0], { kind: 'run-end', ...closingFields(2, lines[0]) }));
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    expect(verifyChain(auditLogText(bytes)).status).to.equal('intact');
    const at = bytes.indexOf(Buffer.from('\ufffd'));
    const tampered = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 3)]);
    expect(verifyChain(tampered.toString('utf8')).status, 'what decoding as UTF-8 hid').to.equal('intact');
    const verdict = verifyChain(auditLogText(tampered));
    expect(verdict).to.include({ status: 'broken', brokenAt: 1 });
    expect(verdict.problem).to.match(/not UTF-8, which drover never writes/);
  });
});
