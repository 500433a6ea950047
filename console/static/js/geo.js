// Cells drawn from their GeoJSON with ECharts' geo component: no tile server needed (tiles.js adds one's tiles
// beneath them when CONSOLE_TILE_URL is set).
/* global echarts */
import { labels } from './api.js';
import { attribution, followRoam, hasTiles, inTileSystem, projection, tileSeries } from './tiles.js';

// Over tiles the cells' colours let the streets show through.
const COLOURS = hasTiles
  ? ['rgba(253,242,233,0.45)', 'rgba(230,126,34,0.55)', 'rgba(176,58,46,0.65)']
  : ['#fdf2e9', '#e67e22', '#b03a2e'];

export function chart(id) {
  const node = document.getElementById(id);
  const instance = echarts.init(node, null, { locale: document.body.dataset.locale === 'zh' ? 'ZH' : 'EN' });
  new ResizeObserver(() => instance.resize()).observe(node);
  return instance;
}

// Every LineString's coordinates in a GeoJSON geometry, feature or collection.
export function lines(geojson) {
  if (!geojson) return [];
  if (geojson.type === 'FeatureCollection') return geojson.features.flatMap((f) => lines(f));
  if (geojson.type === 'Feature') return lines(geojson.geometry);
  if (geojson.type === 'LineString') return [geojson.coordinates];
  if (geojson.type === 'MultiLineString') return geojson.coordinates;
  return [];
}

// `cells`: a FeatureCollection whose features have `properties.name`; `values`: name → figure for the colours.
export function drawTerritory(
  instance,
  name,
  cells,
  { values = {}, points = [], tracks = [], measure = '', pointLabels = true } = {},
) {
  if (hasTiles) ({ cells, points, tracks } = inTileSystem({ cells, points, tracks }));
  echarts.registerMap(name, cells);
  const figures = Object.values(values);
  const series = [
    {
      type: 'map',
      map: name,
      geoIndex: 0,
      name: measure,
      data: cells.features.map((f) => ({ name: f.properties.name, value: values[f.properties.name] ?? 0 })),
    },
  ];
  if (points.length) {
    series.push({
      type: 'scatter',
      coordinateSystem: 'geo',
      name: labels.texts.worker_position,
      symbolSize: 12,
      itemStyle: { color: '#c0392b' },
      label: { show: pointLabels, position: 'right', formatter: '{b}' },
      data: points,
    });
  }
  if (hasTiles) series.push(tileSeries(cells, { width: instance.getWidth(), height: instance.getHeight() }));
  if (tracks.length) {
    series.push({
      type: 'lines',
      coordinateSystem: 'geo',
      name: labels.texts.patrol_track,
      polyline: true,
      lineStyle: { color: '#2c3e50', width: 2 },
      data: tracks.map((coords) => ({ coords })),
    });
  }
  instance.setOption(
    {
      tooltip: { trigger: 'item' },
      visualMap: {
        show: figures.length > 0,
        min: 0,
        max: Math.max(1, ...figures),
        left: 'left',
        bottom: 10,
        calculable: true,
        text: [measure, ''],
        inRange: { color: COLOURS },
        seriesIndex: 0,
      },
      geo: {
        map: name,
        roam: true,
        projection: hasTiles ? projection : undefined,
        label: { show: true, fontSize: 11 },
        itemStyle: { borderColor: '#555', areaColor: COLOURS[0] },
        emphasis: { label: { show: true } },
      },
      series,
      graphic: hasTiles ? attribution() : [],
    },
    true,
  );
  if (hasTiles) followRoam(instance, cells);
}
