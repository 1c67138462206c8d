/**
 * -e extra variables: the three forms, order (later wins), typing by the playbook's vars schema
 * (key=value text coerced like `run module` text; YAML/JSON values kept), errors naming the argument,
 * secret-named values masked in the audit record and handed to the redactor.
 */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionVariableWarnings, extraVarSecrets, parseExtraVars, recordedExtraVars, typeExtraVars, withExtraVars } from '../../../runner/cli/extra-vars.ts';
import { UsageError } from '../../../runner/cli/options.ts';
import { validatePlaybookVars } from '../../../runner/engine/run-playbook.ts';
import { MASK, Redactor } from '../../../runner/secret.ts';
import { definePlaybook, s, type Playbook } from '../../../runner/playbook.ts';
import type { HostTarget } from '../../../runner/engine/host-session.ts';

const dir = mkdtempSync(join(tmpdir(), 'drover-extra-vars-'));
writeFileSync(join(dir, 'vars.yaml'), 'port: 9\nname: from-yaml\nlist: [a, b]\n');
writeFileSync(join(dir, 'vars.json'), '{"name": "from-json"}');
writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
writeFileSync(join(dir, 'vault.yaml'), 'user: app\ndb_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162636465\n');
writeFileSync(join(dir, 'latin1.yaml'), Buffer.concat([Buffer.from('motd: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
writeFileSync(join(dir, 'tag.yaml'), 'x: !custom 1\n');
writeFileSync(join(dir, 'bad.yaml'), 'a: [1\n');
writeFileSync(join(dir, 'big.yaml'), 'id: 9007199254740993\n');
writeFileSync(join(dir, 'limit.yaml'), 'id: 9007199254740991\nhex: 0x1F\nquoted: "9007199254740993"\n');

const values = (args: string[]) => Object.fromEntries([...parseExtraVars(args, dir)].map(([key, entry]) => [key, entry.value]));

describe('extra variables (-e)', () => {
  it('reads key=value (several in one argument, shell-quoted), @FILE (YAML or JSON) and a JSON object; later wins', () => {
    expect(values(['a=1 b="two words"', 'c=x=y'])).to.deep.equal({ a: '1', b: 'two words', c: 'x=y' });
    expect(values(['@vars.yaml'])).to.deep.equal({ port: 9, name: 'from-yaml', list: ['a', 'b'] });
    expect(values(['@vars.yaml', '@vars.json', '{"port": 10}', 'name=last'])).to.deep.equal({ port: 10, name: 'last', list: ['a', 'b'] });
    const entries = parseExtraVars(['@vars.yaml', 'port=8080'], dir);
    expect(entries.get('port')).to.deep.equal({ value: '8080', arg: 'port=8080', fromText: true });
    expect(entries.get('name')).to.deep.equal({ value: 'from-yaml', arg: '@vars.yaml', fromText: false });
  });

  it('refuses what is not a mapping of variables, naming the argument', () => {
    const cases: Array<[string, RegExp]> = [
      ['novalue', /^-e novalue: expected key=value/],
      ['=x', /^-e =x: expected key=value/],
      ['@missing.yaml', /^-e @missing.yaml: cannot read .*missing.yaml: ENOENT/],
      ['@list.yaml', /^-e @list.yaml: extra variables must be a mapping .* got a list/],
      ['{"a": ', /^-e \{"a": : not valid JSON/],
      ['a="unclosed', /^-e a="unclosed: /],
      ['', /^-e takes key=value/],
      // A !vault value is not decrypted here: refused, never handed on as its ciphertext.
      ['@vault.yaml', /^-e @vault.yaml: .*vault.yaml holds a !vault value, which -e files do not decrypt; put the variable in a group_vars\/ or host_vars\/ file/],
      // A latin-1 byte would reach hosts as U+FFFD.
      ['@latin1.yaml', /^-e @latin1.yaml: the file is not UTF-8: byte 0xe9 at line 1, column 10 is not part of a UTF-8 character\. Save the file as UTF-8/],
      ['@tag.yaml', /^-e @tag.yaml: .*tag.yaml is not valid YAML or JSON: .*!custom/],
      ['@bad.yaml', /^-e @bad.yaml: .*bad.yaml is not valid YAML or JSON/],
      // `-e @` alone used to read the working directory: `cannot read /…: EISDIR`.
      ['@', /^-e @: no file name after @; give the variables file as -e @vars\.yaml/],
      ['@ ', /^-e @ : no file name after @/],
      ['@.', /^-e @\.: .* is a directory; -e @FILE takes a YAML or JSON file of variables$/],
      // A number would round these integers: refused, naming the fix, instead of passed on as another number.
      ['@big.yaml', /^-e @big.yaml: .*big.yaml: an integer that a number cannot hold exactly: 9007199254740993 would be read as 9007199254740992\. Quote it/],
      ['{"id": 9007199254740993}', /^-e \{"id": 9007199254740993\}: an integer that a number cannot hold exactly: 9007199254740993 would be read as 9007199254740992\. Quote it/],
      ['{"a": [1, -12345678901234567890]}', /-12345678901234567890 would be read as -12345678901234567168/],
    ];
    for (const [arg, message] of cases) expect(() => parseExtraVars([arg], dir), arg).to.throw(message);
  });

  it('keeps integers a number holds exactly, and digits in strings, as they are', () => {
    expect(values(['@limit.yaml'])).to.deep.equal({ id: 9007199254740991, hex: 31, quoted: '9007199254740993' });
    expect(values(['{"id": "9007199254740993", "n": 1e300, "m": 9007199254740991}'])).to.deep.equal({ id: '9007199254740993', n: 1e300, m: 9007199254740991 });
  });

  it('types declared variables by the schema: key=value text is coerced, YAML values are not; errors name the -e argument', () => {
    const schema = s.object({ port: s.int(), debug: s.boolean().default(false), name: s.string().optional() });
    expect(typeExtraVars(schema, parseExtraVars(['port=8080 debug=true other=1'], dir))).to.deep.equal({ declared: { port: 8080, debug: true }, errors: [] });
    const wrong = typeExtraVars(schema, parseExtraVars(['port=eighty', '{"debug": "yes"}'], dir));
    expect(wrong.errors).to.have.length(2);
    expect(wrong.errors[0]).to.match(/^-e port=eighty: port: /);
    const large = typeExtraVars(schema, parseExtraVars(['app_port=1 port=9007199254740993'], dir));
    expect(large.errors).to.deep.equal([
      '-e app_port=1 port=9007199254740993: port: 9007199254740993 (it would be 9007199254740992) cannot be held exactly: whole numbers are exact only from -9007199254740991 to 9007199254740991; give a smaller number, or, for an identifier made of digits, a string (quoted in YAML or JSON, s.string() in the schema)',
    ]);
    expect(wrong.errors[1]).to.match(/^-e \{"debug": "yes"\}: debug: /);
  });

  it("wins over the inventory in the playbook's vars and in allVars, on every host", () => {
    const book = definePlaybook({ name: 'x', vars: s.object({ port: s.int(), greeting: s.string() }) });
    const playbook = book.playbook([]);
    const host = (name: string, vars: Record<string, unknown>) => ({ name, vars, groups: [] }) as unknown as HostTarget;
    const extra = parseExtraVars(['port=8080 extra_only=x'], dir);
    const inventory = [host('a', { port: 1, greeting: 'hi' }), host('b', { greeting: 'yo' })];
    const targets = withExtraVars({ select: (_pattern: string, _options: { allowEmpty: boolean }) => inventory }, extra);
    const selected = targets.select('all', { allowEmpty: false });
    // allVars stays untyped, as Ansible's -e: the text as given; the typed value is in host.vars.
    expect(selected.map((target) => target.vars)).to.deep.equal([
      { port: '8080', greeting: 'hi', extra_only: 'x' },
      { port: '8080', greeting: 'yo', extra_only: 'x' },
    ]);
    expect(targets.select('all', { allowEmpty: false })[0]).to.equal(selected[0]);
    const { vars, errors } = validatePlaybookVars(playbook as Playbook<unknown>, selected, typeExtraVars(playbook.vars, extra).declared);
    expect(errors).to.deep.equal([]);
    expect([...vars]).to.deep.equal([
      ['a', { port: 8080, greeting: 'hi' }],
      ['b', { port: 8080, greeting: 'yo' }],
    ]);
  });

  it('masks secret-named values in the audit record and hands them to the redactor, nested ones too', () => {
    const extra = parseExtraVars(['db_password=hunter2 user=ops', '{"creds": {"api_token": "t0k", "name": "n"}}'], dir);
    expect(JSON.parse(JSON.stringify(recordedExtraVars(extra)))).to.deep.equal({
      db_password: { value: '********', from: '-e db_password=hunter2 user=ops' },
      user: { value: 'ops', from: '-e db_password=hunter2 user=ops' },
      creds: { value: { api_token: '********', name: 'n' }, from: '-e {"creds": {"api_token": "t0k", "name": "n"}}' },
    });
    // The arguments too: argv and `from` show them as typed, where an escape hides the value from a match.
    expect(extraVarSecrets(extra)).to.deep.equal(['hunter2', 'db_password=hunter2 user=ops', 't0k', '{"creds": {"api_token": "t0k", "name": "n"}}']);
  });

  it('masks the argument as typed, whatever escapes it holds: argv and from are masked whole', () => {
    for (const arg of [String.raw`db_password=Secr\3tValue`, String.raw`{"db_password":"Secr\u0033tValue"}`, `db_password='it'"'"'s a Secr3t'`]) {
      const redactor = new Redactor();
      for (const value of extraVarSecrets(parseExtraVars([arg], dir))) redactor.add(value);
      expect(redactor.redactValue(['run', 'site.ts', '-e', arg]), arg).to.deep.equal(['run', 'site.ts', '-e', MASK]);
      expect(redactor.redact(JSON.stringify(recordedExtraVars(parseExtraVars([arg], dir)))), arg).to.not.match(/Secr|3t/);
    }
  });

  it('never quotes an argument naming a secret variable in its parse error (it went to the terminal in clear)', () => {
    for (const arg of ["db_password=it's Secr3tValue", 'db_password=Secr3tValue extra', '{"db_password": "Secr3tValue",}', 'api_token="Secr3tValue']) {
      expect(() => parseExtraVars([arg], dir), arg).to.throw(UsageError, /^-e \(an argument naming a secret variable; not shown\): /);
      try {
        parseExtraVars([arg], dir);
      } catch (error) {
        expect((error as Error).message, arg).to.not.include('Secr3t');
      }
    }
    // Others keep their text, which is what to fix.
    expect(() => parseExtraVars(["user=it's"], dir)).to.throw(UsageError, /^-e user=it's: /);
  });

  it('refuses a self-referencing alias, an alias bomb and values nested too deeply, each a clear error (they were stack traces)', () => {
    writeFileSync(join(dir, 'rec.yaml'), 'a: &x [*x]\n');
    const levels = ['a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]'];
    for (const name of 'bcdef')
      levels.push(
        `${name}: &${name} [${Array(10)
          .fill(`*${levels.length === 1 ? 'a' : 'bcdef'[levels.length - 2]}`)
          .join(', ')}]`,
      );
    writeFileSync(join(dir, 'bomb.yaml'), `${levels.join('\n')}\n`);
    expect(() => parseExtraVars(['@rec.yaml'], dir)).to.throw(UsageError, /^-e @rec\.yaml: .*rec\.yaml:1: the alias \*x is used inside the value it names/);
    expect(() => parseExtraVars(['@bomb.yaml'], dir)).to.throw(UsageError, /^-e @bomb\.yaml: .*an "alias bomb"/);
    const deep = `{"deep": ${'['.repeat(8000)}1${']'.repeat(8000)}}`;
    expect(() => parseExtraVars([deep], dir)).to.throw(UsageError, /values nested more than 100 levels deep; flatten them$/);
  });

  it('warns of each connection setting it does not apply (-e ansible_host=… was silently ignored)', () => {
    const extra = parseExtraVars(['ansible_host=10.9.9.9 ansible_become=true port=8080'], dir);
    expect(connectionVariableWarnings(extra)).to.deep.equal([
      '-e ansible_host does not change how drover connects or becomes another user (those settings come from the inventory): set ansible_host in the inventory (host_vars/, group_vars/) instead',
      '-e ansible_become does not change how drover connects or becomes another user (those settings come from the inventory): set ansible_become in the inventory (host_vars/, group_vars/) instead',
    ]);
    expect(connectionVariableWarnings(parseExtraVars(['port=8080'], dir))).to.deep.equal([]);
  });
});
