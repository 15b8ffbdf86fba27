// Loads the Temporal client and exits: the start-up floor of every `promote` command that talks to Temporal.
await import('@temporalio/client');
