// What a simulated container "runs": simulated nodes start no process, so a pod that is meant to
// finish (restartPolicy Never or OnFailure, as a Job's pods) reads its fate from its command line:
//   - `sleep N` (N seconds, decimals allowed; also inside `sh -c "…"`) runs that long;
//   - `exit K` ends with code K, `false` with 1, `true` or anything else with 0;
//   - no command at all (an image's default, e.g. `kubectl create job x --image=busybox`) ends at once
//     with 0, as busybox's `sh` without a terminal does.
// A pod's containers all run; it ends when the longest does, with the first non-zero exit code.
// restartPolicy Always (the default) keeps a pod running until it is deleted, as before.

export interface SimulatedRun {
  /** How long the containers run after the pod starts. */
  readonly runMs: number;
  readonly exitCode: number;
}

interface ContainerLike {
  readonly command?: unknown;
  readonly args?: unknown;
}

function words(container: ContainerLike): string[] {
  const parts = [container.command, container.args].flatMap((list) => (Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : []));
  // `sh -c "sleep 3; exit 1"`: the script's words count as well.
  return parts.flatMap((part) => part.split(/[\s;&|()]+/)).filter((word) => word !== '');
}

/** One container's run: its sleep total and its exit code. */
export function containerRun(container: ContainerLike): SimulatedRun {
  const tokens = words(container);
  let runMs = 0;
  let exitCode = 0;
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index];
    const next = tokens[index + 1];
    if (token === 'sleep' && next !== undefined && /^\d+(\.\d+)?s?$/.test(next)) {
      runMs += Math.round(Number.parseFloat(next) * 1000);
      index++;
    } else if (token === 'exit') {
      exitCode = next !== undefined && /^\d+$/.test(next) ? Number(next) % 256 : 0;
      break;
    } else if (token === 'false') {
      exitCode = 1;
    }
  }
  return { runMs, exitCode };
}

/** How a simulated pod ends, or undefined when it runs until deleted (restartPolicy Always). */
export function simulatedRunOf(podSpec: { readonly restartPolicy?: unknown; readonly containers?: unknown }): SimulatedRun | undefined {
  const policy = podSpec.restartPolicy;
  if (policy !== 'Never' && policy !== 'OnFailure') return undefined;
  const containers = Array.isArray(podSpec.containers) ? (podSpec.containers as ContainerLike[]) : [];
  let runMs = 0;
  let exitCode = 0;
  for (const container of containers) {
    const run = containerRun(container);
    runMs = Math.max(runMs, run.runMs);
    if (exitCode === 0) exitCode = run.exitCode;
  }
  return { runMs, exitCode };
}
