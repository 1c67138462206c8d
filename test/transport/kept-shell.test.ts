/**
 * The kept shell's framing (runner/transport/kept-shell.ts): the end marks are found however the stream
 * is cut into chunks, and every byte before them is handed on unchanged.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { shellQuote } from '../../runner/command.ts';
import { EndMark, frame, newMarkPrefix } from '../../runner/transport/kept-shell.ts';

/** Pushes `stream` through an EndMark in chunks cut at `cuts`, and returns what it handed on. */
function through(mark: EndMark, stream: Buffer, cuts: number[]): Buffer {
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, stream.length]) {
    out.push(mark.push(stream.subarray(from, to)));
    from = to;
  }
  return Buffer.concat(out);
}

describe('transport/kept-shell: framing', () => {
  const mark = `${newMarkPrefix()}7`;
  const outputs = [Buffer.alloc(0), Buffer.from('x'), Buffer.from('line\n'), Buffer.from('\n\n'), Buffer.from([0, 10, 13, 255, 10]), Buffer.from(`\n${mark.slice(0, -1)}8 0\n`)];

  it('hands on the output before the mark and reads the status, for every way of cutting the stream', () => {
    for (const output of outputs) {
      const stream = Buffer.concat([output, Buffer.from(`\n${mark} 42\n`)]);
      for (let first = 0; first <= stream.length; first++) {
        for (const second of [first, Math.min(stream.length, first + 1), Math.min(stream.length, first + 7)]) {
          const end = new EndMark(mark, true);
          expect(through(end, stream, [first, second]).equals(output), `${JSON.stringify(output.toString('latin1'))} cut at ${first}/${second}`).to.equal(true);
          expect(end.found).to.equal(true);
          expect(end.status).to.equal(42);
        }
      }
    }
  });

  it('finds the stderr mark, and hands nothing on after a mark', () => {
    const end = new EndMark(mark, false);
    expect(through(end, Buffer.from(`err\n${mark}\n`), [2, 9]).toString()).to.equal('err');
    expect(end.found).to.equal(true);
    expect(end.push(Buffer.from('more')).length).to.equal(0);
  });

  it('holds back only an end that could begin the mark, and gives it up when the command ends without one', () => {
    const end = new EndMark(mark, true);
    expect(end.push(Buffer.alloc(1 << 20, 'a')).length).to.equal(1 << 20);
    expect(end.push(Buffer.from('E: Could not get lock\n')).toString()).to.equal('E: Could not get lock');
    expect(end.push(Buffer.from(`x\n${mark.slice(0, 10)}`)).toString()).to.equal('\nx');
    expect(end.flush().toString()).to.equal(`\n${mark.slice(0, 10)}`);
    expect(end.flush().length).to.equal(0);
    expect(end.found).to.equal(false);
  });

  it('writes a frame /bin/sh runs: the line in a subshell, then both marks', () => {
    for (const line of ["echo 'it''s'; echo err >&2; (exit 5)", `/bin/sh -c ${shellQuote("echo 'it''s'; echo err >&2; exit 5")}`]) {
      const text = execFileSync('/bin/sh', ['-s'], { input: frame(line, mark), encoding: 'latin1', stdio: ['pipe', 'pipe', 'pipe'] });
      expect(text, line).to.equal(`its\n\n${mark} 5\n`);
    }
  });

  /** The parent of the process the line starts, and the reader's own PID. */
  function parentOf(line: string): { parent: string | undefined; reader: string | undefined } {
    const text = execFileSync('/bin/sh', ['-s'], { input: `echo "reader=$$"\n${frame(line, mark)}`, encoding: 'latin1', stdio: ['pipe', 'pipe', 'pipe'] });
    return { parent: /parent=(\d+)/.exec(text)?.[1], reader: /reader=(\d+)/.exec(text)?.[1] };
  }

  it("starts a probe's line as the subshell itself, no process between it and the reader", () => {
    for (const script of ['echo "parent=$PPID"', "echo 'it''s' \"parent=$PPID\"", 'echo "parent=$PPID" # \\\'']) {
      const { parent, reader } = parentOf(`/bin/sh -c ${shellQuote(script)}`);
      expect(reader, script).to.match(/^\d+$/);
      expect(parent, script).to.equal(reader);
    }
  });

  it('runs any other line as it is, which exec would cut short', () => {
    const { parent, reader } = parentOf(`/bin/sh -c 'echo "parent=$PPID"'; echo more`);
    expect(parent).to.not.equal(reader);
    const text = execFileSync('/bin/sh', ['-s'], { input: frame(`/bin/sh -c 'echo one'; echo two`, mark), encoding: 'latin1', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(text).to.equal(`one\ntwo\n\n${mark} 0\n`);
  });

  it('gives every command of a shell its own mark', () => {
    expect(newMarkPrefix()).to.match(/^__drover_end_[0-9a-f]{24}_$/);
    expect(newMarkPrefix()).to.not.equal(newMarkPrefix());
  });
});
