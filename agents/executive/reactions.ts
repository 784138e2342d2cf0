import { DomainEvents } from '../../bus/index.ts';
import type { NotifyParams } from '../actions.ts';
import type { Plan, PlanContext } from '../types.ts';
import { amount, clip, collect, parseInput, plural, str } from '../kit/index.ts';
import { ticketFacts } from './read.ts';

const AutomationError = DomainEvents['automation.error'];

/**
 * The events reacted to, by their catalogue schemas (bus/events):
 * `ticket.deployed` { ticketId, client, platform, deployUrl, value } (the title,
 * owner and failed attempts are read from the ticket's snapshot), `client.churned`
 * { client, reason }.
 */
const TicketDeployed = DomainEvents['ticket.deployed'];
const ClientChurned = DomainEvents['client.churned'];

/** A `notify.send` action. */
function alert(params: NotifyParams, preview: string, target?: string): Plan['actions'][number] {
  return { actionType: 'notify.send', params, preview: clip(preview, 2000), ...(target ? { target: clip(target, 300) } : {}) };
}

/**
 * `automation.error` → an urgent alert to #leadership (topic `automation.error`,
 * so a burst of failures is throttled into one alert): which workflow, where it
 * failed, the error, and the execution's link.
 */
export async function onAutomationError(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:automation.error', AutomationError, ctx.input);
  const name = e.workflowName ?? e.workflowId;
  const body = [
    `${e.platform} workflow ${name}${e.workflowName ? ` (${e.workflowId})` : ''} failed${e.node ? ` at node "${e.node}"` : ''}${e.mode ? ` (started by ${e.mode})` : ''}.`,
    `Error: ${clip(e.errorMessage || 'no message', 1500)}`,
    e.url ? `Execution: ${e.url}` : e.executionId ? `Execution ${e.executionId}.` : 'It failed before an execution was saved (in its trigger).',
  ].join('\n');
  const params: NotifyParams = { kind: 'alert', channel: 'leadership', severity: 'urgent', title: clip(`Automation failing: ${name} (${e.platform})`, 300), body, topic: 'automation.error', related: clip(`automation/${e.workflowId}`, 300) };
  return {
    summary: `Urgent: ${e.platform} workflow ${name} failed: ${clip(e.errorMessage, 300)}. #leadership alerted.`,
    findings: { platform: e.platform, workflowId: e.workflowId, executionId: e.executionId, node: e.node },
    actions: [alert(params, `Urgent alert #leadership: ${e.platform} workflow ${name} failed`, `automation/${e.workflowId}`)],
    hints: [],
  };
}

/** `ticket.deployed` → an info note to #leadership: what went live, for whom, by whom. */
export async function onTicketDeployed(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:ticket.deployed', TicketDeployed, ctx.input);
  const page = /^[A-Za-z0-9_-]+$/.test(e.ticketId) ? await ctx.read.query(ctx.tenant, { kind: 'ticket', where: [{ field: 'key', op: 'eq', value: e.ticketId }], limit: 1 }) : { items: [], next: null };
  const snapshot = page.items[0] ? ticketFacts(page.items[0]) : null;
  const title = snapshot && snapshot.title !== snapshot.key ? snapshot.title : null;
  const client = e.client;
  const what = `${e.ticketId}${title ? ` "${title}"` : ''}`;
  const body = [
    `${what} is live for ${client} on ${e.platform}${e.value > 0 ? ` (worth ${amount(e.value, 2)})` : ''}.`,
    snapshot?.owner ? `Built by ${snapshot.owner}.` : null,
    snapshot && snapshot.failedDeploys > 0 ? `It took ${plural(snapshot.failedDeploys, 'failed deploy')} before this one.` : null,
    e.deployUrl ? `URL: ${e.deployUrl}` : null,
  ]
    .filter((l): l is string => l !== null)
    .join('\n');
  const params: NotifyParams = { kind: 'alert', channel: 'leadership', severity: 'info', title: clip(`Deployed: ${what} for ${client}`, 300), body, topic: clip(`ticket.deployed:${e.ticketId}`, 200), related: clip(`ticket/${e.ticketId}`, 300) };
  return {
    summary: `${what} deployed for ${client}; #leadership told.`,
    findings: { ticketId: e.ticketId, client, platform: e.platform, known: snapshot !== null },
    actions: [alert(params, `Tell #leadership: ${what} deployed for ${client}`, `ticket/${e.ticketId}`)],
    hints: [],
  };
}

/** `client.churned` → a warning to #leadership with the reason and how many of the client's contacts are on record. */
export async function onClientChurned(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:client.churned', ClientChurned, ctx.input);
  const contacts = e.client.length <= 1000 ? (await collect(ctx, (p) => ctx.read.query(ctx.tenant, { kind: 'contact', state: 'active', where: [{ field: 'account', op: 'eq', value: e.client }], ...p }), { cap: 200, skipStopped: true })).items : [];
  const names = contacts.map((c) => str(c.context, 'name') ?? c.key);
  const body = [
    `Reason: ${e.reason}.`,
    contacts.length ? `${plural(contacts.length, 'contact')} of ${e.client} on record: ${clip(names.join(', '), 1000)}.` : `No contact of ${e.client} is on record.`,
  ].join('\n');
  const params: NotifyParams = { kind: 'alert', channel: 'leadership', severity: 'warning', title: clip(`Client churned: ${e.client}`, 300), body, topic: clip(`client.churned:${e.client}`, 200), related: clip(`client/${e.client}`, 300) };
  return {
    summary: `${e.client} churned (${e.reason}); #leadership alerted.`,
    findings: { client: e.client, reason: e.reason, contacts: contacts.map((c) => c.key) },
    actions: [alert(params, `Alert #leadership: ${e.client} churned`, `client/${e.client}`)],
    hints: [],
  };
}
