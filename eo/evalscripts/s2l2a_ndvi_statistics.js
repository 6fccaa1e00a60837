//VERSION=3
// geospace eo/sentinelhub.py: per-zone NDVI statistics (Statistical API), no pixels downloaded.
// harmonizeValues=false; geospace writes the BOA offset of the requested products' processing
// baseline (0 before 04.00, 1000 from 04.00) and the removed SCL classes into the two lines below.
var BOA_OFFSET_DN = 1000;
var MASKED_SCL = [0, 1, 2, 3, 6, 7, 8, 9, 10, 11];

function setup() {
  return {
    input: [{bands: ["B04", "B08", "SCL", "dataMask"], units: "DN"}],
    output: [
      {id: "ndvi", bands: 1, sampleType: "FLOAT32"},
      {id: "dataMask", bands: 1}
    ]
  };
}

function evaluatePixel(s) {
  var red = (s.B04 - BOA_OFFSET_DN) / 10000;
  var nir = (s.B08 - BOA_OFFSET_DN) / 10000;
  var clear = s.dataMask === 1 && MASKED_SCL.indexOf(s.SCL) === -1 && (nir + red) !== 0;
  return {ndvi: [clear ? (nir - red) / (nir + red) : NaN], dataMask: [clear ? 1 : 0]};
}
