/**
 * The session with the server: the access token, the connection state, the file list as the
 * scan grows (polled), presets, version and uptime. One instance per page.
 */

import { Api, type ConnectionState, type FileEntry, type Preset } from '../lib/api';
import { takeToken } from '../lib/token';

export interface ScanState {
  complete: boolean;
  scanned: number;
  skipped: number;
  filtered: number;
  tunnelled: boolean;
  tunnelHost: string | null;
}

export class Session {
  conn = $state<ConnectionState>('ok');
  files = $state.raw<FileEntry[]>([]);
  scan = $state.raw<ScanState>({ complete: false, scanned: 0, skipped: 0, filtered: 0, tunnelled: false, tunnelHost: null });
  serverStart = $state(0);
  version = $state('');
  presets = $state.raw<Preset[]>([]);
  now = $state(Date.now());
  /** The first `/api/files` answer has arrived. */
  firstAnswer = $state(false);
  readonly byIndex = $derived(new Map(this.files.map((f) => [f.index, f])));
  readonly api: Api;
  /** Called after each answer that brought files (the first one: open a file). */
  onfiles: (files: FileEntry[]) => void = () => {};

  private nextSince = 0;
  private timer = 0;

  constructor(token: string | null) {
    this.api = new Api(token, (s) => (this.conn = s));
  }

  /** The session of this page: the token from the URL fragment (then hidden) or the tab's storage. */
  static fromLocation(): Session {
    return new Session(
      takeToken({
        hash: location.hash,
        href: location.href,
        storage: sessionStorage,
        replaceUrl: (u) => history.replaceState(history.state, '', u),
      }),
    );
  }

  file(index: number | null): FileEntry | null {
    return index === null ? null : (this.byIndex.get(index) ?? null);
  }

  /** Start: one request first (without a valid token it is the only one that fails), then poll. */
  start(): () => void {
    this.api
      .health()
      .then((h) => {
        this.version = h.viewer.version;
        this.serverStart = h.server_start_ms;
        this.api
          .presets()
          .then((p) => (this.presets = p))
          .catch(() => undefined);
        void this.poll();
      })
      .catch(() => {
        if (this.conn === 'stopped') this.timer = window.setTimeout(() => void this.poll(), 3000);
      });
    const clock = setInterval(() => (this.now = Date.now()), 1000);
    return () => {
      clearInterval(clock);
      clearTimeout(this.timer);
    };
  }

  async poll(): Promise<void> {
    clearTimeout(this.timer);
    try {
      if (!this.scan.complete || !this.firstAnswer) {
        const r = await this.api.files(this.nextSince);
        if (r.files.length) {
          this.files = [...this.files, ...r.files];
          this.nextSince = Math.max(this.nextSince, ...r.files.map((f) => f.index + 1));
        }
        this.scan = {
          complete: r.scan_complete,
          scanned: r.scanned,
          skipped: r.skipped,
          filtered: r.filtered,
          tunnelled: r.tunnelled,
          tunnelHost: r.tunnel_host,
        };
        this.serverStart = r.server_start_ms;
        this.firstAnswer = true;
        if (r.files.length) this.onfiles(r.files);
      } else {
        this.serverStart = (await this.api.health()).server_start_ms;
      }
    } catch {
      // the Api reported the state (stopped, unauthorized, restarted)
    }
    if (this.conn === 'unauthorized' || this.conn === 'restarted') return;
    this.timer = window.setTimeout(() => void this.poll(), this.conn === 'stopped' ? 3000 : this.scan.complete ? 5000 : 700);
  }
}

/** Uptime as `1h 2m`, `3m 4s` or `5s`. */
export function uptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}
