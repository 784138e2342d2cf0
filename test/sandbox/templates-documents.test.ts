import { deflateRawSync, deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createScriptRunner, type ScriptResult } from '../../sandbox/index.ts';

const runner = createScriptRunner({ processes: 2 });
afterAll(() => runner.close());

const file = (name: string, bytes: Buffer) => ({ kind: 'file' as const, name, base64: bytes.toString('base64') });
const run = (template: string, bytes: Buffer, params: Record<string, unknown> = {}): Promise<ScriptResult> =>
  runner.run({ kind: 'template', template, params, inputs: [file('doc', bytes)] });
async function ok(template: string, bytes: Buffer, params: Record<string, unknown> = {}): Promise<any> {
  const result = await run(template, bytes, params);
  if (result.status !== 'succeeded') throw new Error(`${template} failed: ${result.reason.code} ${result.reason.message}`);
  return result.output;
}
async function failed(template: string, bytes: Buffer): Promise<string> {
  const result = await run(template, bytes);
  expect(result.status).toBe('failed');
  if (result.status !== 'failed') return '';
  expect(result.reason.code).toBe('SANDBOX_SCRIPT_ERROR');
  return result.reason.message;
}

/** A minimal ZIP writer: stored or deflated entries, central directory, EOCD. */
function zip(entries: Record<string, string>, deflate = true): Buffer {
  const locals: Buffer[] = [], central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(entries)) {
    const raw = Buffer.from(text, 'utf8'), data = deflate ? deflateRawSync(raw) : raw, nameBuf = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(raw.length, 22); local.writeUInt16LE(nameBuf.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0); cd.writeUInt16LE(20, 4); cd.writeUInt16LE(20, 6); cd.writeUInt16LE(deflate ? 8 : 0, 10);
    cd.writeUInt32LE(data.length, 20); cd.writeUInt32LE(raw.length, 24); cd.writeUInt16LE(nameBuf.length, 28); cd.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, data); central.push(cd, nameBuf);
    offset += 30 + nameBuf.length + data.length;
  }
  const cdBuf = Buffer.concat(central), eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(central.length / 2, 8); eocd.writeUInt16LE(central.length / 2, 10);
  eocd.writeUInt32LE(cdBuf.length, 12); eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cdBuf, eocd]);
}

const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
const p = (inner: string) => `<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>${inner}</w:p>`;
const r = (text: string) => `<w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">${text}</w:t></w:r>`;
const cell = (text: string) => `<w:tc><w:tcPr/>${p(r(text))}</w:tc>`;
const DOCUMENT = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document ${W}><w:body>
${p(r('Quote for ') + r('Acme &amp; Sons &#8212; caf&#xE9; “ok”'))}
${p(`<w:r><w:t>Name:</w:t><w:tab/><w:t>Jane</w:t><w:br/><w:t>Second line</w:t></w:r>`)}
${p(`<w:r><w:delText>deleted</w:delText><w:instrText> PAGE </w:instrText><w:t>kept</w:t></w:r>`)}
<w:tbl><w:tblPr/><w:tr>${cell('Item')}${cell('Qty')}</w:tr><w:tr>${cell('Bolts')}${cell('12')}</w:tr></w:tbl>
${p('')}
${p(r('The end.'))}
<w:sectPr/></w:body></w:document>`;
const DOCX = zip({
  '[Content_Types].xml': '<Types/>',
  'word/document.xml': DOCUMENT,
  'word/header1.xml': `<w:hdr ${W}>${p(r('ACME CONFIDENTIAL'))}</w:hdr>`,
  'word/footer1.xml': `<w:ftr ${W}>${p(r('Page footer'))}</w:ftr>`,
});

describe('parse_docx_to_text', () => {
  it('extracts paragraphs, tabs, breaks, tables, entities, headers and footers', async () => {
    const output = await ok('parse_docx_to_text', DOCX);
    expect(output.text).toBe(
      ['Quote for Acme & Sons — café “ok”', 'Name:\tJane', 'Second line', 'kept', 'Item\tQty', 'Bolts\t12', '', 'The end.'].join('\n'),
    );
    expect(output.paragraphs).toBe(6);
    expect(output.words).toBe(19);
    expect(output.headers).toEqual(['ACME CONFIDENTIAL']);
    expect(output.footers).toEqual(['Page footer']);
  });

  it('reads stored (uncompressed) entries and a large deflated document', async () => {
    expect((await ok('parse_docx_to_text', zip({ 'word/document.xml': DOCUMENT }, false))).text).toContain('Bolts\t12');
    const many = Array.from({ length: 3000 }, (_, i) => p(r(`Paragraph ${i} with some repeated text ${i % 7}`))).join('');
    const output = await ok('parse_docx_to_text', zip({ 'word/document.xml': `<w:document ${W}><w:body>${many}</w:body></w:document>` }));
    expect(output.paragraphs).toBe(3000);
    expect(output.text.split('\n')[2999]).toBe('Paragraph 2999 with some repeated text 3');
  });

  it('fails with a clear reason on malformed input', async () => {
    expect(await failed('parse_docx_to_text', Buffer.from('hello, not a zip at all'))).toMatch(/not a readable DOCX: not a ZIP archive/);
    expect(await failed('parse_docx_to_text', DOCX.subarray(0, DOCX.length - 40))).toMatch(/not a readable DOCX: ZIP archive is truncated/);
    expect(await failed('parse_docx_to_text', zip({ 'other.txt': 'x' }))).toMatch(/no word\/document.xml/);
    // Corrupt the deflated document: the inflate reports it instead of crashing.
    const broken = Buffer.from(DOCX);
    const at = broken.indexOf('word/document.xml') + 'word/document.xml'.length;
    for (let i = at + 5; i < at + 60; i++) broken[i] = 0xff;
    expect(await failed('parse_docx_to_text', broken)).toMatch(/ZIP entry word\/document.xml: /);
    const text = await runner.run({ kind: 'template', template: 'parse_docx_to_text', params: {}, inputs: [{ kind: 'file', name: 'd', text: 'x' }] });
    expect(text.status === 'failed' && text.reason.message).toMatch(/has no bytes/);
  });
});

/** Builds a PDF with an xref table from object bodies (1-based numbers). */
function pdf(bodies: (string | Buffer)[], trailerExtra = ''): Buffer {
  const header = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1');
  const parts: Buffer[] = [header];
  const offsets: number[] = [];
  let size = header.length;
  bodies.forEach((body, i) => {
    offsets.push(size);
    const chunk = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'), Buffer.from('\nendobj\n')]);
    parts.push(chunk);
    size += chunk.length;
  });
  const xref = `xref\n0 ${bodies.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${bodies.length + 1} /Root 1 0 R ${trailerExtra}>>\nstartxref\n${size}\n%%EOF\n`));
  return Buffer.concat(parts);
}
const stream = (content: string | Buffer, flate: boolean) => {
  const raw = Buffer.isBuffer(content) ? content : Buffer.from(content, 'latin1');
  const data = flate ? deflateSync(raw) : raw;
  return Buffer.concat([Buffer.from(`<< /Length ${data.length}${flate ? ' /Filter /FlateDecode' : ''} >>\nstream\n`), data, Buffer.from('\nendstream')]);
};

const PAGE1 = [
  'BT /F1 12 Tf 72 720 Td (Invoice \\(draft\\) No. 42) Tj',
  '0 -14 Td [(Tot) 20 (al:) -300 (\\044100.00)] TJ',
  'T* (Caf\\351 \\223quoted\\224 \\\nend) Tj',
  "(Next line via quote) '",
  '0 -14 Td <48656C6C6F> Tj ET',
].join('\n');
const PAGE2 = 'BT /F2 11 Tf 1 0 0 1 72 700 Tm <00010002> Tj 1 0 0 1 72 680 Tm <0003> Tj ET';
const CMAP = [
  '/CIDInit /ProcSet findresource begin 12 dict begin begincmap',
  '1 begincodespacerange <0000> <FFFF> endcodespacerange',
  '1 beginbfchar <0003> <00E9> endbfchar',
  '1 beginbfrange <0001> <0002> <0048> endbfrange',
  'endcmap CMapName currentdict /CMap defineresource pop end end',
].join('\n');
const PDF = pdf([
  '<< /Type /Catalog /Pages 2 0 R >>',
  '<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 /Resources << /Font << /F1 7 0 R /F2 8 0 R >> >> >>',
  '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>',
  stream(PAGE1, true),
  '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [6 0 R] >>',
  stream(PAGE2, false),
  '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  '<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Subset /Encoding /Identity-H /ToUnicode 9 0 R >>',
  stream(CMAP, true),
]);

describe('parse_pdf_to_text', () => {
  it('extracts text from Flate and unfiltered content streams, WinAnsi and ToUnicode fonts', async () => {
    const output = await ok('parse_pdf_to_text', PDF);
    expect(output.pages).toEqual([
      { page: 1, text: 'Invoice (draft) No. 42\nTotal: $100.00\nCafé “quoted” end\nNext line via quote\nHello' },
      { page: 2, text: 'HI\né' },
    ]);
    expect(output.text).toBe(`${output.pages[0].text}\n\n${output.pages[1].text}`);
    expect(output.warnings).toEqual([]);
  });

  it('warns about CID fonts without ToUnicode and image-only pages', async () => {
    const output = await ok(
      'parse_pdf_to_text',
      pdf([
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>',
        '<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 7 0 R >> >> >>',
        stream('BT /F1 10 Tf <0001> Tj ET', true),
        '<< /Type /Page /Parent 2 0 R /Contents 6 0 R /Resources << /XObject << /Im1 8 0 R >> >> >>',
        stream('q 612 0 0 792 0 0 cm /Im1 Do Q', true),
        '<< /Type /Font /Subtype /Type0 /BaseFont /NoMap /Encoding /Identity-H >>',
        stream('xx', false),
      ]),
    );
    expect(output.text).toBe('');
    expect(output.warnings.join('\n')).toMatch(/CID \(Type0\) font without a ToUnicode map/);
    expect(output.warnings.join('\n')).toMatch(/page 2: no text, only images/);
    expect(output.warnings.join('\n')).toMatch(/no text found/);
  });

  it('fails with a clear reason on encrypted, non-PDF and truncated input', async () => {
    const encrypted = pdf(['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [] /Count 0 >>', '<< /Filter /Standard /V 2 /R 3 >>'], '/Encrypt 3 0 R /ID [<01> <01>] ');
    expect(await failed('parse_pdf_to_text', encrypted)).toMatch(/encrypted PDF: decryption is not supported/);
    expect(await failed('parse_pdf_to_text', Buffer.from('PK\x03\x04 not a pdf'))).toMatch(/not a PDF/);
    expect(await failed('parse_pdf_to_text', PDF.subarray(0, 40))).toMatch(/no pages found/);
    expect(await failed('parse_pdf_to_text', DOCX)).toMatch(/not a PDF/);
  });

  it('reports a damaged content stream as a warning, not a crash', async () => {
    const cut = PDF.indexOf('stream\n') + 7;
    const damaged = Buffer.from(PDF);
    for (let i = cut + 2; i < cut + 20; i++) damaged[i] = 0xff;
    const output = await ok('parse_pdf_to_text', damaged);
    expect(output.warnings.join('\n')).toMatch(/page 1: could not decompress/);
    expect(output.pages[1].text).toBe('HI\né');
  });
});
