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

// The words of a context as kwicsort.context_key reads them, so that the page sorts lines as the command line does:
// normalize.fold_text (invisible format characters gone, with a line break after a soft hyphen; white space of every
// kind a space; NFKC; a space where text goes up or down a line, so "bank¹" is "bank 1"; ʼ and − made ' and -), then runs of
// letters, marks and digits. NFKC alone had read "ba\u00adnk" as the words "ba" and "nk", "ba\u200bz" as one word and "x²" as "x2".
const IGNORABLE = /(?!\u200b)[\p{Cf}\u034f\ufe00-\ufe0f\u{e0100}-\u{e01ef}]|(?<=\u00ad)[ \t]*(?:\r\n|[\n\r\v\f\x85\u2028\u2029])[ \t]*/gu;
const SEPARATORS = /[\v\f\x1c-\x1f\x85\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000]/gu;
// Characters whose compatibility decomposition is tagged <super> or <sub> (UnicodeData.txt; normalize.raised).
const SUPER = /^[\u00aa\u00b2-\u00b3\u00b9-\u00ba\u02b0-\u02b8\u02e0-\u02e4\u10fc\u1d2c-\u1d2e\u1d30-\u1d3a\u1d3c-\u1d4d\u1d4f-\u1d61\u1d78\u1d9b-\u1dbf\u2070-\u2071\u2074-\u207f\u2120\u2122\u2c7d\u2d6f\u3192-\u319f\ua69c-\ua69d\ua770\ua7f2-\ua7f4\ua7f8-\ua7f9\uab5c-\uab5f\uab69\u{10781}-\u{10785}\u{10787}-\u{107b0}\u{107b2}-\u{107ba}\u{1f16a}-\u{1f16c}]/u;
const SUB = /^[\u1d62-\u1d6a\u2080-\u208e\u2090-\u209c\u2c7c]/u;
const CONTEXT_WORD = /[\p{L}\p{M}\p{N}]+/gu;
// normalize.GLUING: look-alikes of ' and - that a BERT pre-tokenizer keeps inside a word, made the marks they stand for.
const GLUING = /[\u02bc\u2212]/gu;

function foldText(text) {
  let out = "", position = "";
  for (const cluster of graphemes(text.replace(IGNORABLE, "").replace(SEPARATORS, " "))) {
    let part = cluster.normalize("NFKC").replace(GLUING, (mark) => (mark === "\u02bc" ? "'" : "-"));
    const level = SUPER.test(cluster) ? "super" : SUB.test(cluster) ? "sub" : "";
    if (level !== position && out && !/^\s/u.test(part) && !/\s$/u.test(out)) part = " " + part;
    position = level;
    out += part;
  }
  return out;
}

const contextWords = (text) => foldText(text).match(CONTEXT_WORD) || [];
