//VERSION=3
// geospace eo/sentinelhub.py: Sentinel-2 L2A bands as digital numbers plus the scene classification.
// Request with "processing": {"harmonizeValues": false}: the DN keep the BOA offset of processing
// baseline >= 04.00 (harmonizeValues=true would subtract it and clamp negative reflectance to 0),
// and geospace scales them by each product's baseline exactly as on the STAC path:
// reflectance = (DN - offset) / 10000, DN 0 = no data. Output band order = the input band order
// without dataMask; a pixel without data is 0 in every band.
function setup() {
  return {
    input: [{bands: ["B02", "B04", "B08", "B8A", "B11", "SCL", "dataMask"], units: "DN"}],
    output: {bands: 6, sampleType: "UINT16"}
  };
}

function evaluatePixel(s) {
  if (s.dataMask === 0) {
    return [0, 0, 0, 0, 0, 0];
  }
  return [s.B02, s.B04, s.B08, s.B8A, s.B11, s.SCL];
}
