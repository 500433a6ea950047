// Optional raster tiles beneath the cells (CONSOLE_TILE_URL): an XYZ layer drawn by an ECharts custom series on
// the geo component, projected in Web Mercator so that each 256-pixel tile is a rectangle. Without the setting the
// page has no #tile-layer and the map asks no tile server. The API answers WGS-84; over GCJ-02 tiles (Amap,
// Tencent: CONSOLE_TILE_COORD_SYSTEM=gcj02) what is drawn is shifted into GCJ-02 first.
import { wgs84ToGcj02 } from './gcj02.js';

const TILE = 256;
const MAX_TILES = 200;
const MARGIN = 0.5; // of the cells' extent, on each side: tiles for a little panning around them
const ROAM_MARGIN = 0.25; // of the view's, after a pan or zoom
const ROAM_SETTLE_MS = 200;

const layer = (() => {
  const node = document.getElementById('tile-layer');
  return node ? JSON.parse(node.textContent) : null;
})();

export const hasTiles = layer !== null;

// lng/lat → world pixels at zoom 0 (y downwards), and back.
const project = ([lng, lat]) => [
  ((lng + 180) / 360) * TILE,
  ((1 - Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360)) / Math.PI) / 2) * TILE,
];
const unproject = ([x, y]) => [
  (x / TILE) * 360 - 180,
  (Math.atan(Math.exp(Math.PI * (1 - (2 * y) / TILE))) * 360) / Math.PI - 90,
];

export const projection = { project, unproject };

// A GeoJSON object, or nested arrays of [lng, lat] positions, with every position shifted by `shift`.
function shifted(geojson, shift) {
  if (Array.isArray(geojson) && typeof geojson[0] === 'number') return shift(geojson);
  if (Array.isArray(geojson)) return geojson.map((part) => shifted(part, shift));
  if (geojson === null || typeof geojson !== 'object') return geojson;
  const spatial = ['features', 'geometry', 'geometries', 'coordinates'];
  return Object.fromEntries(
    Object.entries(geojson).map(([key, value]) => [key, spatial.includes(key) ? shifted(value, shift) : value]),
  );
}

// The cells, points ({value: [lng, lat]}) and tracks (lists of positions) in the tiles' coordinate system.
export function inTileSystem({ cells, points, tracks }) {
  if (layer.coord_system !== 'gcj02') return { cells, points, tracks };
  return {
    cells: shifted(cells, wgs84ToGcj02),
    points: points.map((point) => ({ ...point, value: wgs84ToGcj02(point.value) })),
    tracks: shifted(tracks, wgs84ToGcj02),
  };
}

function positions(geojson) {
  if (Array.isArray(geojson) && typeof geojson[0] === 'number') return [geojson];
  if (Array.isArray(geojson)) return geojson.flatMap(positions);
  if (geojson.type === 'FeatureCollection') return positions(geojson.features);
  if (geojson.type === 'Feature') return positions(geojson.geometry);
  return positions(geojson.coordinates);
}

// The extent of [lng, lat] points in world pixels at zoom 0.
function extent(points) {
  const projected = points.map(project);
  const xs = projected.map((p) => p[0]);
  const ys = projected.map((p) => p[1]);
  return { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
}

function range(from, to, zoom) {
  const scale = 2 ** zoom / TILE;
  const last = 2 ** zoom - 1;
  return [Math.max(0, Math.floor(from * scale)), Math.min(last, Math.floor(to * scale))];
}

function tilesAt(box, zoom) {
  const [tx0, tx1] = range(box.x0, box.x1, zoom);
  const [ty0, ty1] = range(box.y0, box.y1, zoom);
  const found = [];
  for (let x = tx0; x <= tx1; x += 1) {
    for (let y = ty0; y <= ty1; y += 1) found.push({ x, y, z: zoom });
  }
  return found;
}

// The tiles over `points` (widened by `margin` of their extent on each side) at the zoom where the points' extent
// fills `size` (the tiles then show at about their own size), as custom-series rows: corners and z, x, y.
function cover(points, size, margin) {
  const { x0, x1, y0, y1 } = extent(points);
  const [width, height] = [Math.max(x1 - x0, 1e-9), Math.max(y1 - y0, 1e-9)];
  const fit = Math.min(size.width / width, size.height / height);
  const box = { x0: x0 - width * margin, x1: x1 + width * margin, y0: y0 - height * margin, y1: y1 + height * margin };
  let zoom = Math.max(0, Math.min(layer.max_zoom, Math.ceil(Math.log2(fit))));
  let found = tilesAt(box, zoom);
  while (found.length > MAX_TILES && zoom > 0) {
    zoom -= 1;
    found = tilesAt(box, zoom);
  }
  return found.map(({ x, y, z }) => {
    const [west, north] = unproject([(x * TILE) / 2 ** z, (y * TILE) / 2 ** z]);
    const [east, south] = unproject([((x + 1) * TILE) / 2 ** z, ((y + 1) * TILE) / 2 ** z]);
    return [west, north, east, south, z, x, y];
  });
}

function tileUrl(z, x, y) {
  return layer.url.replace('{z}', z).replace('{x}', x).replace('{y}', y);
}

// A custom series drawing each tile as an image between its projected corners, beneath the cells (z -1).
export function tileSeries(cells, size) {
  return {
    id: 'tiles',
    type: 'custom',
    coordinateSystem: 'geo',
    geoIndex: 0,
    z: -1,
    silent: true,
    tooltip: { show: false },
    data: cover(positions(cells), size, MARGIN),
    renderItem(params, api) {
      const [left, top] = api.coord([api.value(0), api.value(1)]);
      const [right, bottom] = api.coord([api.value(2), api.value(3)]);
      const image = tileUrl(api.value(4), api.value(5), api.value(6));
      return { type: 'image', style: { image, x: left, y: top, width: right - left, height: bottom - top } };
    },
  };
}

// The [lng, lat] corners the chart shows: from where two known points now sit on screen (the projection is linear
// in world pixels; ECharts' convertFromPixel on a projected geo does not answer longitudes and latitudes).
function visibleCorners(instance, points) {
  const { x0, x1, y0, y1 } = extent(points);
  const [a, b] = [unproject([x0, y0]), unproject([x1, y1])].map((p) => instance.convertToPixel({ geoIndex: 0 }, p));
  const world = ([px, py]) => [
    x0 + ((px - a[0]) * (x1 - x0)) / (b[0] - a[0] || 1e-9),
    y0 + ((py - a[1]) * (y1 - y0)) / (b[1] - a[1] || 1e-9),
  ];
  return [world([0, 0]), world([instance.getWidth(), instance.getHeight()])].map(unproject);
}

// After a pan or zoom, the tiles of what the chart now shows, at the zoom that shows it sharply.
export function followRoam(instance, cells) {
  const points = positions(cells);
  let timer = null;
  instance.off('georoam');
  instance.on('georoam', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const size = { width: instance.getWidth(), height: instance.getHeight() };
      const data = cover(visibleCorners(instance, points), size, ROAM_MARGIN);
      instance.setOption({ series: [{ id: 'tiles', data }] });
    }, ROAM_SETTLE_MS);
  });
}

// The tile provider's credit, bottom right, as its terms ask.
export function attribution() {
  if (!layer.attribution) return [];
  return [
    {
      type: 'text',
      right: 8,
      bottom: 4,
      silent: true,
      style: { text: layer.attribution, fill: '#444', fontSize: 11, backgroundColor: 'rgba(255,255,255,0.7)' },
    },
  ];
}
