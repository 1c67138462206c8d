/**
 * A HostContext that answers probes from recorded outputs, for table tests of planners:
 * (params, what the host said) → (plan, diff). Integration tests on lab hosts stand beside these; a
 * planner is never called done on these alone.
 */
import type { Script } from '../../runner/command.ts';
import type { Fact } from '../../runner/facts.ts';
import type { HostContext, ProbeOutput } from '../../runner/module.ts';

export interface RecordedAnswer {
  /** Matches the probe's script text. */
  match: RegExp | string;
  output: Partial<ProbeOutput>;
}

export class RecordedHost implements HostContext {
  readonly probes: string[] = [];

  constructor(
    private readonly answers: RecordedAnswer[],
    readonly name = 'recorded',
    readonly vars: Record<string, unknown> = {},
    private readonly facts: Record<string, unknown> = {},
  ) {}

  async fact<T>(fact: Fact<T>): Promise<T> {
    if (fact.key in this.facts) return this.facts[fact.key] as T;
    return fact.parse(await this.probe(fact.script));
  }

  async probe(script: Script): Promise<ProbeOutput> {
    this.probes.push(script.text);
    const answer = this.answers.find(({ match }) => (typeof match === 'string' ? script.text.includes(match) : match.test(script.text)));
    if (!answer) throw new Error(`RecordedHost: no recorded answer for probe:\n${script.text}`);
    return { exitCode: 0, stdout: '', stderr: '', ...answer.output };
  }
}
