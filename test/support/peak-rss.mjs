// Preloaded with `node --import` by test/faults/memory.test.ts: when the process exits, whatever ends it
// (process.exit included), writes its peak resident set size (VmHWM, in kB) to $DROVER_PEAK_RSS_FILE.
// Read by the process itself just before it goes, so no sampling can miss the peak.
import { readFileSync, writeFileSync } from 'node:fs';

const target = process.env.DROVER_PEAK_RSS_FILE;
if (target) {
  process.on('exit', () => {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    writeFileSync(target, match ? match[1] : 'unknown');
  });
}
