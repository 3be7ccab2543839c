// Prices, run cost, the serverless run model and its validation against the study's published runs.
export * from './catalog.js';
export * from './lambda-cost.js';
export * from './time-model.js';
export * from './reference.js';
export * from './validation.js';
export { fmtNum, fmtPrice, fmtUsd, fmtCount } from './format.js';
