import { afterAll, describe, expect, it } from 'vitest';
import { createScriptRunner, type JsonValue, type ScriptInput, type ScriptResult } from '../../sandbox/index.ts';

const runner = createScriptRunner({ processes: 2 });
afterAll(() => runner.close());

async function template(name: string, params: Record<string, unknown>, inputs: ScriptInput[]): Promise<{ output: unknown; artifacts: ScriptResult['artifacts'] }> {
  const result = await runner.run({ kind: 'template', template: name, params, inputs });
  if (result.status !== 'succeeded') throw new Error(`${name} failed: ${result.reason.code} ${result.reason.message}`);
  return { output: result.output, artifacts: result.artifacts };
}

const CONTACTS_CSV =
  '\uFEFFFirst Name,Last Name,Email,Phone,Company,Notes\r\n' +
  'Ada,Lovelace,ada@analytical.io,(555) 010-0001,"Analytical Engines, Ltd","Met at ""ExpoTech"""\r\n' +
  'Grace,Hopper,grace@navy.mil,555-010-0002,US Navy,"Prefers email;\r\nno calls before 9"\r\n' +
  'Charles,Babbage,charles@analytical.io,+1 555 010 0003,"Analytical Engines, Ltd",\r\n' +
  '\r\n' +
  'ADA,LOVELACE, Ada@Analytical.IO ,,Analytical Engines,duplicate by email\r\n' +
  'Alan,Turing,alan@bletchley.uk,1-555-010-0002,Bletchley Park,duplicate by phone\r\n' +
  'Broken,Row,broken@example.com,555-010-0009\r\n' +
  'Katherine,Johnson,katherine@nasa.gov,555.010.0004,NASA,"ok"\r\n' +
  'Bad,"Quote"s,bad@example.com,,X,\r\n' +
  'Mary,"Jackson,mary@nasa.gov,555-010-0005,NASA,unterminated';

const row = (first: string, last: string, email: string, phone: string, company: string, notes: string) => ({
  'First Name': first,
  'Last Name': last,
  Email: email,
  Phone: phone,
  Company: company,
  Notes: notes,
});

describe('parse_csv', () => {
  it('parses RFC 4180 quoting and CRLF, dedupes contacts and reports malformed rows by line', async () => {
    const { output, artifacts } = await template('parse_csv', { emitCsv: true }, [{ kind: 'csv', name: 'contacts.csv', text: CONTACTS_CSV }]);
    expect(output).toEqual({
      columns: ['First Name', 'Last Name', 'Email', 'Phone', 'Company', 'Notes'],
      rows: [
        row('Ada', 'Lovelace', 'ada@analytical.io', '(555) 010-0001', 'Analytical Engines, Ltd', 'Met at "ExpoTech"'),
        row('Grace', 'Hopper', 'grace@navy.mil', '555-010-0002', 'US Navy', 'Prefers email;\r\nno calls before 9'),
        row('Charles', 'Babbage', 'charles@analytical.io', '+1 555 010 0003', 'Analytical Engines, Ltd', ''),
        row('Katherine', 'Johnson', 'katherine@nasa.gov', '555.010.0004', 'NASA', 'ok'),
      ],
      rowCount: 4,
      malformed: [
        { line: 9, reason: 'expected 6 fields, got 4' },
        { line: 11, reason: 'unexpected text after a closing quote' },
        { line: 12, reason: 'unterminated quoted field' },
      ],
      duplicates: [
        { line: 7, duplicateOf: 2, matchedOn: 'email', key: 'ada@analytical.io' },
        { line: 8, duplicateOf: 3, matchedOn: 'phone', key: '+15550100002' },
      ],
      emailColumn: 'Email',
      phoneColumn: 'Phone',
    });
    expect(artifacts).toEqual([
      {
        name: 'contacts.clean.csv',
        mediaType: 'text/csv',
        text:
          'First Name,Last Name,Email,Phone,Company,Notes\r\n' +
          'Ada,Lovelace,ada@analytical.io,(555) 010-0001,"Analytical Engines, Ltd","Met at ""ExpoTech"""\r\n' +
          'Grace,Hopper,grace@navy.mil,555-010-0002,US Navy,"Prefers email;\r\nno calls before 9"\r\n' +
          'Charles,Babbage,charles@analytical.io,+1 555 010 0003,"Analytical Engines, Ltd",\r\n' +
          'Katherine,Johnson,katherine@nasa.gov,555.010.0004,NASA,ok\r\n',
      },
    ]);
  });

  it('reads headerless files with another delimiter', async () => {
    const { output } = await template('parse_csv', { header: false, delimiter: ';' }, [{ kind: 'csv', name: 'x.csv', text: 'a;b\n"x;y";2\n' }]);
    expect(output).toEqual({ columns: [], rows: [['a', 'b'], ['x;y', '2']], rowCount: 2, malformed: [], duplicates: [], emailColumn: null, phoneColumn: null });
  });
});

const ORDERS_CSV = [
  'Order ID,Order Date,Customer,Total,Currency,Status',
  '1001,2024-03-05,Acme Corp,"$1,234.50",USD,Paid',
  '1002,03/07/2024,Globex,99.999,usd,shipped',
  '1003,"Mar 9, 2024",Initech,(25.00),,Refunded',
  '1002,2024-03-10,Dup Co,10.00,USD,paid',
  '1004,2024-02-30,Bad Date,10.00,USD,paid',
  '1005,2024-03-11,Hooli,ten dollars,USD,lost',
  ',2024-03-12,No Id,5.00,USD,pending',
  '1006,2024-03-12T23:30:00-05:00,Umbrella,€12.00,EUR,Cancelled',
  '1007,2024-03-13,"Stark, Inc",7,USD',
].join('\r\n');

describe('normalize_orders_export', () => {
  it('normalises a CSV export and reports every reason a row fails', async () => {
    const { output } = await template('normalize_orders_export', {}, [{ kind: 'csv', name: 'orders.csv', text: ORDERS_CSV }]);
    expect(output).toEqual({
      columns: { id: 'Order ID', date: 'Order Date', customer: 'Customer', total: 'Total', currency: 'Currency', status: 'Status' },
      orders: [
        { line: 2, id: '1001', date: '2024-03-05', customer: 'Acme Corp', totalCents: 123450, currency: 'USD', status: 'paid' },
        { line: 3, id: '1002', date: '2024-03-07', customer: 'Globex', totalCents: 10000, currency: 'USD', status: 'fulfilled' },
        { line: 4, id: '1003', date: '2024-03-09', customer: 'Initech', totalCents: -2500, currency: 'USD', status: 'refunded' },
        { line: 9, id: '1006', date: '2024-03-13', customer: 'Umbrella', totalCents: 1200, currency: 'EUR', status: 'cancelled' },
      ],
      failed: [
        { line: 5, id: '1002', reasons: ['id: duplicate of line 3'] },
        { line: 6, id: '1004', reasons: ['date: cannot read "2024-02-30"'] },
        { line: 7, id: '1005', reasons: ['total: cannot read "ten dollars"', 'status: unknown value "lost"'] },
        { line: 8, id: null, reasons: ['id: missing'] },
        { line: 10, id: null, reasons: ['expected 6 fields, got 5'] },
      ],
      summary: { rows: 9, normalized: 4, failed: 5, totalCentsByCurrency: { USD: 130950, EUR: 1200 } },
    });
  });

  it('reads JSON exports with day-first dates, decimal commas and a custom status map', async () => {
    const orders: JsonValue = {
      orders: [
        { name: '#A-1', created_at: '05/03/2024', email: 'ann@example.com', total_price: '1.234,50', currency: 'eur', financial_status: 'Authorized' },
        { name: '#A-2', created_at: '31/03/2024', email: 'bo@example.com', total_price: 12, currency: 'EUR', financial_status: 'awaiting shipment' },
        { name: '#A-3', created_at: '2024-04-01', total_price: '3,00', financial_status: 'partially_paid' },
        'not an order',
      ],
    };
    const params = { dateOrder: 'DMY', decimalSeparator: ',', defaultCurrency: 'EUR', statusMap: { 'Awaiting Shipment': 'paid' } };
    const { output } = await template('normalize_orders_export', params, [{ kind: 'json', name: 'orders.json', value: orders }]);
    expect(output).toEqual({
      columns: { id: 'name', date: 'created_at', customer: 'email', total: 'total_price', currency: 'currency', status: 'financial_status' },
      orders: [
        { line: 1, id: '#A-1', date: '2024-03-05', customer: 'ann@example.com', totalCents: 123450, currency: 'EUR', status: 'paid' },
        { line: 2, id: '#A-2', date: '2024-03-31', customer: 'bo@example.com', totalCents: 1200, currency: 'EUR', status: 'paid' },
      ],
      failed: [
        { line: 3, id: '#A-3', reasons: ['status: unknown value "partially_paid"'] },
        { line: 4, id: null, reasons: ['not an object'] },
      ],
      summary: { rows: 4, normalized: 2, failed: 2, totalCentsByCurrency: { EUR: 124650 } },
    });
  });
});

const BIDS: JsonValue = {
  bids: [
    { vendor: 'Acme Paving', price: '$48,500.00', leadTime: '21 days', score: 82, notes: 'Includes permits' },
    { vendor: 'Blue Ridge Asphalt', price: 45250, leadTime: '3 weeks', score: 75 },
    { vendor: 'Citywide Construction', price: '$52,000', leadTime: 14, score: 91, notes: 'Fastest | bonded' },
    { vendor: 'Delta Works', price: '€40,000', score: 88 },
    { price: '$39,000' },
    { vendor: 'Echo Builders', price: 'TBD' },
    { vendor: 'Foxtrot LLC', price: '$45,250.00', score: 80 },
  ],
};

const FOXTROT = { vendor: 'Foxtrot LLC', priceCents: 4525000, leadTimeDays: null, score: 80, deltaCents: 0, deltaPct: 0, notes: null };
const BLUE = { vendor: 'Blue Ridge Asphalt', priceCents: 4525000, leadTimeDays: 21, score: 75, deltaCents: 0, deltaPct: 0, notes: null };
const ACME = { vendor: 'Acme Paving', priceCents: 4850000, leadTimeDays: 21, score: 82, deltaCents: 325000, deltaPct: 7.2, notes: 'Includes permits' };
const CITY = { vendor: 'Citywide Construction', priceCents: 5200000, leadTimeDays: 14, score: 91, deltaCents: 675000, deltaPct: 14.9, notes: 'Fastest | bonded' };
const BID_SUMMARY = {
  currency: 'USD',
  lowestPrice: { vendor: 'Foxtrot LLC', priceCents: 4525000 },
  bestScore: { vendor: 'Citywide Construction', score: 91 },
  invalid: [
    { line: 4, vendor: 'Delta Works', reason: 'price is in EUR, not USD' },
    { line: 5, vendor: null, reason: 'vendor: missing' },
    { line: 6, vendor: 'Echo Builders', reason: 'price: cannot read "TBD"' },
  ],
};

describe('bid_comparison_table', () => {
  it('ranks by price, breaking ties by score, with a Markdown table', async () => {
    const { output, artifacts } = await template('bid_comparison_table', {}, [{ kind: 'json', name: 'bids.json', value: BIDS }]);
    expect(output).toEqual({
      sortBy: 'price',
      rows: [FOXTROT, BLUE, ACME, CITY].map((r, i) => ({ rank: i + 1, ...r })),
      ...BID_SUMMARY,
    });
    expect(artifacts).toEqual([
      {
        name: 'bid-comparison.md',
        mediaType: 'text/markdown',
        text: [
          '# Bid comparison',
          '',
          '| Rank | Vendor | Price | vs. lowest | Lead time (days) | Score | Notes |',
          '| ---: | --- | ---: | ---: | ---: | ---: | --- |',
          '| 1 | Foxtrot LLC | $45,250.00 | — |  | 80 |  |',
          '| 2 | Blue Ridge Asphalt | $45,250.00 | — | 21 | 75 |  |',
          '| 3 | Acme Paving | $48,500.00 | +$3,250.00 (+7.2%) | 21 | 82 | Includes permits |',
          '| 4 | Citywide Construction | $52,000.00 | +$6,750.00 (+14.9%) | 14 | 91 | Fastest \\| bonded |',
          '',
        ].join('\n'),
      },
    ]);
  });

  it('ranks by score with a CSV table', async () => {
    const { output, artifacts } = await template('bid_comparison_table', { sortBy: 'score', format: 'csv' }, [{ kind: 'json', name: 'bids.json', value: BIDS }]);
    expect(output).toEqual({ sortBy: 'score', rows: [CITY, ACME, FOXTROT, BLUE].map((r, i) => ({ rank: i + 1, ...r })), ...BID_SUMMARY });
    expect(artifacts).toEqual([
      {
        name: 'bid-comparison.csv',
        mediaType: 'text/csv',
        text:
          'rank,vendor,price,currency,delta,delta_pct,lead_time_days,score,notes\r\n' +
          '1,Citywide Construction,52000.00,USD,6750.00,14.9,14,91,Fastest | bonded\r\n' +
          '2,Acme Paving,48500.00,USD,3250.00,7.2,21,82,Includes permits\r\n' +
          '3,Foxtrot LLC,45250.00,USD,0.00,0,,80,\r\n' +
          '4,Blue Ridge Asphalt,45250.00,USD,0.00,0,21,75,\r\n',
      },
    ]);
  });
});
