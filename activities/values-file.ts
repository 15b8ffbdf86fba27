// The values-file editor lives in formats/ beside the other formats; this module keeps the
// activities' imports stable.
export {
  hasKey,
  locatorKey,
  readScalars,
  scalarChangesBetween,
  scalarsByPath,
  setScalars,
  ValuesKeyError,
  type Locator,
  type ScalarChange,
  type ScalarEdit,
} from './formats/yaml-values.js';
