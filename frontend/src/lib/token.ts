/**
 * The access token arrives in the launch URL's fragment (`#token=…`), which never reaches server
 * logs or Referer headers. We keep it in `sessionStorage` (per tab, gone when the tab closes) and
 * take it out of the address bar so it is not bookmarked or shared by accident.
 */

const KEY = 'dcmview.token';

export interface TokenEnv {
  hash: string;
  href: string;
  storage: Pick<Storage, 'getItem' | 'setItem'>;
  replaceUrl: (url: string) => void;
}

/** Parse `#token=…` (possibly among other `&`-separated fragment fields). */
export function tokenFromHash(hash: string): string | null {
  const h = hash.startsWith('#') ? hash.slice(1) : hash;
  if (!h) return null;
  const params = new URLSearchParams(h);
  const t = params.get('token');
  return t ? t : null;
}

/** The address without the token field of its fragment (other fragment fields kept). */
export function stripToken(href: string): string {
  const i = href.indexOf('#');
  if (i < 0) return href;
  const params = new URLSearchParams(href.slice(i + 1));
  params.delete('token');
  const rest = params.toString();
  return href.slice(0, i) + (rest ? '#' + rest : '');
}

/** Take the token from the fragment (storing it) or from storage; null when there is none. */
export function takeToken(env: TokenEnv): string | null {
  const fromHash = tokenFromHash(env.hash);
  if (fromHash) {
    try {
      env.storage.setItem(KEY, fromHash);
    } catch {
      // storage disabled: the token still works for this page's life
    }
    env.replaceUrl(stripToken(env.href));
    return fromHash;
  }
  try {
    return env.storage.getItem(KEY);
  } catch {
    return null;
  }
}
