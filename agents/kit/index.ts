/**
 * What the department agents (sales, executive, engineering, delivery,
 * marketing) share to write a check: reading the read side, parsing a check's
 * input, planning actions, and the text people read.
 */
export { collect, str, num, ms, iso, daysSince, isEmail, DAY_MS, HOUR_MS, type CollectOptions } from './read.ts';
export { CheckInputError, parseInput } from './input.ts';
export { emailAction, notifyAction, socialAction, sendAction, publishAction } from './plan.ts';
export { amount, money, moneyTotals, isoDay, dayLabel, plural, dealName, firstName, bullets, clip, joinAnd, ago } from './text.ts';
