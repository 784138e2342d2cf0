import type { CatalogueEntry, ClientFacts, Contact, PaymentMethod } from './events.ts';

/**
 * The order validation rules (policy P0.5): pricing, credit for bill orders,
 * requirements. Pure functions over the order and the facts that came with its
 * events; each failure names the field and the rule, and says whether the
 * machine may fix it by itself (a safe pricing correction from the catalogue).
 */

/** The rules, by name. */
export const RULES = {
  // pricing
  feePositive: 'fee_positive',
  totalAtLeastFee: 'total_at_least_fee',
  techFeeNonNegative: 'tech_fee_non_negative',
  inCatalogue: 'product_in_catalogue',
  feeMatchesCatalogue: 'fee_matches_catalogue',
  techFeeMatchesCatalogue: 'tech_fee_matches_catalogue',
  totalIsFeePlusTechFee: 'total_is_fee_plus_tech_fee',
  // credit (bill orders)
  clientKnown: 'client_known',
  clientActive: 'client_active',
  creditAvailable: 'credit_available',
  // requirements
  required: 'required',
  requiredForInspection: 'required_for_inspection',
  emailOrPhone: 'email_or_phone',
  emailFormat: 'email_format',
} as const;
/** A rule's name. */
export type Rule = (typeof RULES)[keyof typeof RULES];

/** One failed rule. */
export interface ValidationFailure {
  /** The order field at fault (`borrower.email` for a nested one). */
  field: string;
  rule: Rule;
  message: string;
  /** The machine may correct it from the catalogue (through the gated `order.autofix`). */
  fixable: boolean;
}

/** A correction the machine proposes or applied. */
export interface Fix {
  field: 'techFee' | 'total';
  from: number;
  to: number;
  rule: Rule;
}

/** What validation looks at: the order's fields and the facts that came with its events. */
export interface OrderFacts {
  clientId: string | null;
  paymentMethod: PaymentMethod | null;
  productCode: string | null;
  fee: number;
  techFee: number;
  total: number;
  propertyAddress: string | null;
  borrower: Contact | null;
  propertyContact: Contact | null;
  inspection: boolean;
  catalogue: CatalogueEntry | null;
  client: ClientFacts | null;
}

/** Amounts compared in cents, so 0.1 + 0.2 equals 0.3. */
export function cents(amount: number): number {
  return Math.round(amount * 100);
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A plausible email address (the shape, not deliverability). */
export function isEmail(s: string | null | undefined): s is string {
  return typeof s === 'string' && s.length <= 320 && EMAIL.test(s.trim());
}

function blank(s: string | null | undefined): boolean {
  return typeof s !== 'string' || s.trim() === '';
}

function money(n: number): string {
  return n.toFixed(2);
}

/** The catalogue entry, when there is one for the order's product. */
function entryFor(o: OrderFacts): CatalogueEntry | null {
  return o.catalogue && o.catalogue.productCode === o.productCode ? o.catalogue : null;
}

/**
 * Pricing: fee > 0, total ≥ fee, techFee ≥ 0, and the price of the product
 * catalogue (fee and techFee equal the catalogue's, total = fee + techFee).
 * Safely fixable: a tech fee that is negative or not the catalogue's, and a total
 * that is not fee + techFee while the fee is the catalogue's.
 */
export function validatePricing(o: OrderFacts): ValidationFailure[] {
  const out: ValidationFailure[] = [];
  const entry = entryFor(o);
  const feeRight = entry !== null && o.fee > 0 && cents(o.fee) === cents(entry.fee);
  const fixTechFee = entry !== null;
  const fixTotal = feeRight;
  if (!(o.fee > 0)) out.push({ field: 'fee', rule: RULES.feePositive, message: `fee ${money(o.fee)} must be greater than 0`, fixable: false });
  if (cents(o.total) < cents(o.fee)) {
    out.push({ field: 'total', rule: RULES.totalAtLeastFee, message: `total ${money(o.total)} is less than the fee ${money(o.fee)}`, fixable: fixTotal });
  }
  if (o.techFee < 0) {
    out.push({ field: 'techFee', rule: RULES.techFeeNonNegative, message: `tech fee ${money(o.techFee)} is negative`, fixable: fixTechFee });
  }
  if (!entry) {
    const message = o.catalogue
      ? `the catalogue entry given is for product ${o.catalogue.productCode}, not ${o.productCode ?? '(none)'}`
      : `product ${o.productCode ?? '(none)'} is not in the catalogue`;
    out.push({ field: 'productCode', rule: RULES.inCatalogue, message, fixable: false });
  } else {
    if (cents(o.fee) !== cents(entry.fee)) {
      out.push({ field: 'fee', rule: RULES.feeMatchesCatalogue, message: `fee ${money(o.fee)} is not the catalogue fee ${money(entry.fee)}`, fixable: false });
    }
    if (cents(o.techFee) !== cents(entry.techFee)) {
      out.push({
        field: 'techFee',
        rule: RULES.techFeeMatchesCatalogue,
        message: `tech fee ${money(o.techFee)} is not the catalogue tech fee ${money(entry.techFee)}`,
        fixable: fixTechFee,
      });
    }
  }
  if (cents(o.total) !== cents(o.fee) + cents(o.techFee)) {
    out.push({
      field: 'total',
      rule: RULES.totalIsFeePlusTechFee,
      message: `total ${money(o.total)} is not fee ${money(o.fee)} + tech fee ${money(o.techFee)}`,
      fixable: fixTotal,
    });
  }
  return out;
}

/** Credit, for bill orders only: a known, active client with credit available for the total. */
export function validateCredit(o: OrderFacts): ValidationFailure[] {
  if (o.paymentMethod !== 'bill') return [];
  const c = o.client;
  if (!c || c.id !== o.clientId) {
    const message = c ? `the client facts given are for ${c.id}, not ${o.clientId ?? '(none)'}` : `client ${o.clientId ?? '(none)'} is unknown`;
    return [{ field: 'clientId', rule: RULES.clientKnown, message, fixable: false }];
  }
  const out: ValidationFailure[] = [];
  if (!c.active) out.push({ field: 'clientId', rule: RULES.clientActive, message: `client ${c.id} is not active`, fixable: false });
  const available = cents(c.creditLimit) - cents(c.outstandingBalance);
  if (available < cents(o.total)) {
    out.push({
      field: 'total',
      rule: RULES.creditAvailable,
      message: `available credit ${money(available / 100)} (limit ${money(c.creditLimit)} − outstanding ${money(c.outstandingBalance)}) is less than the total ${money(o.total)}`,
      fixable: false,
    });
  }
  return out;
}

/** Requirements: a property address, a borrower to reach, and a property contact when the product needs an inspection. */
export function validateRequirements(o: OrderFacts): ValidationFailure[] {
  const out: ValidationFailure[] = [];
  if (blank(o.propertyAddress)) out.push({ field: 'propertyAddress', rule: RULES.required, message: 'the property address is missing', fixable: false });
  out.push(...contactRules('borrower', o.borrower, RULES.required, 'the borrower'));
  if (o.inspection) {
    out.push(...contactRules('propertyContact', o.propertyContact, RULES.requiredForInspection, 'the property contact (the product needs an inspection)'));
  }
  return out;
}

function contactRules(field: 'borrower' | 'propertyContact', c: Contact | null, missingRule: Rule, who: string): ValidationFailure[] {
  if (!c) return [{ field, rule: missingRule, message: `${who} is missing`, fixable: false }];
  const out: ValidationFailure[] = [];
  if (blank(c.name)) out.push({ field: `${field}.name`, rule: RULES.required, message: `${who} has no name`, fixable: false });
  if (blank(c.email) && blank(c.phone)) {
    out.push({ field, rule: RULES.emailOrPhone, message: `${who} has neither an email nor a phone`, fixable: false });
  }
  if (!blank(c.email) && !isEmail(c.email)) {
    out.push({ field: `${field}.email`, rule: RULES.emailFormat, message: `${who}'s email ${JSON.stringify(c.email)} is not an email address`, fixable: false });
  }
  return out;
}

/** Every rule, in order: pricing, credit, requirements. */
export function validateOrder(o: OrderFacts): ValidationFailure[] {
  return [...validatePricing(o), ...validateCredit(o), ...validateRequirements(o)];
}

/**
 * The corrections that clear `failures`, when every failure is safely fixable:
 * the catalogue's tech fee, and total = fee + techFee. Empty when there is
 * nothing to fix or anything is not fixable (the order then waits for an amend).
 */
export function planFixes(o: OrderFacts, failures: ValidationFailure[]): Fix[] {
  if (failures.length === 0 || !failures.every((f) => f.fixable)) return [];
  const entry = entryFor(o);
  if (!entry) return [];
  const fixes: Fix[] = [];
  let techFee = o.techFee;
  const techFailure = failures.find((f) => f.field === 'techFee');
  if (techFailure) {
    techFee = entry.techFee;
    fixes.push({ field: 'techFee', from: o.techFee, to: techFee, rule: techFailure.rule });
  }
  const total = (cents(o.fee) + cents(techFee)) / 100;
  if (cents(o.total) !== cents(total)) {
    const totalFailure = failures.find((f) => f.field === 'total');
    fixes.push({ field: 'total', from: o.total, to: total, rule: totalFailure?.rule ?? RULES.totalIsFeePlusTechFee });
  }
  return fixes;
}
