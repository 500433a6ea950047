"""The browser console at /console: pages for supervisors, admins and party staff, a client of the JSON API.

The pages are Jinja shells in Chinese (gettext) with small JavaScript modules that call `/api/v1` with the
logged-in account's bearer token: what a user sees and may do comes from the API (its scope, `allowed_actions`,
its 403s), never from rules repeated here. Front-end libraries are served from `static/vendor/` (installed by
`make console-assets` from `package-lock.json`), never from a CDN.
"""
