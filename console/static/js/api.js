// The console's one way to the API: the access token in memory only, renewed from the httpOnly refresh cookie.
export const labels = JSON.parse(document.getElementById('labels').textContent);
export const texts = labels.texts;

let accessToken = null;
let renewTimer = null;

export class ApiError extends Error {
  constructor(status, error) {
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.details = error.details;
  }
}

function cookie(name) {
  const found = document.cookie.split('; ').find((part) => part.startsWith(name + '='));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : '';
}

function keep(grant) {
  accessToken = grant.access_token;
  clearTimeout(renewTimer);
  // Renew a minute before the access token expires, so a page left open keeps working.
  renewTimer = setTimeout(renew, Math.max(grant.expires_in - 60, 30) * 1000);
  return grant.user;
}

async function renew() {
  const response = await fetch('/api/v1/auth/browser/refresh', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-TOKEN': cookie('csrf_refresh_token') },
  });
  if (!response.ok) return null;
  return keep(await response.json());
}

export function goToLogin() {
  const next = location.pathname + location.search;
  location.assign('/console/login?next=' + encodeURIComponent(next));
}

// The logged-in account, or off to the login page. Every page but the login starts here.
export async function session() {
  const user = await renew();
  if (user === null) {
    goToLogin();
    return new Promise(() => {}); // the page is leaving for the login
  }
  const who = document.getElementById('who');
  if (who) who.textContent = `${user.display_name}（${labels.roles[user.role] || user.role}）`;
  // The work board, map and dashboards answer admins and supervisors only (the API's 403 otherwise).
  const managing = user.role === 'admin' || user.role === 'supervisor';
  for (const link of document.querySelectorAll('[data-for-managers]')) link.hidden = !managing;
  const logout = document.getElementById('logout');
  if (logout) logout.addEventListener('click', endSession);
  return user;
}

// Where an account starts: party staff work on the party pages, the others on the board.
export function home(user) {
  return user.role === 'party_staff' ? '/console/party' : '/console/';
}

export async function login(username, password) {
  const response = await fetch('/api/v1/auth/browser/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw new ApiError(response.status, (await response.json()).error);
  return keep(await response.json());
}

async function endSession() {
  await fetch('/api/v1/auth/browser/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-TOKEN': cookie('csrf_refresh_token') },
  });
  accessToken = null;
  location.assign('/console/login');
}

function url(path, query) {
  const target = new URL('/api/v1' + path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== '' && value !== null && value !== undefined) target.searchParams.set(key, value);
  }
  return target;
}

async function send(path, { method = 'GET', body, query } = {}, retried = false) {
  const headers = { Authorization: `Bearer ${accessToken}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url(path, query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && !retried) {
    if ((await renew()) === null) {
      goToLogin();
      throw new ApiError(401, (await response.json()).error);
    }
    return send(path, { method, body, query }, true);
  }
  if (!response.ok) {
    const payload = await response.json().catch(() => ({ error: { message: response.statusText } }));
    throw new ApiError(response.status, payload.error);
  }
  return response;
}

export async function api(path, options) {
  const response = await send(path, options);
  return response.status === 204 ? null : response.json();
}

// Every page of a cursor list, up to `max` items.
export async function all(path, query = {}, max = 500) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(path, { query: { ...query, limit: 100, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

// A file from the API (an export, a photo): bytes fetched with the token, handed over as a blob.
export async function blob(path, query) {
  const response = await send(path, { query });
  const disposition = response.headers.get('Content-Disposition') || '';
  const named = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/.exec(disposition);
  const filename = named ? decodeURIComponent(named[1] || named[2]) : path.split('/').pop();
  return { filename, data: await response.blob() };
}

export async function download(path, query) {
  const { filename, data } = await blob(path, query);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(data);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  return filename;
}

export function say(text, kind = 'info') {
  const box = document.getElementById('message');
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = false;
}

export function fail(error) {
  say(`${texts.failed} ${error.message}`, 'error');
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function when(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(document.body.dataset.locale === 'zh' ? 'zh-CN' : 'en', {
    timeZone: 'Asia/Shanghai', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });
}

export function percent(rate) {
  return rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(1)}%`;
}

export function fillSelect(select, options) {
  for (const [value, text] of options) select.append(el('option', { value }, text));
}
