import { z } from 'zod';
import type { DelegableTask, Plan, PlanContext } from '../types.ts';
import { amount, DAY_MS, ms, parseInput, plural } from '../kit/index.ts';
import { platformName, ticketName } from './names.ts';
import { readTickets, ticketByKey, type TicketView } from './tickets.ts';

/** Build days (analysis start to deployment) assumed per platform when history is too thin. */
export const DEFAULT_BUILD_DAYS: Readonly<Record<string, number>> = { zapier: 3, make: 5, n8n: 7, other: 10 };
/** Completed builds of a platform needed before history replaces the default. */
export const MIN_SAMPLES = 3;
/** Extra build days per revision the reviewer asked for. */
export const DAYS_PER_REVISION = 1;

const Input = z.object({ ticketId: z.string().min(1).max(100) });

/** The median of a non-empty list. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Days from the start of analysis to the (last) successful deployment, for a completed build. */
function buildDays(t: TicketView): number | null {
  const from = ms(t.analyzedAt);
  const to = ms(t.deployedAt);
  return from === null || to === null || to < from ? null : (to - from) / DAY_MS;
}

/**
 * `build-estimate` (delegable, input `{ ticketId }`): how long the ticket's build
 * takes, from the history of completed builds on the same platform (the median of
 * analysis start → deployment over deployed and closed tickets, once there are 3)
 * or a default per platform, plus a day per revision asked; how much of it is left
 * for a ticket in analysis or build. Findings only; no action.
 */
export async function buildEstimate(ctx: PlanContext): Promise<Plan> {
  const { ticketId } = parseInput('build-estimate', Input, ctx.input);
  const t = await ticketByKey(ctx, ticketId);
  if (!t) return { summary: `No ticket ${ticketId}: nothing to estimate.`, findings: { ticketId, found: false }, actions: [], hints: [] };

  const done = await Promise.all(['deployed', 'closed'].map((state) => readTickets(ctx, { state, where: [{ field: 'platform', op: 'eq', value: t.platform }] })));
  const samples = done
    .flatMap((r) => r.tickets)
    .filter((x) => x.key !== t.key)
    .map(buildDays)
    .filter((d): d is number => d !== null);
  const fromHistory = samples.length >= MIN_SAMPLES;
  const base = fromHistory ? median(samples) : (DEFAULT_BUILD_DAYS[t.platform] ?? DEFAULT_BUILD_DAYS.other!);
  const estimateDays = Math.round((base + t.revisions * DAYS_PER_REVISION) * 10) / 10;
  const started = ms(t.analyzedAt);
  const inWork = t.state === 'analyzing' || t.state === 'building';
  const elapsedDays = started === null ? 0 : Math.round(((ctx.now - started) / DAY_MS) * 10) / 10;
  const remainingDays = inWork ? Math.max(0, Math.round((estimateDays - elapsedDays) * 10) / 10) : t.state === 'submitted' ? estimateDays : 0;
  const basis = fromHistory ? `the median of ${plural(samples.length, 'completed build')} on ${platformName(t.platform)}` : `the default for ${platformName(t.platform)} (fewer than ${MIN_SAMPLES} completed builds to learn from)`;

  return {
    summary:
      `${ticketName(t)} is ${t.state}. Estimated build time ${amount(estimateDays)} days, from ${basis}` +
      `${t.revisions ? `, plus ${plural(t.revisions, 'revision')}` : ''}. ${inWork || t.state === 'submitted' ? `About ${amount(remainingDays)} days left.` : 'The build is past the estimate stage.'}`,
    findings: {
      ticketId: t.key,
      found: true,
      state: t.state,
      platform: t.platform,
      estimateDays,
      basis: fromHistory ? 'history' : 'default',
      samples: samples.length,
      revisions: t.revisions,
      elapsedDays,
      remainingDays,
    },
    actions: [],
    hints: fromHistory ? [] : [`Estimates for ${platformName(t.platform)} use a default until ${MIN_SAMPLES} builds are deployed.`],
  };
}

/** The task. */
export const buildEstimateTask: DelegableTask = {
  name: 'build-estimate',
  description: 'Estimate how long a ticket takes to build and how much is left, from completed builds on the same platform. Input: { ticketId }.',
  input: Input,
  check: buildEstimate,
};
