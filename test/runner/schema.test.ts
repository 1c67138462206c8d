import { expect } from 'chai';
import { s, SchemaError, type InputOf, type OutputOf } from '../../runner/schema.ts';
import { Secret } from '../../runner/secret.ts';

const params = s
  .object({
    name: s.string({ nonEmpty: true }),
    value: s.union<string | number, string | number>(s.string(), s.int()).optional(),
    sysctlFile: s.string().default('99-drover.conf'),
    reload: s.boolean().default(true),
    state: s.enum(['present', 'absent'] as const).default('present'),
    ports: s.array(s.int({ min: 1, max: 65535 })).optional(),
    settings: s.record(s.string()).optional(),
    password: s.secret().optional(),
  })
  .rule((p) => (p.state === 'absent' && p.value !== undefined ? 'value makes no sense with state absent' : undefined));

// Compile-time checks: the input type makes defaults optional, the output type fills them in.
const input: InputOf<typeof params> = { name: 'x' };
const output: OutputOf<typeof params> = params.parse(input, '');
const _reload: boolean = output.reload;
void _reload;

describe('schemas', () => {
  it('applies defaults and keeps given values', () => {
    expect(params.parse({ name: 'net.ipv4.ip_forward', value: '1' }, '')).to.deep.equal({
      name: 'net.ipv4.ip_forward',
      value: '1',
      sysctlFile: '99-drover.conf',
      reload: true,
      state: 'present',
    });
  });

  const rejections: Array<[string, unknown, RegExp]> = [
    ['a missing required parameter', {}, /^name: is required/],
    ['a wrong type', { name: 5 }, /^name: expected a string, got 5/],
    ['an empty string where one is needed', { name: '' }, /name: must not be empty/],
    ['a value outside the choices', { name: 'x', state: 'gone' }, /state: "gone" is not allowed; expected one of: present, absent/],
    ['an unknown parameter, with a suggestion', { name: 'x', sysctl_fil: 'a' }, /sysctl_fil: unknown parameter; did you mean sysctlFile\?/],
    ['a port out of range', { name: 'x', ports: [80, 70000] }, /ports\[1\]: 70000 is above the maximum 65535/],
    ['a cross-field rule', { name: 'x', state: 'absent', value: '1' }, /value makes no sense with state absent/],
    ['a NUL byte', { name: 'a\0b' }, /NUL/],
    ['the same parameter twice', { name: 'x', sysctlFile: 'a', sysctl_file: 'b' }, /given twice/],
  ];
  for (const [what, value, message] of rejections) {
    it(`rejects ${what}`, () => {
      expect(() => params.parse(value, '')).to.throw(SchemaError, message);
    });
  }

  it("accepts Ansible's snake_case names", () => {
    expect(params.parse({ name: 'x', sysctl_file: 'k8s.conf' }, '').sysctlFile).to.equal('k8s.conf');
  });

  it('coerces text from the command line only when asked', () => {
    const fromText = params.parse({ name: 'x', reload: 'no', ports: '80,443', settings: '{"a":"b"}' }, '', { fromText: true });
    expect(fromText).to.include({ reload: false });
    expect(fromText.ports).to.deep.equal([80, 443]);
    expect(fromText.settings).to.deep.equal({ a: 'b' });
    expect(() => params.parse({ name: 'x', reload: 'no' }, '')).to.throw(/expected true or false/);
  });

  it('refuses a whole number a double cannot hold exactly (beyond ±(2^53 - 1)), from text and from YAML or JSON, instead of rounding it', () => {
    const limit = Number.MAX_SAFE_INTEGER;
    // At the limit, and a number that is not whole-number text, are as before.
    expect(s.int().parse(String(limit), 'port', { fromText: true })).to.equal(limit);
    expect(s.int().parse(-limit, 'port')).to.equal(-limit);
    expect(s.number().parse('1.5', 'ratio', { fromText: true })).to.equal(1.5);
    expect(s.number().parse(1e300, 'huge')).to.equal(1e300);
    const refused: Array<[string, () => unknown, string]> = [
      ['int, text', () => s.int().parse('9007199254740993', 'app_port', { fromText: true }), 'app_port: 9007199254740993 (it would be 9007199254740992) cannot be held exactly'],
      ['int, negative text', () => s.int().parse('-9007199254740993', 'app_port', { fromText: true }), 'app_port: -9007199254740993 (it would be -9007199254740992) cannot be held exactly'],
      ['int, 2^53 as text', () => s.int({ min: 1 }).parse('9007199254740992', 'id', { fromText: true }), 'id: 9007199254740992 cannot be held exactly'],
      ['number, whole-number text', () => s.number().parse('123456789012345678901', 'n', { fromText: true }), 'n: 123456789012345678901 (it would be 123456789012345683968) cannot be held exactly'],
      ['int, a number already rounded by a parser', () => s.int().parse(9007199254740992, 'app_port'), 'app_port: 9007199254740992 (perhaps rounded from the number written, when the YAML or JSON was read) cannot be held exactly'],
      ['int, 1e21', () => s.int().parse(1e21, 'n'), 'n: 1000000000000000000000 (perhaps rounded'],
    ];
    for (const [what, parse, message] of refused) {
      expect(parse, what).to.throw(SchemaError, message);
      expect(parse, what).to.throw(SchemaError, /exact only from -9007199254740991 to 9007199254740991; give a smaller number, or, for an identifier made of digits, a string/);
    }
  });

  it('turns passwords into Secrets', () => {
    const parsed = params.parse({ name: 'x', password: 'hunter22' }, '');
    expect(parsed.password).to.be.instanceOf(Secret);
    expect(JSON.stringify(parsed)).to.not.include('hunter22');
  });

  it('says why each branch of a union refused the value, nested unions flattened', () => {
    const port = s.union<number | string, number | string>(s.int({ min: 0, max: 65535 }), s.string({ pattern: /^\d+:\d+$/, what: 'a range' }));
    const ports = s.object({ port: s.union<number | string | Array<number | string>, number | string | Array<number | string>>(port, s.array(port)) });
    expect(() => ports.parse({ port: 70000 }, '')).to.throw(
      SchemaError,
      'port: expected a whole number from 0 to 65535 or a range or a list of a whole number from 0 to 65535 or a range, got 70000 ' +
        '(as a whole number from 0 to 65535: 70000 is above the maximum 65535; not a range; not a list of a whole number from 0 to 65535 or a range)',
    );
    expect(() => ports.parse({ port: [1, 'x'] }, '')).to.throw(SchemaError, /; as a list of .*: \[1\]: expected .*, got "x" \(not a whole number from 0 to 65535; as a range: "x" is not a range\)\)$/);
  });
});
