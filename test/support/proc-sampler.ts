/**
 * A sampler of every process's argv and environment on a lab host (python3 there), for tests that check a
 * secret never reaches a process list: it runs until `<run>.stop` exists, writes `<run>.ready` once running,
 * and prints {passes, cmdlines, environs}: what it saw, each distinct text once. It is given no secret; the
 * test looks for the secret in what it saw. Used by the cluster playbook's and the Kubernetes stand-in's lab tests.
 */
export const PROC_SAMPLER = `import json, os, sys, time
run = sys.argv[1]
me = str(os.getpid())
cmdlines, environs, passes = set(), set(), 0
open(run + ".ready", "w").close()
deadline = time.time() + 1800
while not os.path.exists(run + ".stop") and time.time() < deadline:
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        for name, seen in (("cmdline", cmdlines), ("environ", environs)):
            try:
                with open("/proc/%s/%s" % (pid, name), "rb") as handle:
                    raw = handle.read()
            except OSError:
                continue
            if raw:
                seen.add(raw.replace(b"\\0", b" ").decode("utf-8", "replace").strip())
    passes += 1
    time.sleep(0.005)
json.dump({"passes": passes, "cmdlines": sorted(cmdlines), "environs": sorted(environs)}, sys.stdout)
`;

export interface ProcSample {
  passes: number;
  cmdlines: string[];
  environs: string[];
}
