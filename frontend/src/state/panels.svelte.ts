/** The side panels: open or closed, and their widths (the splitters change them). */

export const PANEL_MIN = 180;
export const PANEL_MAX = 640;

export class Panels {
  navOpen = $state(true);
  rightOpen = $state(true);
  navWidth = $state(250);
  rightWidth = $state(340);

  constructor(windowWidth: number) {
    const narrow = windowWidth < 1200;
    this.navWidth = narrow ? 200 : 250;
    this.rightWidth = narrow ? 290 : 340;
  }
}
