// The territory's cells coloured by the heat map's figures, workers' last positions and recent patrol tracks.
import { all, api, fail, session, texts } from './api.js';
import { chart, drawTerritory, lines } from './geo.js';

const PATROL_DAYS = 7;
const MAX_TRACKS = 20;
await session();
const form = document.getElementById('map-filters');
const instance = chart('territory-map');
let heat = null;
let points = [];
let tracks = [];

async function loadPositions() {
  const workers = await all('/workers');
  points = workers
    .filter((worker) => worker.last_position)
    .map((worker) => ({ name: worker.name, value: [worker.last_position.lng, worker.last_position.lat] }));
}

async function loadTracks() {
  const since = new Date(Date.now() - PATROL_DAYS * 86400000).toISOString();
  const patrols = (await api('/patrols', { query: { from: since, limit: MAX_TRACKS } })).items;
  const found = await Promise.all(patrols.map((patrol) => api(`/patrols/${patrol.id}/track`)));
  tracks = found.flatMap(lines);
}

function draw() {
  const measure = form.elements.measure.value;
  const values = Object.fromEntries(heat.features.map((f) => [f.properties.name, f.properties[measure]]));
  drawTerritory(instance, 'territory', heat, {
    values,
    measure: texts[measure],
    points: form.elements.workers.checked ? points : [],
    tracks: form.elements.patrols.checked ? tracks : [],
  });
}

try {
  [heat] = await Promise.all([api('/stats/heatmap'), loadPositions(), loadTracks()]);
  draw();
} catch (error) {
  fail(error);
}
form.addEventListener('change', () => heat && draw());
document.body.dataset.ready = 'true';
