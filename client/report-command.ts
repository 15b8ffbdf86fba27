/* `promote report`'s reading lives in activities/delivery-report.ts, shared with the worker's metrics. */
export { readReport, reportQuery } from '../activities/delivery-report.js';
