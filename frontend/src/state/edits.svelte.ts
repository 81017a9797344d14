/**
 * ROI edits the server accepted since the last export. The server keeps them only in memory,
 * so while there are any, closing or reloading the tab asks first (`beforeunload`).
 */

import type { Api } from '../lib/api';

export class UnexportedEdits {
  /** Accepted edits since the last successful export. */
  count = $state(0);

  mark(): void {
    this.count++;
  }

  /** Export every file's ROIs as the EMBED CSV (a download); clears the count when it worked. */
  async export(api: Api): Promise<void> {
    const before = this.count;
    const { blob, filename } = await api.exportCsv();
    saveBlob(blob, filename);
    // edits made while the export was on its way are not in it
    this.count = Math.max(0, this.count - before);
  }

  /** Ask before the page goes away with unexported edits; returns the remover. */
  guard(win: Window): () => void {
    const onBeforeUnload = (e: BeforeUnloadEvent): void => {
      if (!shouldWarn(this.count)) return;
      e.preventDefault();
      e.returnValue = ''; // older browsers need a value to show the prompt
    };
    win.addEventListener('beforeunload', onBeforeUnload);
    return () => win.removeEventListener('beforeunload', onBeforeUnload);
  }
}

/** Whether leaving the page now would lose edits. */
export function shouldWarn(count: number): boolean {
  return count > 0;
}

/** Offer a blob as a download named `filename`. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
