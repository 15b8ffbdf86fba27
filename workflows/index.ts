export { promote } from './promote.js';
