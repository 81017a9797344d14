import { describe, expect, it } from 'vitest';
import type { FileEntry, FileInfo } from './api';
import { describeFile, fileKind, humanError, reasonSentence, syntaxName } from './describe';

const entry = (over: Partial<FileEntry>): FileEntry =>
  ({
    index: 0,
    path: '/x.dcm',
    label: 'x',
    has_pixels: false,
    frame_count: 0,
    rows: 0,
    columns: 0,
    transfer_syntax_uid: '1.2.840.10008.1.2.1',
    modality: 'SR',
    series_description: 'Report',
    support_state: 'metadata_only',
    support_reason: null,
    ...over,
  }) as FileEntry;

describe('describe', () => {
  it('names what a file is', () => {
    expect(fileKind({ modality: 'SR', has_pixels: false })).toBe('A structured report (SR)');
    expect(fileKind({ modality: 'MR', has_pixels: true })).toBe('An MR image');
    expect(fileKind({ modality: 'CT', has_pixels: true })).toBe('A CT image');
    expect(fileKind({ modality: null, has_pixels: false })).toBe('A DICOM file without an image');
  });
  it('turns reason codes into words, never showing the code', () => {
    expect(reasonSentence('pixel_data.truncated')).toBe('the pixel data is truncated');
    expect(reasonSentence('codec.jpeg_xl_missing')).toBe('codec jpeg xl missing');
    expect(humanError('pixel_data.truncated')).toBe('the pixel data is truncated');
    expect(humanError('the pixel data is truncated: 8 of 32 KiB present', 'pixel_decode_failed')).toBe(
      'the pixel data is truncated: 8 of 32 KiB present',
    );
    expect(humanError('', 'pixel_decode_failed')).toBe('pixel decode failed');
  });
  it('shows the transfer syntax by name, from either shape of /info', () => {
    expect(syntaxName({ transfer_syntax: '1.2.840.10008.1.2.1', transfer_syntax_uid: '1.2.840.10008.1.2.1', transfer_syntax_name: 'Explicit VR Little Endian' })).toBe(
      'Explicit VR Little Endian',
    );
    expect(syntaxName({ transfer_syntax: 'Explicit VR Little Endian', transfer_syntax_uid: '1.2.840.10008.1.2.1' })).toBe('Explicit VR Little Endian');
    expect(syntaxName({ transfer_syntax: '1.2.3.4', transfer_syntax_uid: '1.2.3.4' })).toBe('1.2.3.4');
  });
  it('describes a file without pixels and a broken one', () => {
    const info = { transfer_syntax: '1.2.840.10008.1.2.1', transfer_syntax_uid: '1.2.840.10008.1.2.1', transfer_syntax_name: 'Explicit VR Little Endian' } as FileInfo;
    expect(describeFile(entry({}), info, null)).toEqual([
      'A structured report (SR): it has no pixel data to show.',
      'Report · Explicit VR Little Endian',
      'Its tags are on the right.',
    ]);
    const mr = entry({ modality: 'MR', has_pixels: true, rows: 64, columns: 64, support_state: 'unsupported', support_reason: 'pixel_data.truncated', series_description: null });
    expect(describeFile(mr, null, null)[0]).toBe('An MR image whose pixels cannot be shown: the pixel data is truncated.');
    expect(describeFile(mr, null, 'the pixel data is truncated: 8 of 32 KiB present')[0]).toContain('8 of 32 KiB present.');
    expect(describeFile(mr, null, null)[1]).toBe('64 × 64');
  });
});
