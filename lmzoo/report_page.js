// The page's behaviour: sortable results table, per-character surprisal, difference view, hover.
// Reads only the JSON block `lmzoo-data` written by lmzoo/report.py; every text goes in with
// textContent (never innerHTML), so corpus text shows as text. The URL fragment may hold
// sort=KEY (ascending) or sort=-KEY (descending), a=NAME&b=NAME for the difference view, and
// hover=NAME:INDEX to open the box of one character.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("lmzoo-data").textContent);
  const params = new URLSearchParams(location.hash.slice(1));

  // Sortable table: cells carry data-value (a number, or text); empty values stay last.
  const table = document.getElementById("results-table");
  const tbody = table.tBodies[0];
  const headers = Array.from(table.tHead.rows[0].cells);
  function sortBy(key, descending) {
    const col = headers.findIndex((h) => h.dataset.key === key);
    if (col < 0) return;
    const rows = Array.from(tbody.rows);
    rows.sort((a, b) => {
      const x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
      const missX = x === undefined || x === "", missY = y === undefined || y === "";
      if (missX || missY) return Number(missX) - Number(missY);
      const nx = Number(x), ny = Number(y);
      const order = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
      return descending ? -order : order;
    });
    rows.forEach((r) => tbody.appendChild(r));
    headers.forEach((h) => h.removeAttribute("aria-sort"));
    headers[col].setAttribute("aria-sort", descending ? "descending" : "ascending");
  }
  headers.forEach((h) => h.addEventListener("click", () => {
    sortBy(h.dataset.key, h.getAttribute("aria-sort") === "ascending");
  }));
  const sort = params.get("sort");
  if (sort) sortBy(sort.replace(/^-/, ""), sort.startsWith("-"));

  // Per-character surprisal: one span per character of the paragraph, for every language model.
  const views = data.views;
  const maxBits = data.scale.max_bits, diffBits = data.scale.diff_bits;
  const shade = (t, hue) => `hsl(${hue}, 85%, ${Math.round(100 - 50 * Math.min(1, Math.max(0, t)))}%)`;
  const heat = (bits) => shade(bits / maxBits, 8);
  const diverge = (d) => shade(Math.abs(d) / diffBits, d >= 0 ? 8 : 215);
  const fmt = (x) => x.toFixed(x < 10 ? 2 : 1);

  // Letters of one word stay on one line (a span.w around them, at most 40); Han characters and
  // everything else may break anywhere.
  const wordChar = (ch) => /[\p{L}\p{N}'\u2019-]/u.test(ch) && !/\p{Script=Han}/u.test(ch);
  function renderChars(target, view, color) {
    const frag = document.createDocumentFragment();
    let word = null;
    Array.from(view.text).forEach((ch, i) => {
      const span = document.createElement("span");
      span.className = "c";
      span.dataset.i = String(i);
      const k = view.char_token[i];
      if (k < 0) span.classList.add("free");
      else if (view.tokens[k].unk) span.classList.add("unk");
      span.textContent = ch === "\n" ? "\u23ce" : ch;
      span.style.background = color(i);
      if (!wordChar(ch)) {
        word = null;
        frag.appendChild(span);
      } else {
        if (!word || word.childElementCount >= 40) {
          word = document.createElement("span");
          word.className = "w";
          frag.appendChild(word);
        }
        word.appendChild(span);
      }
      if (ch === "\n") frag.appendChild(document.createElement("br"));
    });
    target.replaceChildren(frag);
  }

  function describe(view, i) {
    const chars = Array.from(view.text);
    const k = view.char_token[i];
    if (k < 0) {
      return { head: `${view.name}: ${fmt(view.char_bits[i])} bits for this character of the layout between ` +
                     "words (no token stands for it)", top: [] };
    }
    const t = view.tokens[k];
    const piece = chars.slice(t.start, t.end).join("").replace("\n", "\u23ce");
    const lines = [`${view.name}: ${fmt(view.char_bits[i])} bits for this character`,
                   `token \u201c${piece}\u201d: ${fmt(t.bits)} bits` +
                   (t.unk ? ` (<unk>, of which ${fmt(t.spelling_bits)} bits to spell it)` : "") +
                   (t.empty_gap_bits ? `, and ${fmt(t.empty_gap_bits)} bits for no space before it` : "")];
    if (t.top && view.top_matches_scoring === false && typeof t.bits_in_top === "number") {
      lines.push(`(the top tokens come from ${view.name}'s next-token function, which reads the text before ` +
                 `this point differently from its scoring: there this token costs ${fmt(t.bits_in_top)} bits)`);
    }
    return { head: lines.join("\n"), top: t.top || [] };
  }

  const tip = document.getElementById("tooltip");
  function showTip(ev, parts) {
    const box = document.createDocumentFragment();
    parts.forEach((p) => {
      const head = document.createElement("div");
      head.className = "tip-head";
      head.textContent = p.head;
      box.appendChild(head);
      if (p.top.length) {
        const list = document.createElement("ol");
        p.top.forEach(([token, bits]) => {
          const item = document.createElement("li");
          item.textContent = `${JSON.stringify(token)} ${fmt(bits)} bits`;
          list.appendChild(item);
        });
        const label = document.createElement("div");
        label.textContent = "top next tokens here:";
        box.appendChild(label);
        box.appendChild(list);
      }
    });
    tip.replaceChildren(box);
    tip.hidden = false;
    tip.style.left = `${Math.min(ev.pageX + 12, document.body.scrollWidth - 340)}px`;
    tip.style.top = `${ev.pageY + 16}px`;
  }

  const rowsBox = document.getElementById("surprisal-rows");
  views.forEach((view, v) => {
    const block = document.createElement("div");
    block.className = "srow";
    block.dataset.view = String(v);
    const title = document.createElement("h3");
    title.textContent = `${view.name} \u00b7 ${fmt(view.bits_per_char)} bits/char on this paragraph`;
    const chars = document.createElement("p");
    chars.className = "chars";
    renderChars(chars, view, (i) => heat(view.char_bits[i]));
    block.append(title, chars);
    rowsBox.appendChild(block);
  });
  rowsBox.addEventListener("mousemove", (ev) => {
    const span = ev.target.closest ? ev.target.closest("span.c") : null;
    if (!span) { tip.hidden = true; return; }
    const view = views[Number(span.closest(".srow").dataset.view)];
    showTip(ev, [describe(view, Number(span.dataset.i))]);
  });
  rowsBox.addEventListener("mouseleave", () => { tip.hidden = true; });
  // hover=NAME:INDEX in the URL fragment shows that character's box at load (a link can point at it).
  const hover = (params.get("hover") || "").match(/^(.*):(\d+)$/);
  const hovered = hover ? views.findIndex((w) => w.name === hover[1]) : -1;
  if (hovered >= 0) {
    const span = rowsBox.querySelector(`.srow[data-view="${hovered}"] span.c[data-i="${hover[2]}"]`);
    if (span) {
      const box = span.getBoundingClientRect();
      showTip({ pageX: box.left + window.scrollX, pageY: box.top + window.scrollY },
              [describe(views[hovered], Number(hover[2]))]);
    }
  }

  // Difference view: A's bits minus B's, character by character (red: A paid more; blue: B did).
  const pickA = document.getElementById("diff-a"), pickB = document.getElementById("diff-b");
  const diffBox = document.getElementById("diff-chars"), diffTitle = document.getElementById("diff-title");
  if (views.length >= 2) {
    views.forEach((view, v) => {
      [pickA, pickB].forEach((pick) => {
        const option = document.createElement("option");
        option.value = String(v);
        option.textContent = view.name;
        pick.appendChild(option);
      });
    });
    const index = (name, fallback) => {
      const found = views.findIndex((w) => w.name === name);
      return found >= 0 ? found : fallback;
    };
    pickA.value = String(index(params.get("a"), 0));
    pickB.value = String(index(params.get("b"), 1));
    const drawDiff = () => {
      const a = views[Number(pickA.value)], b = views[Number(pickB.value)];
      if (a.text !== b.text) {
        diffTitle.textContent = `${a.name} and ${b.name} scored different paragraphs: no difference to show`;
        diffBox.replaceChildren();
        return;
      }
      diffTitle.textContent = `${a.name} minus ${b.name}: ${fmt(a.bits_per_char - b.bits_per_char)} bits/char ` +
        "on this paragraph (red: A paid more, blue: B paid more)";
      renderChars(diffBox, a, (i) => diverge(a.char_bits[i] - b.char_bits[i]));
    };
    pickA.addEventListener("change", drawDiff);
    pickB.addEventListener("change", drawDiff);
    drawDiff();
    diffBox.addEventListener("mousemove", (ev) => {
      const span = ev.target.closest ? ev.target.closest("span.c") : null;
      if (!span) { tip.hidden = true; return; }
      const i = Number(span.dataset.i), a = views[Number(pickA.value)], b = views[Number(pickB.value)];
      const d = { head: `A \u2212 B = ${fmt(a.char_bits[i] - b.char_bits[i])} bits`, top: [] };
      showTip(ev, [d, describe(a, i), describe(b, i)]);
    });
    diffBox.addEventListener("mouseleave", () => { tip.hidden = true; });
  } else {
    document.getElementById("diff-controls").hidden = true;
    diffTitle.textContent = "The difference view needs two language models.";
  }
  document.body.dataset.ready = "yes";
})();
