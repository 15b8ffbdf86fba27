import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { chromium, type BrowserContext } from 'playwright-core';
import { decide, startPromotion, waitFinished, waitForApproval } from '../client/promotions.js';
import { startDevServer, type DevServer } from '../server/dev-server.js';
import { freePort } from '../server/ports.js';
import { PROJECT_ROOT } from '../server/tools.js';
import { createPromoteWorker } from '../worker/create-worker.js';
import { TestRepo } from './support/repo.js';
import { eventually } from './support/wait.js';

/** Debian's chromium, installed by `npm test`'s set-up (scripts/setup.mjs). */
const CHROMIUM = process.env.PROMOTE_CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(PROJECT_ROOT, '.promote', 'screenshots');

let dir: string;
let server: DevServer;
let connection: Connection;
let client: Client;
let browser: BrowserContext;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  dir = await mkdtemp(join(tmpdir(), 'promote-webui-'));
  // The same dev server `promote dev` runs, Web UI included.
  server = await startDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: join(dir, 'temporal.db'),
  });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
  browser = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 1000 },
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await connection?.close();
  await server?.stop();
  await TestRepo.removeAll();
  await rm(dir, { recursive: true, force: true });
});

describe('the Temporal Web UI, as a person sees it', () => {
  it('finds a promotion by its search attributes and shows its summary and steps', async () => {
    const repo = await TestRepo.create();
    const native = await NativeConnection.connect({ address: server.address });
    const taskQueue = `webui-${process.pid}`;
    const worker = await createPromoteWorker({
      connection: native,
      client,
      namespace: 'default',
      taskQueue,
      cacheDir: join(dir, 'cache'),
      notifier: { announce: () => Promise.resolve() },
    });
    let id = '';
    await worker.runUntil(async () => {
      const handle = await startPromotion(
        client,
        { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }], to: 'staging', requestedBy: 'alice' },
        { taskQueue },
      );
      id = handle.workflowId;
      await waitForApproval(client, id, 'staging');
      await decide(client, id, { env: 'staging', approved: true, by: 'carol', comment: 'ship it' });
      expect((await waitFinished(client, id)).status).toBe('succeeded');
    });
    await native.close();

    const page = await browser.newPage();
    // The list, filtered the way the README tells people to: by the Promote search attributes.
    const query = "PromoteApps = 'api' AND PromoteState = 'succeeded'";
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const row = page.getByRole('link', { name: id }).first();
    await row.waitFor({ timeout: 60_000 });
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'web-ui-list.png'), fullPage: true });

    await row.click();
    await page.getByRole('heading', { name: id }).waitFor({ timeout: 60_000 });

    // The static summary, under User Metadata (the UI renders it as markdown in a sandboxed frame).
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    const summary = async () => {
      for (const frame of page.frames()) {
        const text = await frame
          .locator('body')
          .innerText()
          .catch(() => '');
        if (text.includes('api=1.5.0 → up to staging')) return true;
      }
      return undefined;
    };
    await eventually('the promotion summary in the Web UI', summary);
    await page.screenshot({ path: join(SCREENSHOTS, 'web-ui-summary.png'), fullPage: true });

    // The steps: each environment's activities and the named approval timer, in the event history
    // (staging is manual: its bump is proposed, then landed once approved).
    await page.getByRole('tab', { name: /Event History/ }).click();
    await page.getByText('landProposal').first().waitFor({ timeout: 60_000 });
    // The UI renders a long history as the reader scrolls: read it all the way down, as a person would.
    let history = '';
    for (let screen = 0; screen < 40; screen++) {
      history += await page.locator('body').innerText();
      if (
        ['proposeBump', 'landProposal', 'deploy', 'approval timeout for staging'].every((s) =>
          history.includes(s),
        )
      )
        break;
      // A history longer than a page (~190 events with proposals) is paginated, newest first.
      const next = page.getByRole('button', { name: /next/i }).first();
      if ((await next.count()) > 0 && (await next.isEnabled().catch(() => false))) await next.click();
      else await page.mouse.wheel(0, 1_500);
      await page.waitForTimeout(250);
    }
    for (const step of ['proposeBump', 'landProposal', 'deploy', 'approval timeout for staging']) {
      expect(history).toContain(step);
    }
    expect(history).toContain('release shop in staging updated');
    await page.screenshot({ path: join(SCREENSHOTS, 'web-ui-history.png'), fullPage: true });
  }, 240_000);
});
