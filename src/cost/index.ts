// Prices, run cost and the time model.
export * from './catalog.js';
export * from './lambda-cost.js';
export * from './time-model.js';
export * from './reference.js';
export { fmtNum, fmtPrice, fmtUsd, fmtCount } from './format.js';
