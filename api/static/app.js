// The chat page. Article and answer text is untrusted: it is only ever inserted with textContent /
// createTextNode, never as HTML.
"use strict";

const messages = document.getElementById("messages");
const form = document.getElementById("ask-form");
const input = document.getElementById("question");
const send = document.getElementById("send");
const articlePanel = document.getElementById("article");
const welcome = document.getElementById("welcome");
const FILTERS = [["since", "from"], ["until", "to"], ["as_of", "as of"], ["source", "source"], ["actor", "actor"]];
let history = [];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function addMessage(role, className) {
  const item = el("li", `msg ${role} ${className || ""}`.trim());
  messages.appendChild(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

// A timeline answer: one row per event, its date down the side, its quote with the [n] that opens the article.
function renderTimeline(item, data) {
  const list = el("ol", "timeline");
  data.citations.forEach((citation) => {
    const row = el("li", "timeline-event");
    row.appendChild(el("time", "timeline-date", citation.date));
    const body = el("div", "timeline-quote");
    body.appendChild(document.createTextNode(citation.quote + " "));
    const button = el("button", "cite", `[${citation.n}]`);
    button.type = "button";
    button.title = `${citation.title || "(untitled)"} (${citation.date || "undated"})`;
    button.addEventListener("click", () => openArticle(citation));
    body.appendChild(button);
    row.appendChild(body);
    list.appendChild(row);
  });
  item.appendChild(list);
  item.appendChild(sourceList(data.citations));
}

function renderAnswer(item, data) {
  item.textContent = "";
  const coverage = data.coverage && data.coverage.articles ? el("div", "coverage", data.coverage.text) : null;
  if (data.timeline && data.citations.length) {
    item.classList.add("timeline-answer");
    renderTimeline(item, data);
    if (coverage) item.appendChild(coverage);
    return;
  }
  if (data.abstained) {
    item.classList.add("no-answer");
    item.appendChild(el("span", "no-answer-label", "No answer in the archive"));
    item.appendChild(document.createTextNode(data.answer));
    if (data.nearest && data.nearest.length) {
      item.appendChild(el("div", "meta", "Nearest articles:"));
      // nothing is quoted from them: they open with nothing marked
      item.appendChild(sourceList(data.nearest.map((a) => ({ ...a, field: "text", start: 0, end: 0 }))));
    }
    if (coverage) item.appendChild(coverage);
    return;
  }
  const byN = new Map(data.citations.map((c) => [c.n, c]));
  // The direct answer first, in bold; each of its parts opens the passage that states it.
  const shorts = data.short_answers || (data.short_answer ? [data.short_answer] : []);
  if (shorts.length) {
    const lead = el("div", "short-answer");
    shorts.forEach((s, i) => {
      if (i) lead.appendChild(document.createTextNode(" · "));
      lead.appendChild(el("strong", null, s.text));
      const citation = byN.get(s.citation);
      if (citation) {
        const button = el("button", "cite", `[${s.citation}]`);
        button.type = "button";
        button.addEventListener("click", () => openArticle(citation));
        lead.appendChild(button);
      }
    });
    item.appendChild(lead);
  }
  // Split the answer on its [n] markers: text stays text, markers become buttons.
  const parts = data.answer.split(/(\[\d+\])/);
  for (const part of parts) {
    const m = /^\[(\d+)\]$/.exec(part);
    if (m && byN.has(Number(m[1]))) {
      const citation = byN.get(Number(m[1]));
      const button = el("button", "cite", `[${m[1]}]`);
      button.type = "button";
      button.title = `${citation.title || "(untitled)"} (${citation.date || "undated"})`;
      button.addEventListener("click", () => openArticle(citation));
      item.appendChild(button);
    } else if (part) {
      item.appendChild(document.createTextNode(part));
    }
  }
  item.appendChild(sourceList(data.citations));
  if (data.actors && data.actors.length) {
    item.appendChild(el("div", "actors", "Actors: " + data.actors.map((a) => a.name).join(", ")));
  }
  if (coverage) item.appendChild(coverage);
}

// One entry per article, however many of its sentences are cited; each opens the article at its first citation.
function sourceList(citations) {
  const byArticle = new Map();
  for (const c of citations) {
    if (!byArticle.has(c.article_id)) byArticle.set(c.article_id, []);
    byArticle.get(c.article_id).push(c);
  }
  const list = el("ul", "sources");
  for (const cited of byArticle.values()) {
    const first = cited[0];
    const li = el("li");
    const numbers = cited.filter((c) => c.n !== undefined).map((c) => `[${c.n}]`).join("");
    if (numbers) li.appendChild(el("span", "source-refs", numbers + " "));
    const link = el("a", "source-link", first.title || "(untitled)");
    link.href = `/api/articles/${encodeURIComponent(first.article_id)}`;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      openArticle(first);
    });
    li.appendChild(link);
    li.appendChild(document.createTextNode(` — ${first.source || "unknown source"}, ${first.date || "undated"}`));
    list.appendChild(li);
  }
  return list;
}

function activeFilters() {
  const active = {};
  for (const [name] of FILTERS) {
    const value = document.getElementById(name).value.trim();
    if (value) active[name] = value;
  }
  return active;
}

function showFilters() {
  const active = activeFilters();
  const words = FILTERS.filter(([name]) => active[name]).map(([name, label]) => `${label} ${active[name]}`);
  document.getElementById("filters-active").textContent = words.length ? `(${words.join(", ")})` : "";
  document.getElementById("filters").classList.toggle("active", words.length > 0);
}

// How long ago an ISO time was, in words ("4 minutes ago"): how fresh the archive is, at a glance.
function ago(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (Number.isNaN(seconds)) return iso;
  const [n, unit] = seconds < 60 ? [0, ""] : seconds < 3600 ? [Math.floor(seconds / 60), "minute"]
    : seconds < 86400 ? [Math.floor(seconds / 3600), "hour"] : [Math.floor(seconds / 86400), "day"];
  return n === 0 ? "just now" : `${n} ${unit}${n === 1 ? "" : "s"} ago`;
}

async function showOverview() {
  const summary = document.getElementById("archive-summary");
  const response = await fetch("/api/overview");
  const body = await response.json();
  if (!response.ok) {
    summary.textContent = body.detail || "The archive could not be read.";
    return;
  }
  const range = body.first_date ? `, dated ${body.first_date} to ${body.last_date}` : "";
  const more = body.sources > body.top_sources.length ? ", …" : "";
  const from = body.top_sources.length ? ` (${body.top_sources.join(", ")}${more})` : "";
  const updated = body.last_update ? `; last updated ${ago(body.last_update)}` : "";
  const feeds = body.feeds ? `; ${body.feeds} feed${body.feeds === 1 ? "" : "s"}` : "";
  summary.textContent = `The archive holds ${body.articles} articles from ${body.sources} sources${from}${range}${updated}${feeds}.`;
  if (body.last_update) summary.title = `last update ${body.last_update.replace("T", " ").slice(0, 16)} UTC`;
  const examples = document.getElementById("examples");
  examples.textContent = "";
  for (const question of body.examples) {
    const button = el("button", "example", question);
    button.type = "button";
    button.addEventListener("click", () => ask(question));
    examples.appendChild(button);
  }
}

async function openArticle(citation) {
  const response = await fetch(`/api/articles/${encodeURIComponent(citation.article_id)}`);
  const body = await response.json();
  if (!response.ok) {
    alert(body.detail || "Could not load the article");
    return;
  }
  const title = document.getElementById("article-title");
  title.textContent = "";
  if (citation.field === "title" && body.title) {
    // a quoted headline: title[start, end) is marked, the rest of the title stays plain
    const mark = el("mark", null, body.title.slice(citation.start, citation.end));
    title.appendChild(mark);
    title.appendChild(document.createTextNode(body.title.slice(citation.end)));
  } else {
    title.textContent = body.title || "(untitled)";
  }
  const meta = [body.source, body.date, (body.authors || []).join(", ")].filter(Boolean).join(" · ");
  document.getElementById("article-meta").textContent = meta;
  const container = document.getElementById("article-text");
  container.textContent = "";
  // Paragraphs are separated by blank lines; the cited span [start, end) is wrapped in <mark>.
  let offset = 0;
  let marked = null;
  for (const paragraph of body.text.split("\n\n")) {
    const p = el("p");
    const start = offset, end = offset + paragraph.length;
    const from = Math.max(citation.start, start), to = Math.min(citation.end, end);
    if (citation.field !== "title" && from < to) {
      p.appendChild(document.createTextNode(paragraph.slice(0, from - start)));
      const mark = el("mark", null, paragraph.slice(from - start, to - start));
      p.appendChild(mark);
      p.appendChild(document.createTextNode(paragraph.slice(to - start)));
      marked = marked || mark;
    } else {
      p.textContent = paragraph;
    }
    container.appendChild(p);
    offset = end + 2;
  }
  if (body.url) {
    const link = el("a", null, "Original article");
    link.href = body.url;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
    container.appendChild(link);
  }
  articlePanel.hidden = false;
  if (marked) marked.scrollIntoView({ block: "center" });
}

// A question about "the latest" or "today" answered from sources more than a day old says so: the archive may
// not have caught up (a feed down, a folder not yet dropped into), and the answer may be out of date.
function staleNote(question, data) {
  if (!/\b(latest|today|today's|newest|most recent)\b/i.test(question)) return null;
  const dates = (data.citations || []).map((c) => c.date).filter(Boolean).sort();
  if (!dates.length) return null;
  const newest = dates[dates.length - 1];
  const endOfThatDay = Date.parse(newest) + 86400e3;
  if (Number.isNaN(endOfThatDay) || Date.now() - endOfThatDay < 86400e3) return null;
  return `Note: the newest source of this answer is from ${newest}, more than a day ago.`;
}

async function ask(question) {
  welcome.hidden = true;
  const filters = activeFilters();
  const user = addMessage("user");
  user.textContent = question;
  const used = FILTERS.filter(([name]) => filters[name]).map(([name, label]) => `${label} ${filters[name]}`);
  if (used.length) user.appendChild(el("div", "filters-used", `Filters: ${used.join(", ")}`));
  const item = addMessage("assistant", "pending");
  item.textContent = "Searching the archive…";
  send.disabled = true;
  const payload = { question, history, ...filters };
  try {
    const response = await fetch("/api/ask", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
    });
    const data = await response.json();
    if (!response.ok) {
      const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      throw new Error(detail || response.statusText);
    }
    item.classList.remove("pending");
    renderAnswer(item, data);
    const stale = staleNote(question, data);
    if (stale) item.appendChild(el("div", "stale-note", stale));
    history.push({ role: "user", content: question }, { role: "assistant", content: data.answer });
    history = history.slice(-12);
  } catch (error) {
    item.classList.remove("pending");
    item.classList.add("error");
    item.textContent = `Error: ${error.message}`;
  } finally {
    send.disabled = false;
    input.focus();
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question) return;
  input.value = "";
  ask(question);
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

document.getElementById("close-article").addEventListener("click", () => { articlePanel.hidden = true; });
document.getElementById("new-chat").addEventListener("click", () => {
  history = [];
  messages.textContent = "";
  articlePanel.hidden = true;
  welcome.hidden = false;
  input.focus();
});
for (const [name] of FILTERS) document.getElementById(name).addEventListener("input", showFilters);
document.getElementById("clear-filters").addEventListener("click", () => {
  for (const [name] of FILTERS) document.getElementById(name).value = "";
  showFilters();
});
showFilters();
showOverview();
setInterval(() => { if (!welcome.hidden) showOverview(); }, 60e3);  // "updated 4 minutes ago" stays true
