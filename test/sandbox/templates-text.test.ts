import { afterAll, describe, expect, it } from 'vitest';
import { createScriptRunner, type ScriptInput, type ScriptResult } from '../../sandbox/index.ts';

const runner = createScriptRunner({ processes: 2 });
afterAll(() => runner.close());

async function template(name: string, params: Record<string, unknown>, inputs: ScriptInput[]): Promise<{ output: unknown; artifacts: ScriptResult['artifacts'] }> {
  const result = await runner.run({ kind: 'template', template: name, params, inputs });
  if (result.status !== 'succeeded') throw new Error(`${name} failed: ${result.reason.code} ${result.reason.message}`);
  return { output: result.output, artifacts: result.artifacts };
}

const contact = (fields: Partial<Record<'name' | 'email' | 'title' | 'company', string>> & { phones?: string[]; sources: string[] }) => ({
  name: null,
  email: null,
  title: null,
  company: null,
  phones: [],
  ...fields,
});

const EMAIL = [
  'From: "Doe, Jane" <Jane.Doe@Acme.com>',
  'To: Bob Smith <bob@globex.com>, purchasing@globex.com',
  'Cc: "Carla Ruiz" <carla.ruiz@initech.io>,',
  '  Dan Wu <dan.wu@initech.io>',
  'Subject: Re: Q3 pricing',
  '',
  'Hi Bob,',
  '',
  'Please loop in our controller, Erin Park <erin.park@acme.com>, for invoicing. You can also reach support@acme.com.',
  '',
  'Best regards,',
  'Jane Doe',
  'Purchasing Manager | Acme Corp',
  'Mobile: +1 (555) 010-2000',
  'T: 555.010.3000 | F: 555.010.3001',
  'www.acme.com',
  '',
  'On Tue, Jan 5, 2024 at 10:00 AM Bob Smith <bob@globex.com> wrote:',
  '> Thanks,',
  '> Bob',
  '',
  '--',
  'Frank Lee',
  'VP of Sales, Globex Corporation',
  'frank.lee@globex.com',
  '(555) 010-4000 ext. 12',
].join('\r\n');

describe('extract_contacts_from_text_or_email', () => {
  it('reads headers, signatures and the body of an email', async () => {
    const { output } = await template('extract_contacts_from_text_or_email', {}, [{ kind: 'text', name: 'mail.eml', text: EMAIL }]);
    expect(output).toEqual({
      contacts: [
        contact({
          name: 'Jane Doe',
          email: 'jane.doe@acme.com',
          phones: ['+15550102000', '+15550103000'],
          title: 'Purchasing Manager',
          company: 'Acme Corp',
          sources: ['from', 'signature'],
        }),
        contact({ name: 'Bob Smith', email: 'bob@globex.com', sources: ['to', 'body'] }),
        contact({ email: 'purchasing@globex.com', sources: ['to'] }),
        contact({ name: 'Carla Ruiz', email: 'carla.ruiz@initech.io', sources: ['cc'] }),
        contact({ name: 'Dan Wu', email: 'dan.wu@initech.io', sources: ['cc'] }),
        contact({
          name: 'Frank Lee',
          email: 'frank.lee@globex.com',
          phones: ['+15550104000'],
          title: 'VP of Sales',
          company: 'Globex Corporation',
          sources: ['signature'],
        }),
        contact({ name: 'Erin Park', email: 'erin.park@acme.com', sources: ['body'] }),
        contact({ email: 'support@acme.com', sources: ['body'] }),
      ],
    });
  });

  it('reads contact lines in free text', async () => {
    const text = [
      'Met these folks at the trade show:',
      '',
      'Maria Garcia - Director of Procurement, Initrode Inc. maria.garcia@initrode.com, cell 555 010 7777',
      '* Tom Baker <tom@bakersupply.com>',
      'Questions go to help@tradeshow.org.',
    ].join('\n');
    const { output } = await template('extract_contacts_from_text_or_email', {}, [{ kind: 'file', name: 'notes.txt', text }]);
    expect(output).toEqual({
      contacts: [
        contact({
          name: 'Maria Garcia',
          email: 'maria.garcia@initrode.com',
          phones: ['+15550107777'],
          title: 'Director of Procurement',
          company: 'Initrode Inc.',
          sources: ['body'],
        }),
        contact({ name: 'Tom Baker', email: 'tom@bakersupply.com', sources: ['body'] }),
        contact({ email: 'help@tradeshow.org', sources: ['body'] }),
      ],
    });
  });
});

const ENGAGEMENT_CSV = [
  'Name,Email,Owner,Last Touch',
  'Ann Lee,ann@a.com,Sam,2024-03-01',
  'Ben Ortiz,ben@b.com,Sam,2024-02-01',
  'Cy Young,cy@c.com,Kim,',
  'Di Patel,di@d.com,Kim,03/20/2024',
  'Ed Kim,ed@e.com,,2024-01-15',
  'Fay Wong,fay@f.com,Sam,2024-04-01',
  'Gus Hale,gus@g.com,Kim,not a date',
  'Hal Ford,hal@h.com,Kim,2024-02-29,extra',
].join('\n');

describe('engagement_compliance_report', () => {
  it('applies the 21-day rule as of the given date', async () => {
    const { output, artifacts } = await template('engagement_compliance_report', { asOf: '2024-03-22', worstCount: 3 }, [
      { kind: 'csv', name: 'contacts.csv', text: ENGAGEMENT_CSV },
    ]);
    const ann = { line: 2, name: 'Ann Lee', email: 'ann@a.com', owner: 'Sam', lastTouch: '2024-03-01', daysSince: 21, overdueDays: 0, compliant: true };
    const ben = { line: 3, name: 'Ben Ortiz', email: 'ben@b.com', owner: 'Sam', lastTouch: '2024-02-01', daysSince: 50, overdueDays: 29, compliant: false };
    const cy = { line: 4, name: 'Cy Young', email: 'cy@c.com', owner: 'Kim', lastTouch: null, daysSince: null, overdueDays: null, compliant: false };
    const di = { line: 5, name: 'Di Patel', email: 'di@d.com', owner: 'Kim', lastTouch: '2024-03-20', daysSince: 2, overdueDays: 0, compliant: true };
    const ed = { line: 6, name: 'Ed Kim', email: 'ed@e.com', owner: null, lastTouch: '2024-01-15', daysSince: 67, overdueDays: 46, compliant: false };
    expect(output).toEqual({
      asOf: '2024-03-22',
      thresholdDays: 21,
      total: 5,
      compliant: 2,
      nonCompliant: 3,
      neverTouched: 1,
      compliancePct: 40,
      contacts: [ann, ben, cy, di, ed],
      worstOffenders: [cy, ed, ben],
      byOwner: [
        { owner: '(unassigned)', total: 1, compliant: 0, compliancePct: 0 },
        { owner: 'Kim', total: 2, compliant: 1, compliancePct: 50 },
        { owner: 'Sam', total: 2, compliant: 1, compliancePct: 50 },
      ],
      invalid: [
        { line: 7, reason: 'last touch 2024-04-01 is after asOf 2024-03-22' },
        { line: 8, reason: 'last touch: cannot read "not a date"' },
        { line: 9, reason: 'expected 4 fields, got 5' },
      ],
    });
    expect(artifacts).toEqual([
      {
        name: 'engagement-report-2024-03-22.md',
        mediaType: 'text/markdown',
        text: [
          '# Engagement compliance as of 2024-03-22',
          '',
          'Rule: every contact touched within 21 days.',
          '',
          '- Contacts: 5',
          '- Compliant: 2 (40%)',
          '- Overdue: 3',
          '',
          '## Worst offenders',
          '',
          '| Contact | Owner | Last touch | Days since | Days overdue |',
          '| --- | --- | --- | ---: | ---: |',
          '| Cy Young | Kim | never |  | never touched |',
          '| Ed Kim |  | 2024-01-15 | 67 | 46 |',
          '| Ben Ortiz | Sam | 2024-02-01 | 50 | 29 |',
          '',
        ].join('\n'),
      },
    ]);
  });

  it('refuses an asOf that is not a date', async () => {
    const result = await runner.run({ kind: 'template', template: 'engagement_compliance_report', params: { asOf: 'today' } });
    expect(result).toMatchObject({ status: 'failed', reason: { code: 'SANDBOX_BAD_PARAMS' } });
  });
});

const INVOICE = [
  'ACME SUPPLY CO.',
  'Invoice #INV-2024-0042',
  'Date: 03/15/2024        Terms: Net 30',
  'Phone: 555-010-1234',
  '',
  'Description                  Qty   Unit Price    Amount',
  'Widget A (blue)               2      $10.00      $20.00',
  'Bolts 3/8in                 100       $0.25      $25.00',
  'Consulting services      10 hrs     $150.00   $1,500.00',
  'Gadget B                    3 @      $12.50      $40.00',
  'Setup fee                                       $75.00',
  '',
  'Subtotal:                                    $1,660.00',
  'Tax (8.25%):                                   $136.95',
  'Shipping:                                       $25.00',
  'Discount:                                      -$50.00',
  'TOTAL DUE:                                   $1,771.95',
  'Late fee 1.5% per month after due date: $10.00',
].join('\n');

const item = (line: number, description: string, quantity: number, unitPriceCents: number, amountCents: number, amountMatches = true) => ({
  line,
  description,
  quantity,
  unitPriceCents,
  amountCents,
  amountMatches,
});

describe('invoice_line_item_extractor', () => {
  it('extracts line items and totals and checks the arithmetic', async () => {
    const { output } = await template('invoice_line_item_extractor', {}, [{ kind: 'text', name: 'invoice.txt', text: INVOICE }]);
    expect(output).toEqual({
      currency: 'USD',
      lineItems: [
        item(7, 'Widget A (blue)', 2, 1000, 2000),
        item(8, 'Bolts 3/8in', 100, 25, 2500),
        item(9, 'Consulting services', 10, 15000, 150000),
        item(10, 'Gadget B', 3, 1250, 4000, false),
        item(11, 'Setup fee', 1, 7500, 7500),
      ],
      totals: { subtotalCents: 166000, taxCents: 13695, shippingCents: 2500, discountCents: 5000, totalCents: 177195 },
      checks: { lineItemsSumCents: 166000, computedTotalCents: 177195, subtotalMatches: true, totalMatches: true },
      issues: [
        { line: 10, message: 'Gadget B: 3 × $12.50 = $37.50, not $40.00' },
        { line: 18, message: 'amount after the totals ignored: Late fee 1.5% per month after due date: $10.00' },
      ],
    });
  });

  it('reads decimal commas and flags a wrong total', async () => {
    const text = [
      'Rechnung / Invoice 77',
      'Beratung            1   €1.000,00   €1.000,00',
      'Lizenz x2           2     €250,00     €500,00',
      'Subtotal                         €1.500,00',
      'VAT (19%)                          €285,00',
      'Total                            €1.800,00',
    ].join('\r\n');
    const { output } = await template('invoice_line_item_extractor', { decimalSeparator: ',' }, [{ kind: 'file', name: 'rechnung.txt', text }]);
    expect(output).toEqual({
      currency: 'EUR',
      lineItems: [item(2, 'Beratung', 1, 100000, 100000), item(3, 'Lizenz x2', 2, 25000, 50000)],
      totals: { subtotalCents: 150000, taxCents: 28500, shippingCents: null, discountCents: null, totalCents: 180000 },
      checks: { lineItemsSumCents: 150000, computedTotalCents: 178500, subtotalMatches: true, totalMatches: false },
      issues: [{ line: 0, message: 'total €1,800.00 differs from the computed €1,785.00' }],
    });
  });
});
