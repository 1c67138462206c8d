/**
 * Turns an error that reached the top into one message for the operator. Errors drover raises on
 * purpose carry their own wording; anything else is a bug and is shown with its stack so it can be fixed.
 */
import { SchemaError } from '../schema.ts';
import { UsageError } from './options.ts';

/** Errors whose message is written for the operator (a name ending in Error, set by our own classes). */
const OPERATOR_ERRORS = new Set([
  'UsageError',
  'InventoryError',
  'HostPatternError',
  'ConnectionVariableError',
  'ShlexError',
  'SchemaError',
  'TemplateError',
  'UnreachableError',
  'HostKeyError',
  'ModuleError',
  'SshConfigError',
  'InvalidShellValueError',
  'AuditLogError',
  'AuditSignError',
  'AuditCopyError',
]);

export function describeError(error: unknown): string {
  if (error instanceof UsageError || error instanceof SchemaError) return error.message;
  if (error instanceof Error && OPERATOR_ERRORS.has(error.name)) {
    const hint = (error as { hint?: unknown }).hint;
    // Some messages already end with their hint (InventoryError writes it as a sentence): say it once.
    return typeof hint === 'string' && !error.message.includes(hint) ? `${error.message}\n  hint: ${hint}` : error.message;
  }
  if (error instanceof Error) return `internal error (please report it): ${error.stack ?? error.message}`;
  return `internal error (please report it): ${String(error)}`;
}
