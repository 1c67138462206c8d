/**
 * copy: make a file on the host hold exactly the given content (inline text or a local file read on the
 * controller), with the asked mode, owner and group.
 *
 * @example
 *   await t.copy('kubelet defaults', { dest: '/etc/default/kubelet', content: 'KUBELET_EXTRA_ARGS=\n', mode: '0644' });
 *   await t.copy('CA bundle', { src: 'files/ca.pem', dest: '/usr/local/share/ca-certificates/lab.crt', backup: true });
 */
import { defineModule } from '../runner/module.ts';
import { s, type InputOf } from '../runner/schema.ts';
import type { Secret } from '../runner/secret.ts';
import { openControllerFile } from './lib/controller-file.ts';
import { planFileContent } from './lib/file-content.ts';
import { destinationOptions, destinationParams, fileAttributeParams, hostPath } from './lib/file-params.ts';

const params = s
  .object({
    /** Where the file goes on the host (absolute path). */
    dest: hostPath({ file: true }),
    /** The file's content, inline; a `secret(...)` is written but never shown in diffs or logs. Exclusive with `src`. */
    content: s.union<string | Secret, string | Secret>(s.string(), s.secret()).optional(),
    /** A file on the controller (relative to the working directory) whose bytes are copied. Exclusive with `content`. */
    src: s.string({ nonEmpty: true, what: 'a path on the controller' }).optional(),
    ...fileAttributeParams,
    ...destinationParams,
  })
  .rule((p) => ((p.content === undefined) === (p.src === undefined) ? 'give exactly one of content and src' : undefined));

export type CopyParams = InputOf<typeof params>;

export const copy = defineModule({
  name: 'copy',
  summary: 'Make a file hold exactly the given content (inline or a local file), with mode, owner and group',
  params,
  contentParams: ['content'],
  async plan(p, host) {
    const content = p.content ?? (await openControllerFile(p.src!, 'copy src', 'copy files one by one; directories are not copied recursively'));
    return planFileContent(destinationOptions(p, content), host);
  },
});
