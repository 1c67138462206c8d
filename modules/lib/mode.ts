/** Permission bits as people write them ("0644") and as diffs show them. */
import { ModuleError } from '../../runner/module-error.ts';

/** "0644", "644", "1777" → the number; anything else is refused with what is allowed. */
export function parseMode(mode: string): number {
  if (!/^0?[0-7]{3,4}$/.test(mode)) {
    throw new ModuleError(`mode ${JSON.stringify(mode)} is not an octal mode`, 'write it as a quoted octal string such as "0644" or "0755"');
  }
  return Number.parseInt(mode, 8);
}

/** The canonical 4-digit form used in diffs: "644" → "0644". */
export function formatMode(mode: string | number): string {
  const value = typeof mode === 'number' ? mode : Number.parseInt(mode, 8);
  return value.toString(8).padStart(4, '0');
}

/**
 * The mode as chmod's argument for exactly these bits. GNU chmod keeps a directory's setuid and setgid bits
 * under a numeric mode of up to four digits (`chmod 0755` on a 2775 directory leaves 2755, so the task
 * reported a change on every run and the dry run predicted a mode that never came), and clears them only
 * when told with a fifth, leading digit: `00755`. For files the extra zero changes nothing.
 */
export function chmodMode(mode: string | number): string {
  return `0${formatMode(mode)}`;
}
