// The work board: tickets in the caller's view with the API's filters, live counts, and the allowed actions.
import { buttons } from './actions.js';
import { all, api, el, fail, fillSelect, home, labels, session, texts, when } from './api.js';

const REFRESH_SECONDS = 30;
const user = await session();
if (home(user) !== location.pathname) location.replace(home(user));
const form = document.getElementById('filters');
const body = document.querySelector('#tickets tbody');
const more = document.getElementById('more');
const managing = user.role === 'admin' || user.role === 'supervisor';
let cursor = null;

function query() {
  const filters = {};
  for (const [key, value] of new FormData(form).entries()) if (value !== '') filters[key] = value;
  return filters;
}

function deadline(ticket) {
  const due = ticket.deadlines.due_at || ticket.deadlines.accept_due_at || ticket.deadlines.resolve_due_at;
  const flags = [];
  if (ticket.overdue) flags.push(el('span', { class: 'tag bad' }, texts.overdue));
  else if (ticket.warned) flags.push(el('span', { class: 'tag warn' }, texts.warned));
  if (ticket.urge_count) flags.push(el('span', { class: 'tag' }, `${texts.urged}×${ticket.urge_count}`));
  return el('td', {}, when(due), ...flags);
}

function row(ticket) {
  const tr = el(
    'tr',
    { 'data-ticket-id': ticket.id, 'data-status': ticket.status },
    el('td', {}, el('a', { href: `/console/tickets/${ticket.id}` }, ticket.no)),
    el('td', {}, ticket.category ? ticket.category.name : ''),
    el('td', { class: 'text' }, ticket.description),
    el('td', {}, ticket.grid ? ticket.grid.name : ''),
    el('td', { class: 'status' }, el('span', { class: `status ${ticket.status}` }, labels.statuses[ticket.status])),
    el('td', { class: 'assignee' }, ticket.assignee ? ticket.assignee.display_name : texts.unassigned),
    deadline(ticket),
    el('td', { class: 'actions' }, ...buttons(ticket, replace)),
  );
  return tr;
}

function replace(ticket) {
  const old = body.querySelector(`tr[data-ticket-id="${ticket.id}"]`);
  if (old) old.replaceWith(row(ticket));
  counts();
}

async function load(append = false) {
  try {
    const page = await api('/tickets', { query: { ...query(), limit: 50, cursor: append ? cursor : null } });
    if (!append) body.replaceChildren();
    body.append(...page.items.map(row));
    if (!append && page.items.length === 0) body.append(el('tr', {}, el('td', { colspan: 8 }, texts.none)));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  } catch (error) {
    fail(error);
  }
}

async function counts() {
  if (!managing) return;
  try {
    const summary = await api('/stats/summary');
    document.getElementById('count-open').textContent = summary.now.open;
    document.getElementById('count-warned').textContent = summary.now.warned;
    document.getElementById('count-overdue').textContent = summary.now.overdue;
    document.getElementById('count-received').textContent = summary.received;
  } catch (error) {
    fail(error);
  }
}

async function fillFilters() {
  fillSelect(form.elements.status, Object.entries(labels.statuses));
  const [cells, categories] = await Promise.all([
    all('/grids', { level: 'grid', active: 'true' }),
    all('/categories', { active: 'true' }),
  ]);
  fillSelect(form.elements.grid_id, cells.map((cell) => [cell.id, cell.name]));
  fillSelect(form.elements.category, categories.filter((c) => c.parent_code).map((c) => [c.code, c.name]));
  if (managing) {
    const workers = await all('/workers');
    fillSelect(form.elements.assignee, workers.map((worker) => [worker.user_id, worker.name]));
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  load();
});
form.addEventListener('change', () => load());
more.addEventListener('click', () => load(true));
document.getElementById('counts').hidden = !managing;
await fillFilters().catch(fail);
await Promise.all([load(), counts()]);
document.body.dataset.ready = 'true';
// Live: the board and its counts follow what others do, unless a dialog is open.
setInterval(() => {
  if (!document.getElementById('action-dialog').open && !cursor) {
    load();
    counts();
  }
}, REFRESH_SECONDS * 1000);
