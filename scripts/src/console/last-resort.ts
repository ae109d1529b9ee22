// The last line of defence of every dtrain process. Output: writing progress or logs to a closed stdout
// or stderr (`dtrain launch | tee log`, then Ctrl-C ends tee first) must never stop a run, so write errors
// on both streams are swallowed and later writes dropped. Crashes: an exception nothing caught (a bug that
// remains) saves what the registered saver can (a coordinator: the checkpoint of its last step boundary
// and summary.json with status crashed), says why on stderr, and exits 1: such a bug loses at most a step.

/** What a crash saves; returns a line saying what was kept. */
export type CrashSaver = (error: unknown) => string | null;

let saver: CrashSaver | null = null;
let crashing = false;

/** Write to stderr unless it is gone; never throws. */
export function say(line: string): void {
  try {
    if (!process.stderr.destroyed && process.stderr.writable) process.stderr.write(line + '\n');
  } catch {
    /* stderr is gone: nothing left to say it on */
  }
}

/** Output streams whose reader went away (EPIPE) or failed otherwise stop being written; the process goes on. */
export function guardOutput(streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) stream.on('error', () => stream.destroy());
}

/** The saver for the work now in progress (the current run); the returned function unregisters it. */
export function saveOnCrash(save: CrashSaver): () => void {
  saver = save;
  return () => {
    if (saver === save) saver = null;
  };
}

/** Handle a crash: save, say, exit 1 (a second crash while saving exits at once). */
export function crash(error: unknown, what: string, exit: (code: number) => never = process.exit): never {
  if (crashing) exit(1);
  crashing = true;
  say(`dtrain ${what}: crashed: ${String((error as Error | undefined)?.stack ?? error)}`);
  try {
    const kept = saver?.(error);
    if (kept) say(`dtrain ${what}: ${kept}`);
  } catch (e) {
    say(`dtrain ${what}: could not save after the crash: ${String((e as Error | undefined)?.message ?? e)}`);
  }
  exit(1);
}

/** Install both guards for this process (`what`: the command, for the message). */
export function installLastResort(what: string): void {
  guardOutput();
  process.on('uncaughtException', (e) => crash(e, what));
  process.on('unhandledRejection', (e) => crash(e, what));
}
