// A ticket's page: its facts, the timeline (全程纪实) with photos, its position on its cell, the masked phone
// with the access-logged reveal, and the actions the API allows.
import { buttons } from './actions.js';
import { api, blob, el, fail, labels, session, texts, when } from './api.js';
import { chart, drawTerritory } from './geo.js';

await session();
const ticketId = document.body.dataset.ticketId;

function fact(id, value) {
  document.getElementById(id).textContent = value ?? '';
}

function show(ticket) {
  document.getElementById('ticket-title').textContent = `${ticket.no} · ${ticket.category ? ticket.category.name : ''}`;
  fact('t-status', labels.statuses[ticket.status]);
  fact('t-category', ticket.category ? ticket.category.name : '');
  fact('t-grid', ticket.grid ? ticket.grid.name : '');
  fact('t-assignee', ticket.assignee ? ticket.assignee.display_name : texts.unassigned);
  const due = ticket.deadlines.due_at || ticket.deadlines.resolve_due_at;
  fact('t-deadline', `${when(due)} ${ticket.overdue ? texts.overdue : ticket.warned ? texts.warned : ''}`);
  fact('t-reporter', ticket.reporter ? ticket.reporter.name : '');
  fact('t-phone', ticket.reporter ? ticket.reporter.phone : '');
  fact('t-address', ticket.address);
  fact('t-description', ticket.description);
  document.getElementById('t-actions').replaceChildren(...buttons(ticket, changed));
}

async function changed(ticket) {
  show(ticket);
  await timeline();
}

async function photo(id) {
  const { data } = await blob(`/attachments/${id}`);
  return el('img', { src: URL.createObjectURL(data), class: 'photo', alt: id });
}

async function timeline() {
  const events = (await api(`/tickets/${ticketId}/events`)).items;
  const list = document.getElementById('timeline');
  list.replaceChildren();
  for (const event of events) {
    const photos = await Promise.all(event.photo_ids.map(photo));
    const moved = event.to_status && event.to_status !== event.from_status ? ` → ${labels.statuses[event.to_status]}` : '';
    list.append(
      el(
        'li',
        {},
        el('time', {}, when(event.created_at)),
        el('b', {}, ` ${labels.actions[event.action] || event.action}${moved} `),
        event.actor ? el('span', { class: 'who' }, event.actor.display_name) : null,
        event.note ? el('p', {}, event.note) : null,
        photos.length ? el('div', { class: 'photos' }, ...photos) : null,
      ),
    );
  }
}

async function position(ticket) {
  const cell = await api(`/grids/${ticket.grid.id}`);
  if (!cell.boundary) {
    document.getElementById('ticket-map').textContent = texts.no_position;
    return;
  }
  const collection = {
    type: 'FeatureCollection',
    features: [{ type: 'Feature', geometry: cell.boundary, properties: { name: cell.name } }],
  };
  const points = ticket.location ? [{ name: texts.ticket_position, value: [ticket.location.lng, ticket.location.lat] }] : [];
  drawTerritory(chart('ticket-map'), `cell-${cell.id}`, collection, { points, pointLabels: false });
  if (!ticket.location) document.getElementById('ticket-map').title = texts.no_position;
}

document.getElementById('reveal').addEventListener('click', async () => {
  const reason = prompt(texts.reveal_reason);
  if (!reason) return;
  try {
    const contact = await api(`/tickets/${ticketId}/contact`, { query: { reason } });
    fact('t-phone', contact.phone);
  } catch (error) {
    fail(error);
  }
});

try {
  const ticket = await api(`/tickets/${ticketId}`);
  show(ticket);
  await Promise.all([timeline(), position(ticket)]);
} catch (error) {
  fail(error);
}
document.body.dataset.ready = 'true';
