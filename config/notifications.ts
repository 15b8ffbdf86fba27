import { z } from 'zod';

/** A channel id (C…, G…) or a channel name (#deploys or deploys). */
const slackChannel = z
  .string()
  .regex(
    /^(?:[CGD][A-Z0-9]{2,}|#?[a-z0-9][a-z0-9._-]{0,79})$/,
    'must be a Slack channel id (C0123ABCD) or name (#deploys)',
  );

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U0123ABCD');

/**
 * `notifications.slack`: where announcements go, and which Slack account each approver is. Tokens are
 * never configured here: they come from the worker's and receiver's environment (see README).
 */
export const SlackNotificationsSchema = z
  .object({
    channel: slackChannel,
    /** Approver name (as in `approvers`) → Slack user id: who may press Approve/Reject. */
    users: z.record(z.string().min(1), slackUserId).optional(),
  })
  // Strict, with a message that says where tokens belong instead (a config file is read by many).
  .catchall(
    z.unknown().refine(() => false, {
      message:
        'unknown key: Slack tokens and secrets never go in promote.yaml (set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET or SLACK_APP_TOKEN where the worker and `promote slack` run)',
    }),
  );

export const NotificationsSchema = z.strictObject({ slack: SlackNotificationsSchema.optional() });

/** Per environment: only the channel can be overridden. */
export const EnvironmentNotificationsSchema = z.strictObject({
  slack: z.strictObject({ channel: slackChannel }).optional(),
});

export type SlackNotifications = z.infer<typeof SlackNotificationsSchema>;
