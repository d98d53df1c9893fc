// The admin token lives in session storage: it is gone when the tab closes, and never in a cookie
// that other sites' requests could carry.
const KEY = 'kinto.adminToken';

export function readAdminToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function saveAdminToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetAdminToken(): void {
  sessionStorage.removeItem(KEY);
}
