// The SDK's own module, not its index: the CLI's light path names these without loading the whole SDK.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common/lib/search-attributes.js';

/** Custom search attributes: `promote dev` registers them; a production namespace needs them created once. */
export const PromoteApps = defineSearchAttributeKey('PromoteApps', SearchAttributeType.KEYWORD_LIST);
export const PromoteEnv = defineSearchAttributeKey('PromoteEnv', SearchAttributeType.KEYWORD);
export const PromoteState = defineSearchAttributeKey('PromoteState', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [PromoteApps, PromoteEnv, PromoteState] as const;

/** `Name=Type` pairs as `temporal server start-dev --search-attribute` and `temporal operator` take them. */
export const SEARCH_ATTRIBUTE_FLAGS = [
  'PromoteApps=KeywordList',
  'PromoteEnv=Keyword',
  'PromoteState=Keyword',
] as const;
