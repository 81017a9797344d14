import { describe, expect, it } from 'vitest';
import { stripToken, takeToken, tokenFromHash } from './token';

function memory(): Storage {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
  } as Storage;
}

describe('token', () => {
  it('reads and strips #token=', () => {
    expect(tokenFromHash('#token=abc-_9')).toBe('abc-_9');
    expect(tokenFromHash('#x=1&token=t')).toBe('t');
    expect(tokenFromHash('')).toBeNull();
    expect(stripToken('http://h/p/#token=abc')).toBe('http://h/p/');
    expect(stripToken('http://h/#x=1&token=abc')).toBe('http://h/#x=1');
  });
  it('stores the fragment token, cleans the address bar, and falls back to storage', () => {
    const storage = memory();
    let replaced = '';
    const env = { hash: '#token=T1', href: 'http://127.0.0.1:9/#token=T1', storage, replaceUrl: (u: string) => (replaced = u) };
    expect(takeToken(env)).toBe('T1');
    expect(replaced).toBe('http://127.0.0.1:9/');
    expect(takeToken({ ...env, hash: '', href: 'http://127.0.0.1:9/' })).toBe('T1');
    expect(takeToken({ ...env, hash: '', storage: memory() })).toBeNull();
  });
});
