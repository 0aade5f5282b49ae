/** What every bench script's command line and ending have in common. */
import fs from 'node:fs';

/** `--name value` options: the value after the first occurrence of the name. */
export function optionReader(args: readonly string[]): (name: string) => string | undefined {
  return (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
}

/**
 * Ends a run that has pass/fail checks: prints its report and a `TAG_JSON`
 * line (what bench.sh collects), writes the JSON to `jsonPath` when asked,
 * and fails the process when a check failed.
 */
export function finishCheckedRun(tag: string, result: { checks: Record<string, readonly [boolean, ...unknown[]]> }, report: string, jsonPath?: string): void {
  console.log(`\n${report}`);
  if (jsonPath) fs.writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`${tag}_JSON ${JSON.stringify(result)}`);
  if (Object.values(result.checks).some(([ok]) => !ok)) process.exitCode = 1;
}
