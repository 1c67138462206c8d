/**
 * template: render a Handlebars template on the controller and make a file on the host hold the result
 * (atomically, with mode, owner and group, as copy does).
 *
 * Rendering is strict: a template that names a value neither `vars` nor the host's inventory variables
 * have is an error naming the template file, the line and the missing name, raised while planning,
 * before anything changes on any host. Output is not HTML-escaped (these are config files).
 * Values come from the host's variables, overridden by `vars`. A secret in them renders its real value
 * into the file, and the file's content is then kept out of diffs and logs ("(secret content)").
 *
 * @example
 *   await t.template('kubeadm config', {
 *     src: 'templates/kubeadm.yaml.hbs',
 *     dest: '/etc/kubernetes/kubeadm.yaml',
 *     vars: { podSubnet: '10.244.0.0/16', token: secret(joinToken) },
 *     mode: '0600',
 *   });
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ContentSource } from '../runner/content-source.ts';
import { ModuleError } from '../runner/module-error.ts';
import { defineModule } from '../runner/module.ts';
import { s, Schema, SchemaError, type InputOf, type ParseOptions } from '../runner/schema.ts';
import { Secret } from '../runner/secret.ts';
import { renderTemplate, TemplateError } from '../runner/template.ts';
import { planFileContent } from './lib/file-content.ts';
import { destinationOptions, destinationParams, fileAttributeParams, hostPath } from './lib/file-params.ts';

/** Template variables: any mapping (from the CLI, a JSON object). Values are used as they are. */
class VarsSchema extends Schema<Record<string, unknown>> {
  parse(value: unknown, path: string, options?: ParseOptions): Record<string, unknown> {
    let input = value;
    if (typeof input === 'string' && options?.fromText) {
      try {
        input = JSON.parse(input);
      } catch {
        throw new SchemaError(path, 'expected a JSON object of template variables');
      }
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input) || input instanceof Secret) {
      throw new SchemaError(path, 'expected a mapping of template variables');
    }
    return { ...(input as Record<string, unknown>) };
  }
  describe(): string {
    return 'a mapping of template variables';
  }
}

const params = s
  .object({
    /** A Handlebars template file on the controller (relative to the working directory). Exclusive with `template`. */
    src: s.string({ nonEmpty: true, what: 'a template path on the controller' }).optional(),
    /** The template text itself, for short templates. Exclusive with `src`. */
    template: s.string().optional(),
    /** Where the rendered file goes on the host (absolute path). */
    dest: hostPath({ file: true }),
    /** Values for the template, over the host's inventory variables. */
    vars: new VarsSchema().default({}),
    ...fileAttributeParams,
    ...destinationParams,
  })
  .rule((p) => ((p.src === undefined) === (p.template === undefined) ? 'give exactly one of src and template' : undefined));

export type TemplateParams = InputOf<typeof params>;

export const template = defineModule({
  name: 'template',
  summary: 'Render a Handlebars template (strict) into a file on the host, with mode, owner and group',
  params,
  contentParams: ['template'],
  async plan(p, host) {
    const origin = p.src !== undefined ? resolve(p.src) : 'inline template';
    const source = p.template ?? (await readTemplate(origin));
    let rendered: ReturnType<typeof renderTemplate>;
    try {
      rendered = renderTemplate(source, { ...host.vars, ...p.vars }, origin, { revealSecrets: true });
    } catch (error) {
      if (error instanceof TemplateError) {
        throw new ModuleError(
          `template for ${p.dest}: ${error.message}`,
          error.missing === undefined
            ? 'fix the template'
            : error.missing.includes('.')
              ? // Only top-level names can be checked before the run; what is inside a value is known when it renders.
                `give the value the field the template reads, or fix the template (use null for a field that may be empty)`
              : `add "${error.missing}" to vars or to the host's variables (use null for a value that may be empty); declared with book.template(src, { vars }), a template is checked before the run changes anything`,
        );
      }
      throw error;
    }
    // Text that contains a secret is itself secret: it is written, never shown or logged.
    // Each host's rendering is its own, so it is not shared through the inline-text cache (which would keep
    // the last few hosts' renderings alive after their tasks).
    const content =
      rendered.secretsUsed.length > 0
        ? new Secret(rendered.text, `${p.dest} (rendered with ${rendered.secretsUsed.map((item) => item.label).join(', ')})`)
        : ContentSource.fromBytes(Buffer.from(rendered.text));
    return planFileContent(destinationOptions(p, content), host);
  },
});

async function readTemplate(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModuleError(
      `cannot read template ${path} on the controller (${code ?? String(error)})`,
      'check the path; relative paths are resolved from the working directory',
    );
  }
}
