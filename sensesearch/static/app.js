// The sensesearch concordance page: query by example, KWIC lines, sense groups, CSV export.
// Plain DOM code, no build step; all data comes from the JSON API under /api.
"use strict";

const MARKER = /\[\[(.+?)\]\]/s;
const CONTEXT_CHARS = 60;
const CSV_FIELDS = ["score", "document", "left", "word", "right", "sentence", "start", "end", "occurrence_id", "path"];
const SENSE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];

const $ = (id) => document.getElementById(id);
const state = { hits: [], sort: "score", label: "", token: null, words: new Map(), inventory: null, tags: new Map() };

function takeToken() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    // A hand-typed fragment may not decode (%E0%A4%A): the page must still start, and the server then asks for the token.
    let token = match[1];
    try {
      token = decodeURIComponent(token);
    } catch (error) {
      if (!(error instanceof URIError)) throw error;
    }
    sessionStorage.setItem("sensesearch-token", token);
    history.replaceState(null, "", location.pathname + location.search);
  }
  state.token = sessionStorage.getItem("sensesearch-token");
}

async function api(path, options = {}, retried = false) {
  const headers = { ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && !retried) {
    const given = window.prompt("This server wants an access token:");
    if (given) {
      state.token = given.trim();
      sessionStorage.setItem("sensesearch-token", state.token);
      return api(path, options, true);
    }
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON: keep the status */ }
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return response;
}

// ---- the query sentence and its clickable words ----------------------------------------------

// The words of a sentence as the index stores them, asked of the server (its tokenizer), cached.
async function wordsOf(text) {
  if (!state.words.has(text)) {
    const answer = await api("/api/words", { method: "POST", headers: { "Content-Type": "application/json" },
                                             body: JSON.stringify({ text }) });
    if (state.words.size > 50) state.words.clear();
    state.words.set(text, await answer.json());
  }
  return state.words.get(text);
}

function parseMarked(text) {
  const match = text.match(MARKER);
  if (!match) return { clean: text, start: -1, end: -1 };
  const inner = match[1];
  const lead = inner.length - inner.trimStart().length;
  const start = match.index + lead;
  return { clean: text.slice(0, match.index) + inner + text.slice(match.index + match[0].length),
           start, end: start + inner.trim().length };
}

let renderTimer = null;
function scheduleTokens() {
  clearTimeout(renderTimer);
  renderTimer = setTimeout(renderTokens, 150);
}

async function renderTokens() {
  const box = $("tokens");
  const { clean, start, end } = parseMarked($("text").value);
  if (clean.trim() === "") {
    box.replaceChildren();
    box.hidden = true;
    return;
  }
  let words;
  try {
    words = await wordsOf(clean);
  } catch (error) {
    return setStatus(error.message, true);
  }
  if (parseMarked($("text").value).clean !== clean) return;  // typed on meanwhile: a newer call draws
  const marked = start < 0 ? null : [pointsFromUnits(clean, start), pointsFromUnits(clean, end)];
  const parts = [];
  let at = 0;
  for (const word of words.filter((w) => w.stored)) {
    parts.push(document.createTextNode(slicePoints(clean, at, word.start)));
    const token = document.createElement("button");
    token.type = "button";
    token.className = "token";
    token.textContent = word.word;
    if (marked && word.start < marked[1] && word.end > marked[0]) token.classList.add("marked");
    token.title = "Click to search for this word; shift-click to mark a phrase up to it";
    token.addEventListener("click", (event) => {
      const from = event.shiftKey && marked ? Math.min(marked[0], word.start) : word.start;
      const to = event.shiftKey && marked ? Math.max(marked[1], word.end) : word.end;
      markAndSearch(clean, from, to);
    });
    parts.push(token);
    at = word.end;
  }
  parts.push(document.createTextNode(slicePoints(clean, at)));
  box.replaceChildren(...parts);
  box.hidden = false;
}

// A sentence may hold brackets of its own ("the [[Bank of England]]" in wiki text), which would read as a second,
// unbalanced marker: a space goes between two brackets, and between a bracket and the marker. BERT-style tokenizers
// split every bracket off as a word of its own, so the word pieces, and the vector, stay the same.
const bracketsApart = (text) => text.replace(/\[(?=\[)/g, "[ ").replace(/\](?=\])/g, "] ");

// `text` with the code points `from` to `to` marked [[ ]].
function markSpan(text, from, to) {
  const left = bracketsApart(slicePoints(text, 0, from)).replace(/\[$/, "[ ");
  const right = bracketsApart(slicePoints(text, to)).replace(/^\]/, " ]");
  return `${left}[[${slicePoints(text, from, to)}]]${right}`;
}

// `from` and `to` are code point offsets of `clean`, as /api/words gives them.
function markAndSearch(clean, from, to) {
  $("text").value = markSpan(clean, from, to);
  renderTokens();
  runQuery();
}

// ---- searches ---------------------------------------------------------------------------------

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

// Only the newest search draws: a slower answer to an earlier click (a word, then a shift-click for the phrase)
// came back last and put its rows under the newer search's status.
class Superseded extends Error {}
let newestWork = 0;

function stillNewest(ticket) {
  if (ticket !== newestWork) throw new Superseded("a newer search was asked for");
}

async function timed(label, work) {
  const ticket = ++newestWork;
  const started = performance.now();
  document.body.classList.add("busy");
  setStatus(`${label}…`);
  try {
    const result = await work();
    stillNewest(ticket);
    return { result, seconds: (performance.now() - started) / 1000, ticket };
  } finally {
    if (ticket === newestWork) document.body.classList.remove("busy");
  }
}

function failed(error) {
  if (!(error instanceof Superseded)) setStatus(error.message, true);
}

async function runQuery() {
  const text = $("text").value.trim();
  if (!text) return setStatus("Type a sentence first.", true);
  if (!MARKER.test(text)) {
    if ((await storedWords(text))?.length === 1) return runUsages();
    return setStatus("Click the word you mean in the sentence below the box (or mark it like [[this]]; " +
                     "shift-click a second word to mark a phrase).", true);
  }
  const body = { text, k: Number($("k").value) || 10, any_word: $("any-word").checked, ...filters() };
  const marked = parseMarked(text);
  await loadInventory(marked.clean.slice(marked.start, marked.end));
  if ($("sense").value && !body.any_word) body.sense = $("sense").value;
  try {
    const { result, seconds, ticket } = await timed("Searching", async () =>
      (await api("/api/query", { method: "POST", headers: { "Content-Type": "application/json" },
                                 body: JSON.stringify(body) })).json());
    const word = parseMarked(text);
    await loadTags();
    stillNewest(ticket);
    state.label = word.clean.slice(word.start, word.end);
    showHits(result, `${result.length} usages nearest to “${state.label}”${body.any_word ? " (any word)" : ""}`
             + (body.sense ? ` in the sense “${body.sense}”` : ""), seconds);
  } catch (error) {
    failed(error);
  }
}

// A listing cut by its limit is sorted by the server, over every usage, so a click on a column asks again.
const ORDER = { position: "in corpus order", left: "sorted by left context", right: "sorted by right context" };

async function runUsages(sort = "position") {
  const word = await currentWord();
  if (!word) return setStatus("Type a word, or click one in the sentence.", true);
  const limit = Math.max(Number($("k").value) || 20, 200);
  await loadInventory(word);
  const sense = $("sense").value;
  const only = sense ? `&sense=${encodeURIComponent(sense)}` : "";
  try {
    let total = 0;
    const { result, seconds, ticket } = await timed("Listing usages", async () => {
      const response = await api(`/api/usages?word=${encodeURIComponent(word)}&limit=${limit}&sort=${sort}` +
                                 `${only}${filterQuery()}`);
      total = Number(response.headers.get("X-Total-Count")) || 0;
      return response.json();
    });
    await loadTags();
    stillNewest(ticket);
    state.label = word;
    // A limit may show fewer usages than there are: say so.
    const count = total > result.length ? `the first ${result.length} of ${total} usages` : `${result.length} usages`;
    showHits(result, `${count} of “${word}”${sense ? ` in the sense “${sense}”` : ""} ${ORDER[sort]}`, seconds,
             sort === "position" ? "score" : sort, total > result.length);
  } catch (error) {
    failed(error);
  }
}

async function storedWords(text) {
  try {
    return (await wordsOf(text)).filter((w) => w.stored);
  } catch (error) {
    setStatus(error.message, true);
    return null;
  }
}

// The marked word or phrase, else the text when it is a single stored word.
async function currentWord() {
  const text = $("text").value.trim();
  const { clean, start, end } = parseMarked(text);
  if (start >= 0) return clean.slice(start, end);
  const words = await storedWords(text);
  return words && words.length === 1 ? words[0].word : "";
}

// ---- KWIC lines ---------------------------------------------------------------------------------

const flat = (text) => text.replace(/\s+/g, " ");
const leftOf = (hit) => flat(slicePoints(hit.sentence, 0, hit.start)).trim();
const rightOf = (hit) => flat(slicePoints(hit.sentence, hit.end)).trim();
// As kwicsort.context_key: the context's CONTEXT_WORDS words nearest the keyword (text.js contextWords, read from the
// sentence as it is, not from the flattened cell), in Unicode collation order (the root collation of the browser's
// ICU): every word's letters first, then accents and case, so that a capital decides only between contexts otherwise
// equal.
const CONTEXT_WORDS = 10;  // kwicsort.CONTEXT_WORDS
const letters = new Intl.Collator("und", { sensitivity: "base" });
const collator = new Intl.Collator("und");

function compareBy(compare, a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compare(a[i], b[i]);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

const compareWords = (a, b) => compareBy(letters.compare, a, b) || compareBy(collator.compare, a, b);

function sortedHits() {
  const hits = [...state.hits];
  if (state.sort === "left") {
    const key = (h) => contextWords(slicePoints(h.sentence, 0, h.start)).reverse().slice(0, CONTEXT_WORDS);
    hits.sort((a, b) => compareWords(key(a), key(b)));
  } else if (state.sort === "right") {
    const key = (h) => contextWords(slicePoints(h.sentence, h.end)).slice(0, CONTEXT_WORDS);
    hits.sort((a, b) => compareWords(key(a), key(b)));
  }
  return hits;
}

function kwicRow(hit, onPick, scale = null) {
  const row = document.createElement("tr");
  const left = leftOf(hit), right = rightOf(hit);
  const cells = [
    ["score", hit.score === null || hit.score === undefined ? "" : hit.score.toFixed(3)],
    ["left", keepEnd(left, CONTEXT_CHARS)],
    ["word", hit.word],
    ["right", keepStart(right, CONTEXT_CHARS)],
    // Named by the server as the command line's KWIC lines name it (kwic.document_names over the answer): a path's
    // last part alone had shown x/same.txt and y/same.txt, and the records r1 of two files, as one document.
    ["doc", hit.document_name],
  ];
  for (const [name, text] of cells) {
    const cell = document.createElement("td");
    cell.className = name;
    if (name !== "score") {
      // Each text runs in its own direction (dir=auto, isolated), so Hebrew or Arabic keeps its final stop where
      // the script puts it; the left cell runs right-to-left so that a too-long context is cut at its far end.
      const span = document.createElement("span");
      span.dir = "auto";
      span.textContent = text;
      cell.append(span);
    } else {
      cell.textContent = text;
    }
    row.append(cell);
  }
  if (typeof hit.score === "number" && scale) row.cells[0].style.setProperty("--s", scale(hit.score).toFixed(3));
  const tag = state.tags.get(hit.occurrence_id);
  const named = tag && tag.sense ? ` · sense: ${tag.sense} (margin ${tag.margin.toFixed(3)})` : tag ? " · unassigned" : "";
  if (tag && tag.sense) {
    row.classList.add("tagged");
    row.style.setProperty("--sense", senseColour(tag.sense));
  }
  // The document's whole name: a JSON Lines record's id (a label that is not its file's path) after its file.
  const whole = hit.path && !hit.document.startsWith(hit.path) ? `${hit.path}#${hit.document}` : hit.document;
  row.title = `${hit.sentence}\n— ${whole}${named}\nClick to search with this usage`;
  row.addEventListener("click", () => onPick(hit));
  return row;
}

function searchWith(hit) {
  $("text").value = markSpan(hit.sentence, hit.start, hit.end);
  renderTokens();
  window.scrollTo({ top: 0, behavior: "smooth" });
  runQuery();
}

function showHits(hits, summary, seconds, sort = "score", cut = false) {
  state.hits = hits;
  state.sort = sort;
  state.cut = cut;
  state.summary = summary;
  $("senses").hidden = true;
  renderHits();
  setStatus(`${summary} · ${seconds.toFixed(2)} s`);
}

// Bar lengths span the scores on screen, so that a drop between two groups of usages stands out.
function scoreScale(hits) {
  const scores = hits.map((hit) => hit.score).filter((score) => typeof score === "number");
  if (scores.length === 0) return null;
  const low = Math.min(...scores), high = Math.max(...scores);
  return (score) => (high > low ? 0.08 + 0.92 * (score - low) / (high - low) : 1);
}

function renderHits() {
  const scale = scoreScale(state.hits);
  $("rows").replaceChildren(...sortedHits().map((hit) => kwicRow(hit, searchWith, scale)));
  for (const button of document.querySelectorAll("th button[data-sort]")) {
    button.classList.toggle("active", button.dataset.sort === state.sort);
  }
  $("results").hidden = state.hits.length === 0;
  $("export").disabled = state.hits.length === 0;
}

// ---- named senses (sense inventory) -------------------------------------------------------------

// The word's named senses fill the sense picker; a word without any hides it and clears the colours.
async function loadInventory(word) {
  const key = (word || "").toLocaleLowerCase();
  if (state.inventory && state.inventory.key === key) return;
  state.inventory = { key, word: null, senses: [] };
  state.tags = new Map();
  if (key) {
    try {
      const [found] = await (await api(`/api/inventory?word=${encodeURIComponent(word)}`)).json();
      state.inventory = { key, word: found.word, senses: found.senses.map((s) => s.name) };
    } catch (error) {
      state.inventory = { key, word: null, senses: [] };  // 404: the word has no named senses
    }
  }
  const names = state.inventory.senses;
  const options = [new Option("any", "")].concat(names.map((name) => new Option(name, name)));
  $("sense").replaceChildren(...options);
  $("sense-pick").hidden = names.length === 0;
  $("sense-legend").replaceChildren(...names.map((name) => {
    const chip = document.createElement("span");
    chip.textContent = name;
    chip.style.setProperty("--sense", senseColour(name));
    return chip;
  }));
}

const senseColour = (name) =>
  SENSE_COLOURS[Math.max(0, state.inventory.senses.indexOf(name)) % SENSE_COLOURS.length];

// Tags of the word's usages (the first 2,000 in corpus order) colour the KWIC lines by sense.
async function loadTags() {
  state.tags = new Map();
  if (!state.inventory || !state.inventory.word) return;
  try {
    const tagged = await (await api(`/api/sense/tags?word=${encodeURIComponent(state.inventory.word)}&limit=2000`))
      .json();
    for (const usage of tagged.usages) state.tags.set(usage.occurrence_id, usage);
  } catch (error) {
    state.tags = new Map();
  }
}

// ---- senses -------------------------------------------------------------------------------------

// The lemma toggle and the "where" conditions apply to every request. The box goes to the server as typed: the
// server parts it at ; (\; is a semicolon inside a value), as --where and the Python API read it.
function filters() {
  const text = $("where").value.trim();
  return { lemma: $("lemma").checked, where: text ? [text] : [] };
}

function filterQuery() {
  const { lemma, where } = filters();
  return (lemma ? "&lemma=true" : "") + where.map((c) => `&where=${encodeURIComponent(c)}`).join("");
}

async function runSenses() {
  const word = await currentWord();
  if (!word) return setStatus("Mark or click a word first, then ask for its senses.", true);
  const by = $("by").value.trim();
  const query = `word=${encodeURIComponent(word)}${filterQuery()}`;
  const byQuery = by ? `&by=${encodeURIComponent(by)}` : "";
  try {
    const { result, seconds, ticket } = await timed(`Grouping the usages of “${word}”`, async () =>
      (await api(`/api/senses?${query}${byQuery}`)).json());
    showSenses(result, word);
    setStatus(`${result.senses.length} sense groups of “${word}” · ${seconds.toFixed(2)} s`);
    $("timeline").parentElement.hidden = true;
    if (by) {
      const chart = await api(`/api/senses/plot.png?${query}${byQuery}`);
      stillNewest(ticket);
      $("timeline").src = URL.createObjectURL(await chart.blob());
      $("timeline").parentElement.hidden = false;
    }
    const plot = await api(`/api/senses/plot.png?${query}`);
    stillNewest(ticket);
    $("plot").src = URL.createObjectURL(await plot.blob());
    $("plot").parentElement.hidden = false;
  } catch (error) {
    failed(error);
  }
}

function showSenses(report, word) {
  $("results").hidden = true;
  $("senses-title").textContent = `Senses of “${report.word || word}”`;
  $("plot").parentElement.hidden = true;
  state.hits = report.senses.flatMap((sense) => sense.examples);
  $("export").disabled = state.hits.length === 0;
  const groups = report.senses.map((sense, i) => {
    const card = document.createElement("article");
    card.className = "sense";
    // Senses are numbered from 1; the plot draws sense n in matplotlib's C(n-1), so the card does too.
    const number = Number.isInteger(sense.sense) ? sense.sense : i + 1;
    card.style.setProperty("--c", SENSE_COLOURS[(number - 1) % SENSE_COLOURS.length]);
    const head = document.createElement("h3");
    head.textContent = `Sense ${number}`;
    const size = document.createElement("span");
    size.className = "size";
    size.textContent = `${sense.size} usages`;
    head.append(size);
    const keywords = document.createElement("p");
    keywords.className = "keywords";
    for (const keyword of sense.keywords) {
      const chip = document.createElement("span");
      chip.textContent = keyword;
      keywords.append(chip);
    }
    const table = document.createElement("table");
    table.className = "kwic compact";
    const body = document.createElement("tbody");
    body.append(...sense.examples.map((hit) => kwicRow({ ...hit, score: null }, searchWith)));
    table.append(body);
    card.append(head, keywords, table);
    return card;
  });
  $("groups").replaceChildren(...groups);
  $("senses").hidden = false;
}

// ---- CSV export ---------------------------------------------------------------------------------

// Text a spreadsheet would run as a formula (OWASP "CSV injection") gets a leading single quote;
// numbers stay numbers. The same rule as sensesearch/csvsafe.py, which the CLI's --csv uses.
const FORMULA_START = /^[=+\-@\t\r\n]/;

function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (typeof value !== "number" && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function exportCsv() {
  const rows = sortedHits().map((hit) => {
    const record = { ...hit, left: leftOf(hit), right: rightOf(hit) };
    return CSV_FIELDS.map((field) => csvCell(record[field])).join(",");
  });
  const blob = new Blob([[CSV_FIELDS.join(","), ...rows].join("\n") + "\n"], { type: "text/csv;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `sensesearch-${(state.label || "result").replace(/[^\p{L}\p{N}_-]+/gu, "_")}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// ---- start --------------------------------------------------------------------------------------

async function showInfo() {
  try {
    const info = await (await api("/api/info")).json();
    const n = (x) => x.toLocaleString("en");
    const plural = (x, word) => `${n(x)} ${word}${x === 1 ? "" : "s"}`;
    $("info").textContent = `${plural(info.documents, "document")} · ${plural(info.occurrences, "usage")} of ` +
      `${plural(info.words, "word")}` +
      ` · ${info.model}`;
  } catch (error) {
    $("info").textContent = error.message;
  }
}

function start() {
  takeToken();
  $("text").addEventListener("input", scheduleTokens);
  $("search").addEventListener("submit", (event) => { event.preventDefault(); runQuery(); });
  $("usages").addEventListener("click", () => runUsages());
  $("senses-button").addEventListener("click", runSenses);
  $("export").addEventListener("click", exportCsv);
  for (const button of document.querySelectorAll("th button[data-sort]")) {
    button.addEventListener("click", () => {
      const sort = button.dataset.sort;
      if (state.cut && sort !== state.sort) return runUsages(sort === "score" ? "position" : sort);
      state.sort = sort;
      renderHits();
    });
  }
  renderTokens();
  showInfo();
  $("text").focus();
}

start();
