/**
 * The demo's company: Northwind Automation, a small agency that builds n8n and
 * Make.com automations for other small companies. Everything below is sent to the
 * entities as events at the time it happened, so the actors hold a real history:
 * deals that went quiet, contacts not touched for weeks, builds stuck in review.
 */

const DAY = 24 * 3600_000;

/** One seeded event: `at` is days relative to the start of the demo week (negative: before it). */
export interface SeedEvent {
  at: number;
  kind: string;
  key: string;
  event: { type: string; [k: string]: unknown };
}

const ev = (at: number, kind: string, key: string, event: SeedEvent['event']): SeedEvent => ({ at, kind, key, event });

const iso = (start: number, days: number) => new Date(start + days * DAY).toISOString().slice(0, 10);

/** A clean appraisal order of a client in good standing, as the order entity takes it. */
function order(total: number, fee: number, techFee: number, address: string | null) {
  return {
    type: 'order.receive',
    clientId: 'C-ATLAS',
    paymentMethod: 'bill',
    productCode: 'APPR-1004',
    fee,
    techFee,
    total,
    propertyAddress: address,
    borrower: { name: 'Ana Ruiz', email: 'ana.ruiz@home.example' },
    propertyContact: { name: 'Bo Lane', phone: '555-0100' },
    catalogue: { productCode: 'APPR-1004', fee: 450, techFee: 25, inspection: true },
    client: { id: 'C-ATLAS', active: true, creditLimit: 10_000, outstandingBalance: 2_000, email: 'ap@atlas-insurance.example' },
  };
}

/** The history before the demo week, oldest first (`start` is the week's Monday 06:00 UTC). */
export function history(start: number): SeedEvent[] {
  const deal = (key: string, at: number, title: string, value: number, contact: string | null, owner: string, extra: Record<string, unknown> = {}) =>
    ev(at, 'deal', key, { type: 'deal.create', title, value, ...(contact ? { contact } : {}), owner, ...extra });
  const contact = (key: string, at: number, name: string, email: string | null, account: string, role: string, importance: number, accountValue: number) =>
    ev(at, 'contact', key, { type: 'contact.create', name, ...(email ? { email } : { phone: '555-0142' }), account, role, owner: 'sales', importance, accountValue });
  const touch = (key: string, at: number, activity: 'email' | 'call' | 'meeting') => ev(at, 'contact', key, { type: 'contact.touch', activity, by: 'tony' });
  const ticket = (key: string, at: number, title: string, client: string, contact: string | null, platform: string, value: number, extra: Record<string, unknown> = {}) =>
    ev(at, 'ticket', key, { type: 'ticket.create', title, client, ...(contact ? { clientContact: contact } : {}), platform, value, owner: 'brian', ...extra });
  const events: SeedEvent[] = [
    // Contacts: three of them overdue on the 21-day engagement clock by Monday.
    contact('C-1', -45, 'Dana Park', 'dana@harborlogistics.example', 'Harbor Logistics', 'Operations Director', 4, 180_000),
    contact('C-2', -45, 'Luis Ortega', 'luis@pinecrestdental.example', 'Pinecrest Dental', 'Office Manager', 3, 40_000),
    contact('C-3', -45, 'Priya Shah', 'priya@cornerstonelegal.example', 'Cornerstone Legal', 'Managing Partner', 5, 260_000),
    contact('C-4', -45, 'Tom Becker', 'tom@summitrealty.example', 'Summit Realty', 'Broker', 2, 25_000),
    contact('C-5', -45, 'Mei Chen', 'mei@vertexsoftware.example', 'Vertex Software', 'COO', 5, 310_000),
    contact('C-6', -45, 'Sam Rivera', null, 'Bluebird Bakery', 'Owner', 3, 30_000),
    touch('C-1', -25, 'call'),
    touch('C-3', -28, 'meeting'),
    touch('C-4', -23, 'email'),
    touch('C-6', -40, 'call'),
    touch('C-2', -2, 'email'),
    touch('C-5', -5, 'meeting'),

    // Deals: one idle for ten days past its close date, one at $0, one about to close.
    deal('D-101', -20, 'Invoice processing automation', 18_000, 'dana@harborlogistics.example', 'tony', { expectedCloseDate: iso(start, -2) }),
    ev(-15, 'deal', 'D-101', { type: 'deal.qualify' }),
    ev(-10, 'deal', 'D-101', { type: 'deal.propose' }),
    deal('D-102', -14, 'CRM sync with n8n', 7_500, 'luis@pinecrestdental.example', 'tony', { expectedCloseDate: iso(start, 3) }),
    ev(-9, 'deal', 'D-102', { type: 'deal.qualify' }),
    ev(-5, 'deal', 'D-102', { type: 'deal.propose' }),
    ev(-2, 'deal', 'D-102', { type: 'deal.negotiate' }),
    deal('D-103', -12, 'Lead routing for agents', 0, 'tom@summitrealty.example', 'tony'),
    deal('D-104', -16, 'Contract drafting assistant', 24_000, 'priya@cornerstonelegal.example', 'tony'),
    ev(-8, 'deal', 'D-104', { type: 'deal.qualify' }),
    deal('D-105', -6, 'Order intake on Make.com', 5_200, null, 'tony'),
    ev(-1, 'deal', 'D-105', { type: 'deal.qualify' }),
    ev(-1, 'deal', 'D-105', { type: 'deal.propose' }),
    deal('D-106', -21, 'Support triage with Claude', 31_000, 'mei@vertexsoftware.example', 'tony', { expectedCloseDate: iso(start, 2) }),
    ev(-18, 'deal', 'D-106', { type: 'deal.qualify' }),
    ev(-11, 'deal', 'D-106', { type: 'deal.propose' }),
    ev(-3, 'deal', 'D-106', { type: 'deal.negotiate' }),
    deal('D-107', -9, 'Inventory alerts', 4_800, null, 'tony'),

    // A bid out to a prospect, waiting for an answer.
    ev(-6, 'bid', 'B-1', { type: 'bid.create', title: 'Quarterly reporting automation', client: 'Atlas Insurance', submitter: { name: 'Jo Atlas', email: 'jo@atlas-insurance.example' }, amount: 14_500, followUpEveryDays: 3, maxFollowUps: 4 }),
    ev(-4, 'bid', 'B-1', { type: 'bid.submit' }),

    // Orders: one clean, one with a pricing error the agent may fix, one missing its address.
    ev(-1, 'order', 'O-501', order(475, 450, 25, '12 Elm St, Springfield')),
    ev(-1, 'order', 'O-502', order(425, 450, -25, '40 Oak Ave, Springfield')),
    ev(-0.5, 'order', 'O-503', order(475, 450, 25, null)),

    // Builds: one stuck in building, one never analysed, one waiting for review, one
    // closed last week, one client gone quiet after two failed deployments, one approved.
    ticket('T-201', -9, 'Appointment reminders', 'Pinecrest Dental', 'luis@pinecrestdental.example', 'n8n', 6_000, { dealId: 'D-090' }),
    ev(-8, 'ticket', 'T-201', { type: 'ticket.analyze' }),
    ev(-5, 'ticket', 'T-201', { type: 'ticket.start_build' }),
    ticket('T-202', -2, 'Client intake form', 'Summit Realty', 'tom@summitrealty.example', 'make', 3_500),
    ticket('T-203', -8, 'Quote generator', 'Bluebird Bakery', null, 'make', 4_200, { reviewer: 'rev@northwind.example' }),
    ev(-7, 'ticket', 'T-203', { type: 'ticket.analyze' }),
    ev(-6, 'ticket', 'T-203', { type: 'ticket.start_build' }),
    ev(-3, 'ticket', 'T-203', { type: 'ticket.submit_review' }),
    ticket('T-204', -30, 'Invoice OCR', 'Atlas Insurance', 'jo@atlas-insurance.example', 'n8n', 9_000),
    ev(-29, 'ticket', 'T-204', { type: 'ticket.analyze' }),
    ev(-27, 'ticket', 'T-204', { type: 'ticket.start_build' }),
    ev(-20, 'ticket', 'T-204', { type: 'ticket.submit_review' }),
    ev(-19, 'ticket', 'T-204', { type: 'ticket.approve', by: 'brian' }),
    ev(-18, 'ticket', 'T-204', { type: 'ticket.deploy', ok: true, url: 'https://n8n.atlas-insurance.example/workflow/17' }),
    ev(-4, 'ticket', 'T-204', { type: 'ticket.close' }),
    ticket('T-205', -60, 'Lead scoring', 'Redwood Outfitters', 'ops@redwoodoutfitters.example', 'make', 5_500),
    ev(-59, 'ticket', 'T-205', { type: 'ticket.analyze' }),
    ev(-58, 'ticket', 'T-205', { type: 'ticket.start_build' }),
    ev(-52, 'ticket', 'T-205', { type: 'ticket.submit_review' }),
    ev(-51, 'ticket', 'T-205', { type: 'ticket.approve', by: 'brian' }),
    ev(-50, 'ticket', 'T-205', { type: 'ticket.deploy', ok: false, error: 'Make.com scenario quota exceeded' }),
    ev(-49, 'ticket', 'T-205', { type: 'ticket.deploy', ok: false, error: 'webhook URL rejected by the client firewall' }),
    ev(-45, 'ticket', 'T-205', { type: 'ticket.deploy', ok: true, url: 'https://eu1.make.com/scenario/88' }),
    ticket('T-206', -12, 'Email parser', 'Cornerstone Legal', 'priya@cornerstonelegal.example', 'n8n', 7_800, { reviewer: 'rev@northwind.example' }),
    ev(-11, 'ticket', 'T-206', { type: 'ticket.analyze' }),
    ev(-10, 'ticket', 'T-206', { type: 'ticket.start_build' }),
    ev(-3, 'ticket', 'T-206', { type: 'ticket.submit_review' }),
    ev(-1, 'ticket', 'T-206', { type: 'ticket.approve', by: 'brian' }),
  ];
  return events.sort((a, b) => a.at - b.at);
}

/** Something that happens during the demo week (hours from Monday 06:00 UTC), and how to say it. */
export interface WeekEvent {
  hour: number;
  say: string;
  send?: SeedEvent;
  /** An operator's action: approve or reject the oldest pending approvals, or run a schedule now. */
  operator?: { approve?: number; reject?: number; runNow?: string };
}

/** The week's events: a deal is won, a build deploys, another fails, an operator works the queue. */
export function week(): WeekEvent[] {
  const h = (day: number, hour: number) => day * 24 + hour - 6;
  return [
    { hour: h(1, 10), say: 'Vertex Software signs: deal D-106 is won', send: ev(0, 'deal', 'D-106', { type: 'deal.win' }) },
    { hour: h(2, 9), say: 'Ana (operator) works the approval queue: approves the two oldest, rejects the next', operator: { approve: 2, reject: 1 } },
    { hour: h(2, 14), say: 'The email parser for Cornerstone Legal deploys', send: ev(0, 'ticket', 'T-206', { type: 'ticket.deploy', ok: true, url: 'https://n8n.cornerstonelegal.example/workflow/4' }) },
    { hour: h(3, 10), say: 'The quote generator passes review', send: ev(0, 'ticket', 'T-203', { type: 'ticket.approve', by: 'rev@northwind.example' }) },
    { hour: h(3, 11), say: "The quote generator's deployment fails", send: ev(0, 'ticket', 'T-203', { type: 'ticket.deploy', ok: false, error: 'Make.com connection to the bakery POS timed out' }) },
    { hour: h(4, 16), say: 'Ana asks for the monthly client reports now (Run Now)', operator: { runNow: 'monthly-client-reports' } },
  ];
}
