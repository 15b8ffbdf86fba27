import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Decision, DecisionInput, PromotionState } from '../common/types.js';

/** The promotion's whole state: the CLI and (later) Slack render it. */
export const statusQuery = defineQuery<PromotionState>('status');

/** Approve or reject an environment; the validator refuses bad decisions before they reach history. */
export const decideUpdate = defineUpdate<Decision, [DecisionInput]>('decide');

/** Fire-and-forget form of `decide` for callers that cannot wait (webhooks); invalid ones are ignored. */
export const decideSignal = defineSignal<[DecisionInput]>('decideSignal');
