/**
 * One resize behaviour for every separator (the panel splitters, the tags table's column
 * grips): drag it with the pointer, or focus it and press ← / → (Shift: a bigger step).
 * `use:resizable={{ value, min, max, onchange }}`; `sign: -1` when dragging right shrinks
 * (a panel on the right). The element should be `role="separator"` with `aria-valuenow`.
 */

export interface ResizeParams {
  value: number;
  min: number;
  max: number;
  onchange: (value: number) => void;
  sign?: 1 | -1;
  step?: number;
  bigStep?: number;
}

export const clampSize = (v: number, min: number, max: number): number => Math.max(min, Math.min(max, v));

/** The size after a key press, or null when the key is not a resize key. */
export function keyResize(p: ResizeParams, key: string, shift: boolean): number | null {
  const d = key === 'ArrowRight' ? 1 : key === 'ArrowLeft' ? -1 : 0;
  if (!d) return null;
  const step = shift ? (p.bigStep ?? 40) : (p.step ?? 10);
  return clampSize(p.value + d * step * (p.sign ?? 1), p.min, p.max);
}

/** The size after dragging `dx` pixels from where the drag started at `base`. */
export function dragResize(p: ResizeParams, base: number, dx: number): number {
  return clampSize(base + dx * (p.sign ?? 1), p.min, p.max);
}

export function resizable(node: HTMLElement, initial: ResizeParams): { update: (p: ResizeParams) => void; destroy: () => void } {
  let p = initial;
  const down = (e: PointerEvent): void => {
    if (e.button !== 0) return;
    e.preventDefault();
    e.stopPropagation();
    node.setPointerCapture(e.pointerId);
    const start = e.clientX;
    const base = p.value;
    const move = (ev: PointerEvent): void => p.onchange(dragResize(p, base, ev.clientX - start));
    const up = (): void => {
      node.removeEventListener('pointermove', move);
      node.removeEventListener('pointerup', up);
      node.removeEventListener('pointercancel', up);
    };
    node.addEventListener('pointermove', move);
    node.addEventListener('pointerup', up);
    node.addEventListener('pointercancel', up);
  };
  const key = (e: KeyboardEvent): void => {
    const v = keyResize(p, e.key, e.shiftKey);
    if (v === null) return;
    e.preventDefault();
    e.stopPropagation();
    p.onchange(v);
  };
  node.addEventListener('pointerdown', down);
  node.addEventListener('keydown', key);
  return {
    update(next: ResizeParams) {
      p = next;
    },
    destroy() {
      node.removeEventListener('pointerdown', down);
      node.removeEventListener('keydown', key);
    },
  };
}
