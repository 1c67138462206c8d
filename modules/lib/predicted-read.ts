/**
 * For modules that read a file and change nothing (slurp, fetch): in a dry run, the file as the earlier
 * tasks' planned changes would leave it. They probed the host as it is, so a file an earlier task would
 * write was "no file" (the dry run failed where the apply succeeds) and one it would change was read with
 * its old bytes, reported as certain.
 */
import type { HostContext } from '../../runner/module.ts';
import type { PredictedPath } from '../../runner/predicted-state.ts';

/** A predicted path a read can use: a link is followed on the host instead (see predictedRead). */
export type PredictedReadState = Exclude<PredictedPath, { kind: 'link' }>;

export interface PredictedRead {
  /** Where the host has the path, through links an earlier task would make: what to probe. */
  lookup: string;
  /** The path as predicted (undefined: no prediction, read the host), and the task whose change predicts it. */
  predicted?: { state: PredictedReadState; by: string };
}

/**
 * What an earlier task's planned change says of `path`. A link it would make is followed on the host, where
 * it does not exist yet: the task then depends on that one (reported as such), and reads the host.
 */
export function predictedRead(host: HostContext, path: string): PredictedRead {
  const lookup = host.predicted.throughLinks(path);
  const found = host.predicted.path(lookup);
  if (!found) return { lookup };
  if (found.known.kind === 'link') {
    host.predicted.dependsOn(found.by, `what the link ${path} points to`);
    return { lookup };
  }
  return { lookup, predicted: { state: found.known, by: found.by } };
}
