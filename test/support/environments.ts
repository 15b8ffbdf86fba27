import { TestRepo } from './repo.js';

/** Environment presets the tests promote through, named for what they are. */
export const DEV_THEN_STAGING_AUTO = [
  { name: 'dev', approval: 'auto' as const },
  { name: 'staging', approval: 'auto' as const },
];

/** dev automatic, then staging waiting for a manual approval. */
export const DEV_AUTO_THEN_STAGING_MANUAL = [
  { name: 'dev', approval: 'auto' as const },
  { name: 'staging', approval: 'manual' as const },
];

/** staging waiting for a manual approval while it holds its lock (no proposal): the simplest lock holder. */
export const STAGING_HELD = { name: 'staging', approval: 'manual' as const, proposals: false };

/** dev automatic, then staging held through its approval ({@link STAGING_HELD}). */
export const DEV_AUTO_THEN_STAGING_HELD = [{ name: 'dev', approval: 'auto' as const }, STAGING_HELD];

/** Commits a soak time (`1h`, `2s`) for dev: a new tag waits that long there before staging starts. */
export async function soakDev(repo: TestRepo, soak: string, message: string): Promise<void> {
  const yaml = await repo.file('promote.yaml');
  await repo.commitFile(
    'promote.yaml',
    yaml.replace(
      'valuesFile: environments/dev.yaml\n',
      `valuesFile: environments/dev.yaml\n    soak: ${soak}\n`,
    ),
    message,
  );
}

/** dev then staging, both automatic, with dev soaking the new tag for an hour before staging starts. */
export async function devSoaksAnHourRepo(): Promise<TestRepo> {
  const repo = await TestRepo.create({ environments: DEV_THEN_STAGING_AUTO });
  await soakDev(repo, '1h', 'soak dev for an hour');
  return repo;
}
