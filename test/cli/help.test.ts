import { Command } from 'commander';
import { registerCommands, unknownCommand } from '../../cli/program';

/** Every command of the program, with its path (`projects create`). */
function allCommands(program: Command): { path: string; command: Command }[] {
  const out: { path: string; command: Command }[] = [];
  const walk = (c: Command, path: string) => {
    out.push({ path, command: c });
    for (const sub of c.commands) walk(sub, `${path} ${sub.name()}`);
  };
  for (const c of program.commands) walk(c, c.name());
  return out;
}

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s) });
  command.outputHelp();
  return text;
}

describe('kinto CLI: help', () => {
  const program = registerCommands(new Command().name('kinto'));

  it('gives every command a description and an example in --help', () => {
    const commands = allCommands(program);
    expect(commands.length).toBeGreaterThan(30);
    const missing = commands.filter(({ command }) => !command.description() || !/Examples:\n {2}\$ kinto /.test(helpOf(command)));
    expect(missing.map((c) => c.path)).toEqual([]);
  });

  it('lists --json on every command that reads', () => {
    const reads = [
      'projects list',
      'projects show',
      'blocks list',
      'blocks show',
      'builds',
      'envs list',
      'envs show',
      'data list',
      'config',
      'clients',
      'releases list',
      'releases show',
      'releases compare',
      'deployments',
      'jobs',
      'logs',
      'metrics',
      'profiles',
    ];
    const byPath = new Map(allCommands(program).map((c) => [c.path, c.command]));
    for (const path of reads) expect({ path, json: helpOf(byPath.get(path)!).includes('--json') }).toEqual({ path, json: true });
  });

  it('tells a mistyped command from a command and its global options', () => {
    expect(unknownCommand(program, ['bogus'])).toBe('bogus');
    expect(unknownCommand(program, ['--profile', 'aws', 'deploy', 'dev'])).toBeUndefined();
    expect(unknownCommand(program, ['-p', 'shop', 'projects'])).toBeUndefined();
    expect(unknownCommand(program, ['--profile', 'aws', 'depoly'])).toBe('depoly');
    expect(unknownCommand(program, [])).toBeUndefined();
  });
});
