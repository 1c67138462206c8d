/**
 * Asks the operator for a secret on the terminal, without echo: the sudo password (-K) and private key
 * passphrases. Without a terminal there is nobody to ask, so the caller gets an error saying which
 * variable to set instead.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { Secret } from '../secret.ts';
import { UsageError } from './options.ts';

export async function promptSecret(question: string, label: string, instead: string): Promise<Secret> {
  if (!process.stdin.isTTY) throw new UsageError(`${question.replace(/: $/, '')}, but there is no terminal to ask on: ${instead}`);
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    process.stderr.write(question);
    muted = true;
    const answer = await new Promise<string>((resolveAnswer) => rl.question('', resolveAnswer));
    return new Secret(answer, label);
  } finally {
    muted = false;
    process.stderr.write('\n');
    rl.close();
  }
}
