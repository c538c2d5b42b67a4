import pc from 'picocolors';

type Colours = ReturnType<typeof pc.createColors>;

/**
 * Whether to colour what goes to a stream. --color / --no-color (main() turns
 * them into FORCE_COLOR / NO_COLOR, which also reach child processes) win;
 * then NO_COLOR (https://no-color.org: any non-empty value), then FORCE_COLOR;
 * else colour only on a terminal that is not TERM=dumb.
 */
export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

/** picocolors' functions for one stream, or plain identity functions when that stream gets no colour. */
export function coloursFor(stream: { isTTY?: boolean } = process.stdout): Colours {
  return pc.createColors(colourEnabled(stream));
}

/** --color and --no-color, read before anything prints (yargs also declares them, for --help and strict mode). */
export function applyColourFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  const last = [...argv].reverse().find((a) => a === '--color' || a === '--no-color' || a === '--color=true' || a === '--color=false');
  if (last === undefined) return;
  if (last === '--no-color' || last === '--color=false') {
    env.NO_COLOR = '1';
    delete env.FORCE_COLOR;
  } else {
    env.FORCE_COLOR = '1';
    delete env.NO_COLOR;
  }
}
