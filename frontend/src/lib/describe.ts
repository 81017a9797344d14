/**
 * Words for a file the viewer cannot show as an image: what it is (from its modality), why its
 * pixels are not shown (a sentence for each stable `support_reason`), and the transfer syntax
 * by name. The server's own `error` sentences are shown as they are; codes never are.
 */

import type { FileEntry, FileInfo } from './api';

const KINDS: Record<string, string> = {
  SR: 'A structured report (SR)',
  DOC: 'An encapsulated document',
  PR: 'A presentation state',
  KO: 'A key object selection',
  SEG: 'A segmentation (SEG)',
  RTSTRUCT: 'An RT structure set',
  RTPLAN: 'An RT plan',
  RTDOSE: 'An RT dose',
  REG: 'A spatial registration',
  AU: 'An audio recording',
  ECG: 'An electrocardiogram waveform',
};

/** What the file is, as the start of a sentence: "A structured report (SR)", "An MR image". */
export function fileKind(f: Pick<FileEntry, 'modality' | 'has_pixels'>): string {
  const m = (f.modality ?? '').toUpperCase();
  if (KINDS[m]) return KINDS[m];
  if (!m) return f.has_pixels ? 'An image' : 'A DICOM file without an image';
  return `${/^[AEFHILMNORSX]/.test(m) ? 'An' : 'A'} ${m} ${f.has_pixels ? 'image' : 'object'}`;
}

const REASONS: Record<string, string> = {
  'pixel_data.truncated': 'the pixel data is truncated',
  'pixel_data.missing': 'the file has no pixel data',
  'transfer_syntax.not_supported': 'its transfer syntax is not supported',
  'transfer_syntax.unknown': 'its transfer syntax is unknown',
  'photometric.not_supported': 'its photometric interpretation is not supported',
};

/** A sentence for a stable `support_reason` code; an unknown code is spelled out in words. */
export function reasonSentence(code: string | null): string {
  if (!code) return 'the server cannot decode it';
  return REASONS[code] ?? code.replace(/[._]+/g, ' ').trim();
}

/** Whether a string is a DICOM UID (digits and dots). */
const isUid = (s: string): boolean => /^[0-9]+(\.[0-9]+)+$/.test(s);

/**
 * The transfer syntax's readable name: `transfer_syntax_name`, else `transfer_syntax` when it is
 * a name (servers before the UID/name split sent the name there), else the UID.
 */
export function syntaxName(info: Pick<FileInfo, 'transfer_syntax' | 'transfer_syntax_uid'> & { transfer_syntax_name?: string | null }): string {
  if (info.transfer_syntax_name) return info.transfer_syntax_name;
  if (info.transfer_syntax && !isUid(info.transfer_syntax)) return info.transfer_syntax;
  return info.transfer_syntax_uid || info.transfer_syntax || '';
}

/** A sentence shown for an error: the server's text, never a bare snake_case/dotted code. */
export function humanError(message: string, code = ''): string {
  const m = message.trim();
  if (m && !/^[a-z0-9]+([._][a-z0-9]+)+$/.test(m)) return m;
  return reasonSentence(m || code || null);
}

/** The lines that say what a file without a shown image is, for the viewport. */
export function describeFile(f: FileEntry, info: FileInfo | null, problem: string | null): string[] {
  const kind = fileKind(f);
  const lines: string[] = [];
  if (!f.has_pixels || f.support_state === 'metadata_only') lines.push(`${kind}: it has no pixel data to show.`);
  else lines.push(`${kind} whose pixels cannot be shown: ${problem ?? reasonSentence(f.support_reason)}.`);
  const facts = [
    f.series_description,
    f.rows && f.columns && f.has_pixels ? `${f.columns} × ${f.rows}` : null,
    info ? syntaxName(info) : null,
  ].filter(Boolean);
  if (facts.length) lines.push(facts.join(' · '));
  lines.push('Its tags are on the right.');
  return lines;
}
