import { describe, expect, it } from 'vitest';
import { chestWallSide, commonExtent, extentOf, hangStudy, hangView, needsFlip, priorStudy, studyToHang, viewFromText, viewOf, wallOnScreen, type HangFile } from './hanging';
import { apply, imageToScreenMatrix } from './viewport';

const file = (index: number, study: string, date: string, over: Partial<HangFile> = {}): HangFile => ({
  index,
  modality: 'MG',
  patient_id: 'P1',
  study_instance_uid: study,
  study_date: date,
  series_description: null,
  label: `f${index}.dcm`,
  ...over,
});

describe('hanging protocol', () => {
  it('reads the view from ViewPosition/Laterality, else the description', () => {
    expect(viewOf(file(0, 's', '', { view_position: 'CC', laterality: 'R' }))).toEqual({ side: 'R', view: 'CC' });
    expect(viewOf(file(0, 's', '', { view_position: 'MLO', laterality: 'L' }))).toEqual({ side: 'L', view: 'MLO' });
    expect(viewOf(file(0, 's', '', { series_description: 'DBT L-MLO' }))).toEqual({ side: 'L', view: 'MLO' });
    expect(viewFromText('right_cc')).toEqual({ side: 'R', view: 'CC' });
    expect(viewFromText('RMLO')).toEqual({ side: 'R', view: 'MLO' });
    expect(viewFromText('CCTV')).toBeNull();
    expect(viewOf(file(0, 's', '', { modality: 'CT' }))).toBeNull();
  });
  it('places R CC, L CC above R MLO, L MLO; a missing view leaves its cell empty', () => {
    const files = [
      file(0, 's1', '20240101', { view_position: 'MLO', laterality: 'L' }),
      file(1, 's1', '20240101', { view_position: 'CC', laterality: 'L' }),
      file(2, 's1', '20240101', { view_position: 'CC', laterality: 'R' }),
      file(3, 's0', '20220101', { view_position: 'CC', laterality: 'R' }),
      file(4, 's0', '20220101', { view_position: 'CC', laterality: 'L' }),
      file(5, 's2', '20250101', { view_position: 'CC', laterality: 'L', patient_id: 'P2' }),
    ];
    expect(studyToHang(files, 1)).toBe('s1');
    expect(hangStudy(files, 's1')).toEqual([2, 1, null, 0]);
    expect(priorStudy(files, 's1')).toBe('s0');
    expect(priorStudy(files, 's0')).toBeNull();
    expect(priorStudy(files, 's2')).toBeNull();
  });
  it('finds the chest wall as the side with more tissue', () => {
    // 4×40, tissue (100) in the right half
    const data = Array.from({ length: 160 }, (_, i) => (i % 40 >= 20 ? 100 : 0));
    expect(chestWallSide(data, 4, 40)).toBe('right');
    expect(chestWallSide(data, 4, 40, 1, true)).toBe('left');
    expect(needsFlip('right', wallOnScreen('L'))).toBe(true);
    expect(needsFlip('right', wallOnScreen('R'))).toBe(false);
  });
  it('puts the chest wall at the centre edge of the cell, all cells at one physical scale', () => {
    const canvas = { width: 400, height: 500 };
    const a = { rows: 1000, columns: 800, spacing: [0.1, 0.1] }; // 80 × 100 mm
    const b = { rows: 500, columns: 400, spacing: [0.2, 0.2] }; // 80 × 100 mm
    const extent = commonExtent([extentOf(a.rows, a.columns, a.spacing), extentOf(b.rows, b.columns, b.spacing)]);
    expect(extent).toEqual({ width: 80, height: 100 });
    // R view, wall already at the image's right: not flipped, right column at the cell's right edge
    const va = hangView({ name: 'R CC', wall: 'right', extent, columnSpacing: 0.1 }, a, canvas, false);
    const ma = imageToScreenMatrix(va, canvas);
    expect(apply(ma, { x: 800, y: 0 })).toEqual({ x: 400, y: 0 });
    // L view, wall at the image's right: flipped, image column `columns` at the cell's left edge
    const vb = hangView({ name: 'L CC', wall: 'left', extent, columnSpacing: 0.2 }, b, canvas, true);
    const mb = imageToScreenMatrix(vb, canvas);
    const p = apply(mb, { x: 400, y: 0 });
    expect(p.x).toBeCloseTo(0);
    expect(p.y).toBeCloseTo(0);
    // same screen pixels per mm: 10 mm across is the same length in both
    const mm10a = apply(ma, { x: 100, y: 0 }).x - apply(ma, { x: 0, y: 0 }).x;
    const mm10b = apply(mb, { x: 0, y: 0 }).x - apply(mb, { x: 50, y: 0 }).x;
    expect(mm10a).toBeCloseTo(50);
    expect(mm10b).toBeCloseTo(50);
  });
});
