/**
 * A playbook's plays are checked as book.play and book.playbook are called (runner/play-options.ts), so a
 * wrong option stops the playbook as it is loaded, before any host is contacted: each row is a play
 * definition and the words its refusal must hold (the play, the option, what is wrong).
 */
import { expect } from 'chai';
import { checkPlay, PlaybookError, retryProblem } from '../../runner/play-options.ts';
import { definePlaybook, secret } from '../../runner/playbook.ts';

const tasks = async () => {};
const book = definePlaybook({ name: 'options test' });

describe('play options, checked when the play is defined', () => {
  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ['serial 0', { serial: 0 }, /^play "p": serial: .*got 0 .*0 is below the minimum 1/],
    ['serial -1', { serial: -1 }, /^play "p": serial: .*got -1/],
    ['serial 1.5', { serial: 1.5 }, /^play "p": serial: .*got 1\.5/],
    ['serial Infinity', { serial: Number.POSITIVE_INFINITY }, /^play "p": serial: .*got Infinity/],
    ['serial NaN', { serial: Number.NaN }, /^play "p": serial: .*got NaN/],
    ["serial '0%'", { serial: '0%' }, /^play "p": serial: .*0% is not a share of the play's hosts/],
    ["serial '-5%'", { serial: '-5%' }, /^play "p": serial: .*got "-5%"/],
    ["serial '150%'", { serial: '150%' }, /^play "p": serial: .*150% is not a share/],
    ["serial 'x%'", { serial: 'x%' }, /^play "p": serial: .*got "x%"/],
    ['maxFailPercentage -1', { maxFailPercentage: -1 }, /^play "p": maxFailPercentage: -1 is below the minimum 0/],
    ['maxFailPercentage 101', { maxFailPercentage: 101 }, /^play "p": maxFailPercentage: 101 is above the maximum 100/],
    ['hosts 123', { hosts: 123 }, /^play "p": hosts: expected a host pattern .*got 123/],
    ['hosts blank', { hosts: '  ' }, /^play "p": hosts: " {2}" is not a host pattern/],
    ['no hosts', { hosts: undefined }, /^play "p": hosts: is required/],
    ['no tasks', { tasks: undefined }, /^play "p": tasks: is required \(a function\)/],
    ['tasks not a function', { tasks: 'echo hi' }, /^play "p": tasks: expected a function, got "echo hi"/],
    ['tags not a list', { tags: 'prep' }, /^play "p": tags: expected a list/],
    ['become a number', { become: 1 }, /^play "p": become: expected true or false or a string/],
    ['a handler not a function', { handlers: { restart: 'systemctl restart x' } }, /^play "p": handlers\.restart: expected a function or /],
    ['a misspelt option', { searial: 2 }, /^play "p": searial: unknown play option; did you mean serial\?/],
    ['no name', { name: undefined }, /^a play: name: is required/],
  ];
  for (const [what, change, says] of refused) {
    it(`refuses ${what}`, () => {
      const definition = { name: 'p', hosts: 'all', tasks, ...change };
      expect(() => book.play(definition as never))
        .to.throw(PlaybookError)
        .with.property('message')
        .that.matches(says);
    });
  }

  const accepted: Array<[string, Record<string, unknown>]> = [
    ['serial 1', { serial: 1 }],
    ["serial '30%'", { serial: '30%' }],
    ["serial '100%'", { serial: '100%' }],
    ["serial '0.5%'", { serial: '0.5%' }],
    ['maxFailPercentage 0', { maxFailPercentage: 0 }],
    ['become as a user', { become: 'postgres' }],
    ['become with a password', { become: { user: 'root', password: secret('pw') } }],
    ['handlers, one listening', { handlers: { a: tasks, b: { listen: 'topic', run: tasks } } }],
  ];
  for (const [what, change] of accepted) {
    it(`accepts ${what}`, () => expect(() => checkPlay({ name: 'p', hosts: 'all', tasks, ...change })).not.to.throw());
  }
});

describe('book.playbook: what is not a play', () => {
  const play = book.play({ name: 'fine', hosts: 'all', tasks });
  const refused: Array<[string, unknown, RegExp]> = [
    ['null', [play, null], /^book\.playbook\(\[…\]\): play 2 is null, not a play/],
    ['a number', [7], /^book\.playbook\(\[…\]\): play 1 is 7, not a play/],
    ['a play without hosts and tasks', [{ name: 'x' }], /^play "x" \(play 1 of book\.playbook\(\[…\]\)\): hosts: is required/],
    ['no list', play, /^book\.playbook\(\) expects a list of plays/],
  ];
  for (const [what, plays, says] of refused) {
    it(`refuses ${what}`, () =>
      expect(() => book.playbook(plays as never))
        .to.throw(PlaybookError)
        .with.property('message')
        .that.matches(says));
  }
});

describe("a task's retry option", () => {
  const table: Array<[unknown, RegExp | undefined]> = [
    [undefined, undefined],
    [{ attempts: 3 }, undefined],
    [{ attempts: 3, delaySeconds: 0.5, until: () => true }, undefined],
    [{ attempts: 0 }, /^retry\.attempts: 0 is below the minimum 1/],
    [{ attempts: 2.5 }, /^retry\.attempts: expected a whole number/],
    [{ attempts: 3, delaySeconds: -5 }, /^retry\.delaySeconds: -5 is below the minimum 0/],
    [{ attempts: 3, until: 'ok' }, /^retry\.until: expected a function/],
    [{ delaySeconds: 5 }, /^retry\.attempts: is required/],
  ];
  for (const [retry, says] of table) {
    it(`${JSON.stringify(retry) ?? 'no retry'} → ${says ?? 'fine'}`, () => {
      const problem = retryProblem(retry);
      if (says) expect(problem).to.match(says);
      else expect(problem).to.equal(undefined);
    });
  }
});
