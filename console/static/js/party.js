// The party pages: organisations, members (phones masked by the API), 双报到 check-ins and the points rankings.
import { all, api, el, fail, labels, session, texts } from './api.js';
import { chart } from './geo.js';

await session();

function table(id, rows) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...rows.map((cells) => el('tr', {}, ...cells.map((cell) => el('td', {}, cell)))));
  if (!rows.length) body.append(el('tr', {}, el('td', { colspan: 3 }, texts.none)));
}

async function organisations() {
  const orgs = await all('/party/orgs', { active: 'true' });
  table('orgs', orgs.map((org) => [org.name, labels.org_kinds[org.kind] || org.kind, org.member_count ?? '']));
  return Object.fromEntries(orgs.map((org) => [org.id, org.name]));
}

async function members() {
  const [found, classes] = await Promise.all([all('/party/members', { active: 'true' }), all('/party/member-classes')]);
  const classNames = Object.fromEntries(classes.map((memberClass) => [memberClass.code, memberClass.name]));
  table('members', found.map((member) => [member.name, classNames[member.class] || member.class, member.phone || '']));
  return Object.fromEntries(found.map((member) => [member.id, member.name]));
}

async function checkIns(orgNames, memberNames) {
  const found = await all('/party/check-ins');
  const units = await all('/grids', { level: 'community' }).catch(() => []); // party staff may see no units
  const communities = Object.fromEntries(units.map((unit) => [unit.id, unit.name]));
  table(
    'check-ins',
    found.map((item) => [
      item.member_id ? memberNames[item.member_id] || item.member_id : orgNames[item.org_id] || item.org_id,
      communities[item.community_id] || `#${item.community_id}`,
      labels.check_in_statuses[item.status] || item.status,
    ]),
  );
}

async function rankings() {
  const ranked = await api('/party/rankings', { query: { period: 'month' } });
  const top = ranked.members.slice(0, 10);
  chart('chart-rankings').setOption({
    tooltip: { trigger: 'axis' },
    grid: { left: 80, right: 20, top: 10, bottom: 20 },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', inverse: true, data: top.map((member) => member.name) },
    series: [{ type: 'bar', name: texts.points, data: top.map((member) => member.points) }],
  });
}

try {
  const [orgNames, memberNames] = await Promise.all([organisations(), members()]);
  await Promise.all([checkIns(orgNames, memberNames), rankings()]);
} catch (error) {
  fail(error);
}
document.body.dataset.ready = 'true';
