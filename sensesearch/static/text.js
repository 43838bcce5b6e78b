// Text offsets for the sensesearch page: the one place that converts between the API's unit and JavaScript's.
// Loaded before app.js; plain functions, no build step.
"use strict";

// Every offset the API gives or takes counts Unicode code points (Python str indices); JavaScript
// strings count UTF-16 units, so emoji and other characters outside the BMP count two. These
// functions are the one place that converts; nothing else indexes API text with API offsets.

function unitsFromPoints(text, points) {
  let units = 0, seen = 0;
  for (const ch of text) {
    if (seen >= points) break;
    units += ch.length;
    seen += 1;
  }
  return units;
}

const pointsFromUnits = (text, units) => Array.from(text.slice(0, units)).length;
const slicePoints = (text, start, end) =>
  text.slice(unitsFromPoints(text, start), end === undefined ? undefined : unitsFromPoints(text, end));

// Context cut for display between grapheme clusters (an emoji, a letter with its combining marks).
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const graphemes = (text) => Array.from(GRAPHEMES.segment(text), (part) => part.segment);
function keepEnd(text, count) {
  const parts = graphemes(text);
  return parts.length > count ? "…" + parts.slice(-count).join("") : text;
}
function keepStart(text, count) {
  const parts = graphemes(text);
  return parts.length > count ? parts.slice(0, count).join("") + "…" : text;
}
