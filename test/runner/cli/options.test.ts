/** Command-line options: -v is counted as Ansible counts it. */
import { expect } from 'chai';
import { COMMON_HELP, commonHelpWithout, parseCommonOptions, UsageError } from '../../../runner/cli/options.ts';

describe('options: verbosity', () => {
  it('counts -v in every spelling Ansible accepts; -vvv is 3, not 1', () => {
    const cases: Array<[string[], number]> = [
      [[], 0],
      [['-v'], 1],
      [['-vv'], 2],
      [['-vvv'], 3],
      [['-v', '-v'], 2],
      [['--verbose', '--verbose', '--verbose'], 3],
      [['-vC'], 1],
      [['-vvvvvv'], 3],
    ];
    for (const [argv, level] of cases) {
      const { options } = parseCommonOptions(argv);
      expect([argv.join(' '), options.verbosity, options.verbose], argv.join(' ')).to.deep.equal([argv.join(' '), level, level > 0]);
    }
  });

  it('gives the values of a repeatable extra option in order', () => {
    const { extraLists } = parseCommonOptions(['-e', 'a=1', 'book.ts', '--extra-vars', '@f.yaml'], { 'extra-vars': { type: 'string', short: 'e', multiple: true } });
    expect(extraLists['extra-vars']).to.deep.equal(['a=1', '@f.yaml']);
  });
});

describe("options: parseArgs's errors in drover's words", () => {
  it('names an unknown option or a missing or unwanted value on one line, quotes balanced, with a suggestion', () => {
    const refusals: Array<[string[], string]> = [
      [['--bogus'], 'unknown option --bogus (see --help)'],
      [['--chek'], 'unknown option --chek; did you mean --check? (see --help)'],
      [['--inventroy', 'x'], 'unknown option --inventroy; did you mean --inventory? (see --help)'],
      [['-b'], 'unknown option -b (see --help)'],
      [['-Cx'], 'unknown option -x (see --help)'],
      [['--forks'], 'option -f, --forks needs a value (see --help)'],
      [['--check=yes'], 'option -C, --check takes no value: give --check alone (see --help)'],
      [['--limit', '--check'], 'option --limit needs a value, and the word after it starts with "-": give the value, or write --limit=VALUE for a value that starts with "-" (see --help)'],
    ];
    for (const [argv, message] of refusals) {
      let thrown: unknown;
      try {
        parseCommonOptions(argv);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, argv.join(' ')).to.be.instanceOf(UsageError);
      expect((thrown as Error).message, argv.join(' ')).to.equal(message);
    }
  });
});

describe('options: what the operator typed is what runs', () => {
  it('refuses an option that takes one value given twice, naming both, instead of keeping the last', () => {
    const refusals: Array<[string[], string]> = [
      [['-i', 'a.yaml', '-i', 'b.yaml'], '--inventory was given 2 times (-i a.yaml, -i b.yaml): give it once; drover does not merge or override them'],
      [['--limit', 'web', '--limit=db'], '--limit was given 2 times (--limit web, --limit db)'],
      [['--audit-log', 'x.jsonl', '--audit-log', 'y.jsonl'], '--audit-log was given 2 times'],
      [['--shard', '1/2', '--shard', '2/2'], '--shard was given 2 times'],
    ];
    for (const [argv, message] of refusals) expect(() => parseCommonOptions(argv), argv.join(' ')).to.throw(UsageError, message);
    // Options meant to repeat, and repeated flags, are fine.
    expect(parseCommonOptions(['--tags', 'a', '-t', 'b', '--check', '--check', '-vv']).options).to.include({ check: true, verbosity: 2 });
    expect(parseCommonOptions(['--tags', 'a', '-t', 'b']).options.tags).to.deep.equal(['a', 'b']);
  });

  it('refuses an empty --tags (an unset $TAGS), which would select every task; an empty --skip-tags skips nothing', () => {
    for (const tags of ['', ',', ' , ']) expect(() => parseCommonOptions(['--tags', tags]), JSON.stringify(tags)).to.throw(UsageError, '--tags is empty: name at least one tag');
    expect(parseCommonOptions(['--skip-tags', '']).options.skipTags).to.deep.equal([]);
    for (const option of ['-i', '--audit-log', '--ssh-config', '--limit']) {
      expect(() => parseCommonOptions([option, '']), option).to.throw(UsageError, /^--[\w-]+ is empty: give it a value, or leave the option out$/);
    }
  });
});

describe('options: help lists only what a command accepts', () => {
  it('exec and module leave out --tags and --skip-tags; apply leaves out --check, --detect-drift, --limit and the tags', async () => {
    const { EXEC_HELP, MODULE_HELP } = await import('../../../runner/cli/adhoc-commands.ts');
    const { APPLY_HELP } = await import('../../../runner/cli/apply-command.ts');
    const listed = (help: string) => [...help.matchAll(/^ {2}(?:-\w, )?--([\w-]+)|^ {6}--([\w-]+)/gm)].map((match) => match[1] ?? match[2]);
    expect(listed(COMMON_HELP)).to.include.members(['tags', 'skip-tags', 'check', 'limit', 'detect-drift', 'inventory']);
    for (const help of [EXEC_HELP, MODULE_HELP]) {
      expect(listed(help)).to.include.members(['inventory', 'check', 'detect-drift', 'become', 'become-user']);
      expect(listed(help)).not.to.include.members(['tags']).and.not.to.include('skip-tags');
    }
    expect(listed(APPLY_HELP)).to.include.members(['inventory', 'max-plan-age', 'keep-going']);
    for (const refused of ['check', 'detect-drift', 'limit', 'tags', 'skip-tags']) expect(listed(APPLY_HELP)).not.to.include(refused);
    // Each option's continuation lines go with it: none is left behind without its option.
    expect(commonHelpWithout(['vault-password-file'])).not.to.include('if FILE is executable');
  });
});

describe('options: values taken as typed', () => {
  it('takes number-valued options exactly, with no space around the value (a shell variable gone wrong)', () => {
    for (const argv of [
      ['--forks', ' 5'],
      ['--shard', ' 1/2'],
      ['--max-output', ' 1M'],
      ['--timeout', '60 '],
    ]) {
      expect(() => parseCommonOptions(argv), JSON.stringify(argv)).to.throw(UsageError, `got ${JSON.stringify(argv[1])}`);
    }
    expect(parseCommonOptions(['--max-output', '1M']).options.maxOutputBytes).to.equal(1024 * 1024);
  });
});
