/**
 * Stats-only regions of one viewport (the Ellipse tool): never saved with the ROIs nor in the
 * EMBED CSV. An ellipse belongs to the plane it was drawn on (`planeKey`) and is shown only there.
 */

import type { Box } from '../lib/roi';

export interface EllipseRegion {
  /** The bounding box in image coordinates. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** `ViewportState.planeKey` of the plane it was drawn on. */
  plane: string;
}

export class Regions {
  ellipse = $state.raw<EllipseRegion | null>(null);
  /** The ellipse being drawn. */
  draft = $state.raw<Pick<Box, 'x0' | 'y0' | 'x1' | 'y1'> | null>(null);

  clear(): void {
    this.ellipse = null;
    this.draft = null;
  }
}
