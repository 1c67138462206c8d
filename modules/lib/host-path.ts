/**
 * The one schema for a path on a managed host. Every module's path parameter goes through it, so that the
 * text a planner compares, prints and passes to a command is the path the kernel will act on.
 *
 * `//`, `/.` and `/usr/../` all name `/`; a pattern such as `^\/.` let them through and `file state=absent`
 * then ran `rm -rf -- //`. So a path is normalised before any rule looks at it: repeated slashes collapse,
 * `.` components and a trailing slash go. A `..` component is refused rather than resolved: resolving it on
 * the text is wrong when the component before it is a symbolic link (`/var/run/..` is `/` where /var/run
 * links to /run), and only the host could resolve it right.
 */
import { Schema, SchemaError, type ParseOptions } from '../../runner/schema.ts';

export interface HostPathRules {
  /** What the path is, for errors and help ("an absolute path on the host"). */
  what?: string;
  /** Whether `/` itself is allowed; false for parameters that remove or recurse. Default true. */
  root?: boolean;
  /** Accept a relative path (taken from the task's chdir); default false. */
  relative?: boolean;
  /**
   * Refuse control characters (newline, ESC, …) for paths written into line-based files (fstab, hosts
   * paths in messages, iptables save files). Default false: file, copy and command carry any name literally.
   */
  noControl?: boolean;
  /**
   * Refuse a trailing slash instead of dropping it: for a destination file (copy, template), where Ansible
   * reads `dest: /opt/app/` as "into this directory" and dropping the slash would write a file named app.
   */
  file?: boolean;
}

/** Control characters: fstab and other line-based files cannot carry them. NUL no path can carry at all. */
const CONTROL = /[\x00-\x1f\x7f]/;

/** The normal form of a path, or why it has none: collapses `//`, drops `.` and a trailing `/`, refuses `..`. */
export function normaliseHostPath(text: string, rules: HostPathRules = {}): { path: string } | { problem: string } {
  const shown = JSON.stringify(text);
  if (text === '') return { problem: 'must not be empty' };
  if (text.includes('\0')) return { problem: 'contains a NUL byte, which no command or file name can carry' };
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)) {
    return { problem: 'contains a lone UTF-16 surrogate, which has no UTF-8 form' };
  }
  const control = rules.noControl ? CONTROL.exec(text) : null;
  if (control)
    return {
      problem: `${shown} has a control character (U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}); no control characters are allowed in a host path`,
    };
  const absolute = text.startsWith('/');
  if (!absolute && !rules.relative) return { problem: `${shown} is not an absolute path; start it with /` };
  if (rules.file && text.length > 1 && /\/\.?$/.test(text)) {
    return { problem: `${shown} ends with /; give the full path of the file to write (drover writes one file, never "into" a directory)` };
  }
  const parts = text.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    return { problem: `${shown} has a .. component; write the path it means without .. (drover does not guess through symbolic links)` };
  }
  const path = absolute ? `/${parts.join('/')}` : parts.join('/') || '.';
  if (path === '/' && rules.root === false) {
    return { problem: `${shown} means / (the root directory), which this parameter refuses: removing or recursing over / is never what a task means` };
  }
  return { path };
}

export class HostPathSchema extends Schema<string> {
  constructor(private readonly rules: HostPathRules = {}) {
    super();
  }
  parse(value: unknown, path: string, _options?: ParseOptions): string {
    if (typeof value !== 'string') throw new SchemaError(path, `expected ${this.describe()}, got ${JSON.stringify(value) ?? String(value)}`);
    const result = normaliseHostPath(value, this.rules);
    if ('problem' in result) throw new SchemaError(path, result.problem);
    return result.path;
  }
  describe(): string {
    return this.rules.what ?? (this.rules.relative ? 'a path on the host' : 'an absolute path on the host');
  }
}

/** Schema for a path on the host: normalised, no NUL, no `..`; see HostPathRules. */
export const hostPath = (rules: HostPathRules | string = {}) => new HostPathSchema(typeof rules === 'string' ? { what: rules } : rules);
