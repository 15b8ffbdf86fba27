import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../activities/command.js';
import { eventually } from './wait.js';

const SSHD = '/usr/sbin/sshd';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function keygen(file: string): Promise<string> {
  const result = await runCommand(
    ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'promote-test', '-f', file],
    { cwd: tmpdir() },
  );
  if (result.exitCode !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
  return (await readFile(`${file}.pub`, 'utf8')).trim();
}

/**
 * A real OpenSSH server on a loopback port, run as the current user with generated host and user
 * keys: git reaches repositories on this machine through it exactly as through a remote host.
 */
export class TestSshd {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly userKey: string,
    readonly knownHosts: string,
    private readonly process: ChildProcess,
  ) {}

  static async start(): Promise<TestSshd> {
    if (!existsSync(SSHD)) {
      throw new Error(
        `${SSHD} not found: install Debian's openssh-server (apt-get install -y openssh-server)`,
      );
    }
    const dir = await mkdtemp(join(tmpdir(), 'promote-sshd-'));
    const hostKey = join(dir, 'host_ed25519');
    const hostPub = await keygen(hostKey);
    // A key path that needs quoting: it must reach ssh intact through git's shell.
    const userKey = join(dir, "user keys (promote's)", 'id_ed25519');
    await mkdir(join(dir, "user keys (promote's)"));
    const userPub = await keygen(userKey);
    await writeFile(join(dir, 'authorized_keys'), `${userPub}\n`);
    await chmod(join(dir, 'authorized_keys'), 0o600);
    // sshd checks for its privilege-separation directory when started as root.
    if (userInfo().uid === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const config = join(dir, 'sshd_config');
      await writeFile(
        config,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${hostKey}`,
          `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
          `PidFile ${join(dir, 'sshd.pid')}`,
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PubkeyAuthentication yes',
          'UsePAM no',
          'StrictModes no',
          'PermitRootLogin prohibit-password',
          `AllowUsers ${userInfo().username}`,
          '',
        ].join('\n'),
      );
      const knownHosts = join(tmpdir(), `promote-known-hosts-${port}`);
      await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
      const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const up = await eventually(
        `sshd on port ${port}`,
        () =>
          new Promise<boolean | undefined>((resolve) => {
            if (child.exitCode !== null) return resolve(false);
            const socket = connect(port, '127.0.0.1', () => {
              socket.destroy();
              resolve(true);
            });
            socket.on('error', () => resolve(undefined));
          }),
        30_000,
      );
      if (up) return new TestSshd(dir, port, userKey, knownHosts, child);
      if (attempt >= 3) throw new Error(`sshd did not start: ${stderr}`);
    }
  }

  /** The ssh:// URL of a repository on this machine. */
  url(path: string): string {
    return `ssh://${userInfo().username}@127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    this.process.kill('SIGTERM');
    await rm(this.dir, { recursive: true, force: true });
    await rm(this.knownHosts, { force: true });
  }
}
