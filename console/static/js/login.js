import { fail, home, login } from './api.js';

const form = document.getElementById('login-form');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  try {
    const user = await login(data.get('username'), data.get('password'));
    const next = new URLSearchParams(location.search).get('next');
    location.assign(next && next.startsWith('/console/') ? next : home(user));
  } catch (error) {
    fail(error);
  }
});
