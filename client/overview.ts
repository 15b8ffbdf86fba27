import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { BAD_INPUT_FAILURES } from '../common/failures.js';
import { shortHash } from '../common/ids.js';
import type { Overview, OverviewCell } from '../common/overview.js';
import { PromoteApps, PromoteEnv, PromoteState } from '../common/search-attributes.js';
import { taskQueue } from '../worker/task-queue.js';
import type { overview as overviewWorkflow } from '../workflows/overview.js';
import { BadInputError } from './promotions.js';
import { printableDeep } from './printable.js';
import { readRules, renderRules } from './governance.js';

type LastPromotion = NonNullable<OverviewCell['lastPromotion']>;

/** The newest promotion of `app` whose PromoteEnv is `env`: where it is now, or where it ended. */
async function newestAt(client: Client, app: string, env: string): Promise<LastPromotion | undefined> {
  const query = `WorkflowType = 'promote' AND ${PromoteApps.name} = '${app}' AND ${PromoteEnv.name} = '${env}'`;
  let newest: LastPromotion | undefined;
  for await (const execution of client.workflow.list({ query })) {
    const row = {
      id: execution.workflowId,
      state: execution.typedSearchAttributes.get(PromoteState) ?? execution.status.name.toLowerCase(),
      startedAt: execution.startTime.toISOString(),
    };
    if (!newest || row.startedAt > newest.startedAt) newest = row;
  }
  return newest;
}

async function describeRow(client: Client, id: string): Promise<LastPromotion | undefined> {
  try {
    const description = await client.workflow.getHandle(id).describe();
    return {
      id,
      state: description.typedSearchAttributes.get(PromoteState) ?? description.status.name.toLowerCase(),
      startedAt: description.startTime.toISOString(),
    };
  } catch {
    return undefined;
  }
}

/**
 * Reads the matrix through the worker (a short `overview` workflow), then adds each cell's last
 * promotion: the newest of the one whose commit set the current tag and the newest one at that environment
 * in Temporal's visibility (which also finds promotions that were rejected or are still waiting there).
 */
export async function readOverview(client: Client, repo: string): Promise<Overview> {
  let result: Overview;
  try {
    result = await client.workflow.execute<typeof overviewWorkflow>('overview', {
      taskQueue: taskQueue(),
      workflowId: `overview-${shortHash(repo)}-${Date.now()}`,
      args: [{ repo }],
      workflowExecutionTimeout: '1 minute',
      staticSummary: `overview of ${repo}`,
    });
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      // The activity's failure arrives wrapped: workflow failed ← activity failed ← application failure.
      const cause = error.cause instanceof ActivityFailure ? error.cause.cause : error.cause;
      if (cause instanceof ApplicationFailure && cause.type && BAD_INPUT_FAILURES.includes(cause.type))
        throw new BadInputError(cause.message);
      if (cause instanceof TimeoutFailure)
        throw new Error(
          `no worker read the repository within a minute: is a worker (\`promote worker\` or \`promote dev\`) polling task queue "${taskQueue()}"?`,
          { cause: error },
        );
    }
    throw error;
  }
  for (const cell of result.cells) {
    const candidates = await Promise.all([
      newestAt(client, cell.app, cell.env),
      cell.committedBy ? describeRow(client, cell.committedBy) : Promise.resolve(undefined),
    ]);
    const newest = candidates
      .filter((c): c is LastPromotion => c !== undefined)
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
    if (newest) cell.lastPromotion = newest;
  }
  const { blocks } = await readRules(client);
  return { ...result, blocks };
}

function cellText(cell: OverviewCell | undefined): string {
  if (!cell) return '';
  if (cell.tag === undefined) return '(no key)';
  let text = cell.tag;
  if (cell.drift) text += ` ≠ runs ${cell.deployedTag ?? '?'}`;
  return text;
}

/** The block people used to paste into Slack by hand: tags per app and environment, then the last promotions. */
export function renderOverview(given: Overview): string {
  // Tags come from values files, ids from whoever started a promotion: printed without control characters.
  const overview = printableDeep(given);
  const cell = (app: string, env: string) => overview.cells.find((c) => c.app === app && c.env === env);
  const width = Math.max(4, ...overview.apps.map((a) => a.length));
  const columns = overview.environments.map((env) =>
    Math.max(env.length, ...overview.apps.map((app) => cellText(cell(app, env)).length)),
  );
  const row = (first: string, rest: string[]) =>
    [first.padEnd(width), ...rest.map((text, i) => text.padEnd(columns[i] ?? 0))].join('  ').trimEnd();
  const lines = [
    `${overview.repo} @ ${overview.branch} ${overview.commit.slice(0, 12)}`,
    '',
    row('', overview.environments),
    ...overview.apps.map((app) =>
      row(
        app,
        overview.environments.map((env) => cellText(cell(app, env))),
      ),
    ),
  ];
  const drifted = overview.cells.filter((c) => c.drift);
  if (drifted.length > 0) {
    lines.push(
      '',
      '≠ drift: the environment runs another tag than Git holds (deployed commit from deploy.status)',
    );
  }
  const last = overview.cells.filter((c) => c.lastPromotion);
  if (last.length > 0) {
    lines.push('', 'last promotions:');
    for (const c of last) {
      const p = c.lastPromotion!;
      lines.push(
        `  ${c.app.padEnd(width)}  ${c.env.padEnd(Math.max(...columns, 8))}  ${p.state.padEnd(16)}  ${p.id}`,
      );
    }
  }
  const rules = renderRules({ blocks: overview.blocks ?? [], freezes: [], changes: [] });
  if (rules.length > 0) lines.push('', ...rules);
  return lines.join('\n');
}
