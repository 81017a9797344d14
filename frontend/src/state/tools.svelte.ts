/** The pointer tool every viewport uses (the Tools radio group, keys from `TOOLS`). */

import { TOOLS, type Tool } from '../lib/keys';

export class Tools {
  current = $state<Tool>('window');

  select(t: Tool): void {
    this.current = t;
  }

  /** The tool `d` places after `t` in the radio group (arrow keys), wrapping round. */
  static step(t: Tool, d: number): Tool {
    const i = TOOLS.findIndex((x) => x.id === t);
    return TOOLS[(i + d + TOOLS.length) % TOOLS.length].id;
  }
}
