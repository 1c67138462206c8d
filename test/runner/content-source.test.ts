import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { ContentSource, IN_MEMORY_FILE_LIMIT } from '../../runner/content-source.ts';

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('content source (one copy of file content for every host)', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'drover-content-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('hashes a large controller file once and streams it, prefix first, without holding it', async () => {
    const data = randomBytes(IN_MEMORY_FILE_LIMIT * 5 + 123);
    const path = join(dir, 'big.bin');
    writeFileSync(path, data);
    const source = await ContentSource.fromFile(path);
    expect(source).to.include({ size: data.length, sha256: sha(data) });
    expect(source.bytes).to.equal(undefined);
    expect(await ContentSource.fromFile(path)).to.equal(source);
    const sent = await buffer(source.stdin(Buffer.from('HEADER\n')).open());
    expect(sent.equals(Buffer.concat([Buffer.from('HEADER\n'), data]))).to.equal(true);
  });

  it('fails a stream whose file changed after it was hashed, before its last bytes', async () => {
    const data = randomBytes(IN_MEMORY_FILE_LIMIT * 3);
    const path = join(dir, 'changing.bin');
    writeFileSync(path, data);
    const source = await ContentSource.fromFile(path);
    const changed = Buffer.from(data);
    changed[changed.length - 1] = (data[data.length - 1] ?? 0) ^ 0xff;
    writeFileSync(path, changed);
    const received: Buffer[] = [];
    const stream = source.open();
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    const error = await new Promise<Error>((resolveError) => stream.on('error', resolveError));
    expect(error.message).to.match(/changed on the controller while it was being sent/);
    expect(Buffer.concat(received).length).to.be.below(data.length);
  });

  it('shares one buffer for the same inline text and hashes it once', () => {
    const text = 'é'.repeat(100_000);
    const first = ContentSource.fromText(text);
    expect(ContentSource.fromText(`${text}`)).to.equal(first);
    expect(first).to.include({ size: 200_000, sha256: sha(text) });
  });
});
