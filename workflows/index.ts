export { promote } from './promote.js';
export { environmentLock } from './environment-lock.js';
export { overview } from './overview.js';
export { promoteJanitor } from './janitor.js';
export { governance } from './governance.js';
