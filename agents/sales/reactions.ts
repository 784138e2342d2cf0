import { DomainEvents } from '../../bus/index.ts';
import type { EmailParams, NotifyParams } from '../actions.ts';
import type { Plan, PlanContext, PlannedAction } from '../types.ts';
import { bullets, clip, DAY_MS, firstName, isoDay, ms, parseInput, plural } from '../kit/index.ts';
import { answeredBy, contactsAtAccount, priorDrafts, resolveRecipients, type AccountContact, type Recipient } from './read.ts';

/**
 * The events reacted to, by their catalogue schemas (bus/events): `client.at_risk`
 * { client, reason, contact, since } (`contact` an email address or a contact's
 * key, or null; `since` an ISO date or time, or null), `client.churned`
 * { client, reason }, `lead.qualified` (bus/events/lead.ts).
 */
const ClientAtRisk = DomainEvents['client.at_risk'];
const ClientChurned = DomainEvents['client.churned'];
const LeadQualified = DomainEvents['lead.qualified'];

/** Why no email was drafted to a recipient, or null when one can be. */
function unreachable(r: Recipient | undefined): string | null {
  if (!r) return 'no contact named';
  if (r.optedOut) return `${r.name ?? r.ref} opted out`;
  if (r.archived) return `${r.name ?? r.ref} is archived`;
  if (r.email === null) return `contact ${r.ref} has no email address`;
  return null;
}

function contactLine(c: AccountContact): string {
  return `${c.name} (${c.key})${c.optedOut ? ', opted out' : c.overdue ? ', overdue for a touch' : ''}`;
}

/**
 * `client.at_risk` → a re-engagement email draft to the client's contact (when
 * there is one we may write to) and an alert to #sales with the reason and the
 * account's contacts. The email never tells the client it is "at risk".
 */
export async function onClientAtRisk(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:client.at_risk', ClientAtRisk, ctx.input);
  const recipient = e.contact ? (await resolveRecipients(ctx, [e.contact])).get(e.contact) : undefined;
  const target = recipient?.contactKey ? `contact/${recipient.contactKey}` : `client/${e.client}`;
  // One re-engagement a week at most: a client flagged again while a message to the
  // same person waits, went out or was turned down in the last 7 days gets no second one.
  const prior = recipient?.email ? answeredBy((await priorDrafts(ctx, 'email.send', [target])).get(target), ctx.now - 7 * DAY_MS) : null;
  const why = !e.contact ? 'no contact named' : (unreachable(recipient) ?? (prior ? `a message to ${recipient!.email} was already drafted (${prior.status === 'pending' ? 'waiting for approval' : prior.status})` : null));
  const people = await contactsAtAccount(ctx, e.client);
  const since = e.since !== null && ms(e.since) !== null ? isoDay(ms(e.since)!) : null;
  const actions: PlannedAction[] = [];

  if (why === null && recipient?.email) {
    const hello = firstName(recipient.name) ? `Hi ${firstName(recipient.name)},` : 'Hello,';
    const sign = recipient.owner ? `\n\nBest regards,\n${recipient.owner}` : '\n\nBest regards';
    const email: EmailParams = {
      to: recipient.email,
      subject: `How are things going at ${e.client}?`,
      body:
        `${hello}\n\nI wanted to reach out personally to see how things are going on your side. ` +
        `If anything has not been working the way you expected, I would like to hear about it and put it right.\n\n` +
        `Would you have 15 minutes this week for a quick call? Just reply with a time that suits you.${sign}`,
      related: `client/${e.client}`,
    };
    actions.push({
      actionType: 'email.send',
      params: email,
      preview: clip(`Re-engagement draft to ${recipient.name ?? recipient.email} <${recipient.email}> at ${e.client} (at risk${since ? ` since ${since}` : ''}: ${e.reason})`, 2000),
      target: clip(target, 300),
    });
  }

  const plan = why === null ? `A re-engagement email to ${recipient!.email} is drafted in the approval queue.` : `No re-engagement email drafted: ${why}.`;
  const body = [
    `Why: ${e.reason || 'no reason given'}${since ? ` (since ${since})` : ''}.`,
    plan,
    people.length ? `Contacts at ${e.client} (${people.length}):\n${bullets(people.map((c) => contactLine(c)))}` : `No contact of ${e.client} is on record.`,
  ].join('\n\n');
  const alert: NotifyParams = { kind: 'alert', channel: 'sales', severity: 'warning', title: clip(`Client at risk: ${e.client}`, 300), body: clip(body, 40_000), topic: clip(`client.at_risk:${e.client}`, 200), related: clip(`client/${e.client}`, 300) };
  actions.push({ actionType: 'notify.send', params: alert, preview: clip(`Alert #sales: ${e.client} is at risk (${e.reason})`, 2000), target: clip(`client/${e.client}`, 300) });

  return {
    summary: `${e.client} is at risk: ${e.reason}. ${plan} #sales alerted.`,
    findings: { client: e.client, contact: e.contact, reengagementTo: why === null ? recipient!.email : null, notDrafted: why, accountContacts: people.map((c) => c.key) },
    actions,
    hints: why === null ? [] : [clip(`${e.client}: ${why}; a contact with an email address is needed to re-engage.`, 1000)],
  };
}

/**
 * `lead.qualified` → an alert to the sales lead in #sales and an intro email draft
 * to the lead, unless the address belongs to a contact who opted out.
 */
export async function onLeadQualified(ctx: PlanContext): Promise<Plan> {
  const lead = parseInput('react:lead.qualified', LeadQualified, ctx.input);
  const known = (await resolveRecipients(ctx, [lead.email])).get(lead.email);
  const blocked = known?.optedOut ? `${lead.email} opted out earlier` : known?.archived ? `${lead.email} belongs to an archived contact` : null;
  const who = `${lead.name}${lead.company ? ` (${lead.company})` : ''}`;
  const actions: PlannedAction[] = [];

  if (blocked === null) {
    const hello = firstName(lead.name) ? `Hi ${firstName(lead.name)},` : 'Hello,';
    const email: EmailParams = {
      to: lead.email,
      subject: 'Thanks for getting in touch',
      body:
        `${hello}\n\nThank you for reaching out to us. I would love to learn more about what you are looking for` +
        `${lead.company ? ` at ${lead.company}` : ''} and how we can help.\n\n` +
        `Would you have 20 minutes this week for a short call? Just reply with a time that suits you${lead.phone ? '' : ', or the best number to reach you'}.\n\nBest regards`,
      related: clip(`lead/${lead.email}`, 300),
    };
    actions.push({ actionType: 'email.send', params: email, preview: clip(`Intro email draft to new lead ${lead.name} <${lead.email}>${lead.company ? ` (${lead.company})` : ''}, from ${lead.source}`, 2000), target: clip(`lead/${lead.email}`, 300) });
  }

  const body = [
    `${who} <${lead.email}>${lead.phone ? `, ${lead.phone}` : ''}, from ${lead.source}.`,
    lead.message ? `Their message: "${clip(lead.message, 1000)}"` : 'No message left.',
    known?.contactKey ? `Already a contact: ${known.contactKey}${known.account ? ` at ${known.account}` : ''}.` : 'Not a contact yet.',
    blocked === null ? 'An intro email is drafted in the approval queue.' : `No intro email: ${blocked}.`,
  ].join('\n');
  const alert: NotifyParams = { kind: 'alert', channel: 'sales', severity: 'info', title: clip(`New lead: ${who}`, 300), body, topic: clip(`lead.qualified:${lead.email}`, 200), related: clip(`lead/${lead.email}`, 300) };
  actions.unshift({ actionType: 'notify.send', params: alert, preview: clip(`Alert #sales: new lead ${who} from ${lead.source}`, 2000), target: clip(`lead/${lead.email}`, 300) });

  return {
    summary: `New lead ${who} from ${lead.source}: #sales alerted; ${blocked === null ? 'intro email drafted' : `no intro email (${blocked})`}.`,
    findings: { lead: lead.email, company: lead.company, source: lead.source, existingContact: known?.contactKey ?? null, introDrafted: blocked === null, notDrafted: blocked },
    actions,
    hints: [],
  };
}

/**
 * `client.churned` → an alert to #sales naming the account's contacts still on
 * the engagement clock, so nobody keeps chasing them by accident.
 */
export async function onClientChurned(ctx: PlanContext): Promise<Plan> {
  const e = parseInput('react:client.churned', ClientChurned, ctx.input);
  const people = (await contactsAtAccount(ctx, e.client)).filter((c) => !c.optedOut);
  const body = [
    `Reason: ${e.reason}.`,
    people.length
      ? `${plural(people.length, 'contact')} at ${e.client} ${people.length === 1 ? 'is' : 'are'} still on the engagement clock, and will be touched when due unless archived:\n${bullets(people.map((c) => contactLine(c)))}`
      : `No contact at ${e.client} is on the engagement clock.`,
  ].join('\n\n');
  const alert: NotifyParams = { kind: 'alert', channel: 'sales', severity: 'warning', title: clip(`Client churned: ${e.client}`, 300), body: clip(body, 40_000), topic: clip(`client.churned:${e.client}`, 200), related: clip(`client/${e.client}`, 300) };
  return {
    summary: `${e.client} churned (${e.reason}); #sales alerted, ${plural(people.length, 'contact')} still on the engagement clock.`,
    findings: { client: e.client, reason: e.reason, contactsOnClock: people.map((c) => c.key) },
    actions: [{ actionType: 'notify.send', params: alert, preview: clip(`Alert #sales: ${e.client} churned`, 2000), target: clip(`client/${e.client}`, 300) }],
    hints: people.length ? [clip(`Contacts of churned client ${e.client} are still due for touches: ${people.map((c) => c.key).join(', ')}`, 1000)] : [],
  };
}
