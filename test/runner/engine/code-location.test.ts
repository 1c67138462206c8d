import { expect } from 'chai';
import { codeLocation } from '../../../runner/engine/code-location.ts';

describe('engine/code-location', () => {
  const drover = ['/opt/drover/runner/', '/opt/drover/modules/'];

  it("finds the first frame in the operator's code, past drover and its dependencies", () => {
    const stack = [
      "TypeError: Cannot read properties of undefined (reading 'foo')",
      '    at parse (/opt/drover/node_modules/yaml/dist/index.js:10:5)',
      '    at Object.call (/opt/drover/runner/engine/run-playbook.ts:213:11)',
      '    at tasks (/srv/ops/playbooks/site.ts:42:17)',
      '    at /srv/ops/playbooks/site.ts:50:3',
    ].join('\n');
    expect(codeLocation(stack, drover)).to.equal('/srv/ops/playbooks/site.ts:42:17');
  });

  it('reads frames without a function name and file:// URLs', () => {
    expect(codeLocation('Error: x\n    at file:///srv/ops/site.ts:7:1', drover)).to.equal('/srv/ops/site.ts:7:1');
    expect(codeLocation('Error: x\n    at /srv/ops/site.ts:8:2', drover)).to.equal('/srv/ops/site.ts:8:2');
  });

  it("gives nothing when every frame is drover's, Node's or a dependency's, or there is no stack", () => {
    const stack = 'Error: x\n    at run (/opt/drover/modules/copy.ts:1:1)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)';
    expect(codeLocation(stack, drover)).to.equal(undefined);
    expect(codeLocation(undefined, drover)).to.equal(undefined);
  });

  it("by default treats this checkout's runner/ and modules/ as drover", () => {
    expect(codeLocation(new Error('here').stack)).to.match(/test\/runner\/engine\/code-location\.test\.ts:\d+:\d+$/);
  });
});
