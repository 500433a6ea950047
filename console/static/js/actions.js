// A ticket's action buttons: exactly the actions the API allows the caller (`allowed_actions`), each asking in a
// dialog for what the action takes; the API decides, and a refusal is shown with its message.
import { all, api, el, fail, fillSelect, labels, say, texts } from './api.js';

// A merge is a cancel that names the surviving ticket.
function offered(ticket) {
  const actions = [...ticket.allowed_actions];
  if (actions.includes('cancel')) actions.splice(actions.indexOf('cancel') + 1, 0, 'merge');
  return actions;
}

async function input(field, kind, required, ticket) {
  const label = labels.fields[field] || field;
  let control;
  if (kind === 'worker') {
    control = el('select', { name: field, required: required ? '' : null });
    fillSelect(control, [['', texts.choose]]);
    const workers = await all('/workers', { grid_id: ticket.grid.id });
    fillSelect(control, workers.map((worker) => [worker.user_id, worker.name + (worker.on_duty ? '' : ' ·')]));
  } else if (kind === 'ticket') {
    control = el('input', { name: field, required: required ? '' : null, inputmode: 'numeric' });
  } else {
    control = el('textarea', { name: field, rows: 3, required: required ? '' : null });
  }
  return el('label', {}, label, control);
}

function bodyOf(form, action) {
  const body = {};
  for (const [key, value] of new FormData(form).entries()) {
    if (value !== '') body[key] = value;
  }
  return { action: action === 'merge' ? 'cancel' : action, body };
}

async function ask(action, ticket) {
  const dialog = document.getElementById('action-dialog');
  const form = document.getElementById('action-form');
  const fields = document.getElementById('action-fields');
  document.getElementById('action-title').textContent = `${labels.actions[action] || action} · ${ticket.no}`;
  fields.replaceChildren();
  for (const [field, kind, required] of labels.action_fields[action] || []) {
    fields.append(await input(field, kind, required, ticket));
  }
  document.getElementById('action-cancel').onclick = () => dialog.close('cancel');
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm' ? bodyOf(form, action) : null), {
      once: true,
    });
  });
}

export async function perform(action, ticket) {
  const chosen = await ask(action, ticket);
  if (chosen === null) return null;
  try {
    const changed = await api(`/tickets/${ticket.id}/${chosen.action}`, { method: 'POST', body: chosen.body });
    say(`${labels.actions[action] || action}: ${changed.no} ${texts.done}`, 'ok');
    return changed;
  } catch (error) {
    fail(error);
    return null;
  }
}

// Buttons for the ticket; `changed` is called with the ticket the API answered after an action.
export function buttons(ticket, changed) {
  return offered(ticket).map((action) =>
    el(
      'button',
      {
        type: 'button',
        class: 'action',
        'data-action': action,
        onclick: async () => {
          const result = await perform(action, ticket);
          if (result) changed(result);
        },
      },
      labels.actions[action] || action,
    ),
  );
}
