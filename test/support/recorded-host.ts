/**
 * A HostContext that answers probes from recorded outputs, for table tests of planners:
 * (params, what the host said) → (plan, diff). Integration tests on lab hosts stand beside these; a
 * planner is never called done on these alone.
 */
import type { Script } from '../../runner/command.ts';
import type { Fact } from '../../runner/facts.ts';
import type { HostContext, ProbeOutput } from '../../runner/module.ts';
import { NOTHING_PREDICTED, type PredictedView } from '../../runner/predicted-state.ts';
import { answerByParts } from './file-probe.ts';

export interface RecordedAnswer {
  /** Matches the probe's script text. */
  match: RegExp | string;
  output: Partial<ProbeOutput>;
}

export class RecordedHost implements HostContext {
  readonly probes: string[] = [];
  /** A dry run's predictions for planner tests (runner/predicted-state.ts); none by default. */
  predicted: PredictedView = NOTHING_PREDICTED;

  constructor(
    private readonly answers: RecordedAnswer[],
    readonly name = 'recorded',
    readonly vars: Record<string, unknown> = {},
    private readonly facts: Record<string, unknown> = {},
  ) {}

  async fact<T>(fact: Fact<T>): Promise<T> {
    const value = fact.key in this.facts ? (this.facts[fact.key] as T) : fact.parse(await this.probe(fact.script));
    return fact.predict ? fact.predict(value, this.predicted) : value;
  }

  async probe(script: Script): Promise<ProbeOutput> {
    this.probes.push(script.text);
    return answerByParts(script.text, (part) => this.answer(part));
  }

  private answer(text: string): ProbeOutput {
    const answer = this.answers.find(({ match }) => (typeof match === 'string' ? text.includes(match) : match.test(text)));
    if (!answer) throw new Error(`RecordedHost: no recorded answer for probe:\n${text}`);
    return { exitCode: 0, stdout: '', stderr: '', ...answer.output };
  }
}
