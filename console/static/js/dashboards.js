// The dashboards: the rates, breakdowns, time series, overdue list and leaderboard of a unit and a period, as
// charts; and the ledgers as downloads.
import { all, api, download, el, fail, fillSelect, labels, percent, say, session, texts, when } from './api.js';
import { chart } from './geo.js';

await session();
const form = document.getElementById('period');
const RATES = ['response_rate', 'resolution_rate', 'satisfaction_rate', 'on_time_resolution_rate'];
const charts = {
  breakdown: chart('chart-breakdown'),
  category: chart('chart-category'),
  timeseries: chart('chart-timeseries'),
  leaderboard: chart('chart-leaderboard'),
};

function query() {
  const chosen = {};
  for (const key of ['grid_id', 'from', 'to']) if (form.elements[key].value) chosen[key] = form.elements[key].value;
  return chosen;
}

function bars(instance, items, measures, nameOf = (item) => item.name) {
  instance.setOption(
    {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 100, right: 20, top: 30, bottom: 20 },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: items.map(nameOf), inverse: true },
      series: measures.map((measure) => ({
        type: 'bar',
        name: texts[measure],
        data: items.map((item) => item[measure]),
      })),
    },
    true,
  );
}

function rates(summary) {
  const cards = RATES.map((rate) =>
    el('div', { class: 'count' }, el('span', {}, texts[rate]), el('b', {}, percent(summary[rate].rate))),
  );
  cards.push(el('div', { class: 'count' }, el('span', {}, texts.received), el('b', {}, summary.received)));
  cards.push(el('div', { class: 'count bad' }, el('span', {}, texts.overdue), el('b', {}, summary.now.overdue)));
  document.getElementById('rates').replaceChildren(...cards);
}

function timeseries(series) {
  charts.timeseries.setOption(
    {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 40, right: 40, top: 30, bottom: 30 },
      xAxis: { type: 'category', data: series.items.map((item) => item.start) },
      yAxis: [
        { type: 'value', minInterval: 1 },
        { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      ],
      series: [
        { type: 'bar', name: texts.received, data: series.items.map((item) => item.received) },
        { type: 'bar', name: texts.resolved, data: series.items.map((item) => item.resolved) },
        {
          type: 'line',
          yAxisIndex: 1,
          name: texts.resolution_rate,
          data: series.items.map((item) => (item.resolution_rate.rate === null ? null : item.resolution_rate.rate * 100)),
        },
      ],
    },
    true,
  );
}

function overdue(items) {
  const body = document.querySelector('#overdue tbody');
  body.replaceChildren(
    ...items.map((ticket) =>
      el(
        'tr',
        {},
        el('td', {}, el('a', { href: `/console/tickets/${ticket.id}` }, ticket.no)),
        el('td', {}, ticket.category ? ticket.category.name : ''),
        el('td', {}, ticket.grid ? ticket.grid.name : ''),
        el('td', {}, labels.statuses[ticket.status] || ticket.status),
        el('td', {}, when(ticket.due_at), el('span', { class: `tag ${ticket.overdue ? 'bad' : 'warn'}` },
          ticket.overdue ? texts.overdue : texts.warned)),
      ),
    ),
  );
  if (!items.length) body.append(el('tr', {}, el('td', { colspan: 5 }, texts.none)));
}

async function show() {
  const chosen = query();
  try {
    const [summary, children, categories, series, late, leaders] = await Promise.all([
      api('/stats/summary', { query: chosen }),
      api('/stats/breakdown', { query: { ...chosen, by: 'child' } }),
      api('/stats/breakdown', { query: { ...chosen, by: 'category' } }),
      api('/stats/timeseries', { query: { ...chosen, interval: form.elements.interval.value } }),
      api('/stats/overdue', { query: { ...chosen, limit: 20 } }),
      api('/stats/leaderboard', { query: { ...chosen, of: 'worker', limit: 10 } }),
    ]);
    rates(summary);
    form.elements.from.value = summary.from; // the period the API chose when none was given (this month)
    form.elements.to.value = summary.to;
    bars(charts.breakdown, children.items, ['received', 'resolved', 'overdue']);
    bars(charts.category, categories.items, ['received', 'resolved']);
    timeseries(series);
    bars(charts.leaderboard, leaders.items, ['score']);
    overdue(late.items);
  } catch (error) {
    fail(error);
  }
}

for (const button of document.querySelectorAll('[data-export]')) {
  button.addEventListener('click', async () => {
    try {
      const name = await download(`/exports/${button.dataset.export}`, query());
      say(`${texts.downloaded} ${name}`, 'ok');
    } catch (error) {
      fail(error);
    }
  });
}
form.addEventListener('submit', (event) => {
  event.preventDefault();
  show();
});
const units = await all('/grids', { active: 'true' }).catch(() => []);
fillSelect(form.elements.grid_id, units.filter((unit) => unit.level !== 'grid').map((unit) => [unit.id, unit.name]));
await show();
document.body.dataset.ready = 'true';
