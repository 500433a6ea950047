// WGS-84 → GCJ-02 (Amap, Tencent), the published shift grid/coords.py applies on the server, for drawing the API's
// WGS-84 cells, positions and tracks over GCJ-02 tiles.
const A = 6378245.0; // Krasovsky 1940 semi-major axis (m)
const EE = 0.00669342162296594323; // its first eccentricity squared

const inChina = (lng, lat) => lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;

function offsetLat(x, y) {
  let offset = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  offset += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  offset += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  offset += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320.0 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  return offset;
}

function offsetLng(x, y) {
  let offset = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  offset += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  offset += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  offset += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  return offset;
}

// [lng, lat] in WGS-84 → [lng, lat] in GCJ-02 (unchanged outside China, as on the server).
export function wgs84ToGcj02([lng, lat]) {
  if (!inChina(lng, lat)) return [lng, lat];
  const [x, y] = [lng - 105.0, lat - 35.0];
  const radLat = (lat * Math.PI) / 180;
  const magic = 1 - EE * Math.sin(radLat) ** 2;
  const dLat = (offsetLat(x, y) * 180.0) / (((A * (1 - EE)) / (magic * Math.sqrt(magic))) * Math.PI);
  const dLng = (offsetLng(x, y) * 180.0) / ((A / Math.sqrt(magic)) * Math.cos(radLat) * Math.PI);
  return [lng + dLng, lat + dLat];
}
