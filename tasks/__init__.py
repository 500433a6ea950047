"""Tasks: categories, resident requests and the ticket lifecycle (我为群众办实事).

Each part imports only the parts listed before it (`lint-imports` checks that there is no loop):

- `lifecycle`: the ticket's states and the table of actions, as data;
- `categories/`: the category tree and its SLA;
- `photos/`: photo bytes (`imaging`, pure), their `storage`, and the rows; photos know a ticket only by its id;
- `tickets/`: requests, tickets and their record; it links photos, and answers photos' questions about a
  ticket (`photo_rules`); its events (`tickets.events`) are how the rest of the app learns of a change;
- `sweep` (deadlines, auto-close) and `commands` (the CLI).
"""
