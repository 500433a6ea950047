import { api, fail, say, session, texts } from './api.js';

await session();
const form = document.getElementById('password-form');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  try {
    await api('/auth/password', {
      method: 'POST',
      body: { old_password: data.get('old_password'), new_password: data.get('new_password') },
    });
    form.reset();
    say(texts.done, 'ok');
  } catch (error) {
    fail(error);
  }
});
document.body.dataset.ready = 'true';
