import { expect } from 'chai';
import { printedByIntegerHandler, readKernelInteger } from '../../../modules/lib/kernel-integer.ts';

// What the kernel did with each token, measured with `sysctl -w net.ipv4.tcp_keepalive_time=TOKEN` then
// `sysctl -n` on a lab host (kernel 6.18, procps-ng 4.0.2), or (refused) its "Invalid argument". The
// 64-bit limits were measured on kernel.shmmax (an unsigned long): an int key refuses them by its own range.
describe('kernel integers (as /proc/sys reads them)', () => {
  it('reads a leading 0 as octal, 0x as hexadecimal, anything else as decimal, with a - sign', () => {
    const table: Array<[string, bigint]> = [
      ['7200', 7200n],
      ['0600', 384n],
      ['010', 8n],
      ['0', 0n],
      ['00', 0n],
      ['0x10', 16n],
      ['0X1f', 31n],
      ['0xEE47', 60_999n],
      ['-0', 0n],
      ['-010', -8n],
      ['-0x10', -16n],
      ['-5', -5n],
      ['00000000000000000001', 1n],
      ['18446744073709551615', 18_446_744_073_709_551_615n],
    ];
    for (const [token, value] of table) expect(readKernelInteger(token), token).to.deep.equal({ kind: 'integer', value });
  });

  it('refuses what the kernel refuses, saying why and what to write instead', () => {
    const table: Array<[string, RegExp, RegExp]> = [
      ['08', /leading 0 as octal, and 8 and 9 are not octal digits/, /^8 for the decimal number/],
      ['09', /leading 0 as octal/, /^9 for the decimal number/],
      ['0600900', /leading 0 as octal/, /^600900 for the decimal number/],
      ['-08', /leading 0 as octal/, /^-8 for the decimal number/],
      ['0x', /0x starts a hexadecimal number, and hexadecimal digits/, /0x1f/],
      ['0X', /0X starts a hexadecimal number/, /0x1f/],
      ['0x1g', /hexadecimal digits \(0-9, a-f\) must follow/, /0x1f/],
      ['+5', /not a \+ sign/, /^5 \(without the \+\)$/],
      ['+0x10', /not a \+ sign/, /^0x10 \(without the \+\)$/],
      ['18446744073709551616', /no number above 18446744073709551615/, /in range/],
      ['000000000000000000001', /at most 20 characters/, /^1 \(the same number without leading zeros\)$/],
      ['-18446744073709551615', /at most 20 characters/, /^a number in range for the key$/],
    ];
    for (const [token, why, instead] of table) {
      const reading = readKernelInteger(token);
      expect(reading.kind, token).to.equal('refused');
      if (reading.kind !== 'refused') continue;
      expect(reading.why, token).to.match(why);
      expect(reading.instead, token).to.match(instead);
    }
  });

  it('leaves tokens not written as numbers to be compared as text', () => {
    for (const token of ['cubic', '(none)', 'lab-3', '8080,9148', '1-3', '-', '--5', '5s', 'x10', '', '1.5']) {
      expect(readKernelInteger(token), JSON.stringify(token)).to.deep.equal({ kind: 'not-a-number' });
    }
  });

  it('tells what an integer handler prints (canonical decimal) from what only a text sysctl holds', () => {
    const table: Array<[string, boolean]> = [
      ['0', true],
      ['7200', true],
      ['-16', true],
      ['0600', false],
      ['-0', false],
      ['0x10', false],
      ['(none)', false],
      ['lab-3', false],
      ['8080,9148', false],
    ];
    for (const [token, printed] of table) expect(printedByIntegerHandler(token), token).to.equal(printed);
  });
});
