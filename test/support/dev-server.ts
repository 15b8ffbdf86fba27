import { startDevServer, type DevServer } from '../../server/dev-server.js';
import { freePort } from '../../server/ports.js';

/**
 * A dev server on a port nobody holds. `freePort` only says a port was free a moment ago: another test
 * (7 agents share this machine) can bind it before `temporal` does. So a start that fails because the
 * port was taken is retried on a fresh port instead of failing the test.
 */
export async function startTestDevServer(options: { dbFile: string; port?: number }): Promise<DevServer> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 5; attempt++) {
    // A restart asks for its old port again (its clients know that address): retry it while it frees.
    const port = options.port ?? (await freePort());
    try {
      return await startDevServer({ port, uiPort: port, dbFile: options.dbFile, ui: false });
    } catch (error) {
      lastError = error;
      if (!/already in use|exited during start-up|address already in use|bind/i.test(String(error)))
        throw error;
      await new Promise((r) => setTimeout(r, options.port ? 1_000 : 100));
    }
  }
  throw new Error(`the dev server did not start after 5 attempts: ${String(lastError)}`, {
    cause: lastError,
  });
}
