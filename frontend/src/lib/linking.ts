/**
 * Linked viewports follow the active one (docs/viewer-ux.md "Link viewports"): the maths of
 * what a follower shows, pure so the layout manager only applies it.
 */

/** The frame a follower shows: the same index, clamped to its own frames. */
export function linkedFrame(activeFrame: number, followerCount: number): number {
  return Math.max(0, Math.min(followerCount - 1, activeFrame));
}

/**
 * The zoom a follower uses so both show the same physical size on screen: screen pixels per
 * millimetre are equal when zoom / spacing is. Without both spacings, the same zoom.
 */
export function linkedZoom(activeZoom: number, activeSpacing: number | null | undefined, followerSpacing: number | null | undefined): number {
  if (!activeSpacing || !followerSpacing || activeSpacing <= 0 || followerSpacing <= 0) return activeZoom;
  return (activeZoom * followerSpacing) / activeSpacing;
}
