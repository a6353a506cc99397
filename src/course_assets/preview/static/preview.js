// Keep an open preview page current: listen for builds, show their findings, swap in new content.
"use strict";

(() => {
  const root = document.documentElement;
  const panel = document.getElementById("preview-findings");
  const status = document.getElementById("preview-status");
  // The files whose findings this page lists (a chapter: its source and its figures' scripts).
  const sources = panel.dataset.sources ? JSON.parse(panel.dataset.sources) : null;
  let latest = root.dataset.version;
  let fetching = false;
  let failed = panel.open;

  function count(number, thing) {
    return `${number} ${thing}${number === 1 ? "" : "s"}`;
  }

  // The same panel pages.findings_panel writes: keep the two alike.
  function showFindings(state) {
    const shown = state.problems.filter((p) => p.severity === "error" || p.lint);
    const mine = sources ? shown.filter((p) => !p.path || sources.includes(p.path)) : shown;
    const elsewhere = shown.filter((p) => p.severity === "error" && !mine.includes(p)).length;
    const errors = mine.filter((p) => p.severity === "error").length + elsewhere;
    const warnings = mine.length - (errors - elsewhere);
    const where = sources ? "on this page" : "in the course";
    const lint = `${count(warnings, "figure lint warning")} ${where}`;
    panel.querySelector("summary").textContent = errors
      ? `The build failed: ${count(errors, "error")}` + (warnings ? `; ${lint}` : "")
      : lint[0].toUpperCase() + lint.slice(1);
    panel.querySelector("ul").replaceChildren(...mine.map((problem) => {
      const item = document.createElement("li");
      item.className = problem.severity === "error" ? "preview-error" : "preview-warning";
      if (problem.location) {
        const where = document.createElement("code");
        where.className = "location";
        where.textContent = problem.location;
        item.append(where, ": ");
      }
      const message = document.createElement("span");
      message.className = "message";
      message.textContent = (problem.severity === "error" ? "" : "warning: ") + problem.message;
      item.append(message);
      return item;
    }));
    panel.querySelectorAll(".preview-findings-note, .preview-elsewhere")
      .forEach((node) => node.remove());
    if (errors) {
      const note = document.createElement("p");
      note.className = "preview-findings-note";
      note.textContent = "The preview below is the last good build. Fix the error and save; "
        + "this panel folds when the build passes.";
      panel.querySelector("summary").after(note);
    }
    if (elsewhere) {
      const other = document.createElement("p");
      other.className = "preview-elsewhere";
      const index = document.createElement("a");
      index.href = "/";
      index.textContent = "the index";
      other.append(`${count(elsewhere, "error")} in other files: `, index, " lists them.");
      panel.append(other);
    }
    // Opened when a build fails, folded when it passes; otherwise as the reader left it.
    if (errors && !failed) panel.open = true;
    if (!errors && failed) panel.open = false;
    failed = errors > 0;
    panel.hidden = errors + warnings === 0;
    const all = state.problems.filter((p) => p.severity === "error").length;
    const allWarnings = state.problems.length - all;
    status.dataset.state = all ? "failed" : "ok";
    status.textContent = all
      ? `build ${state.generation} failed`
      : `build ${state.generation}` + (allWarnings ? `, ${count(allWarnings, "warning")}` : "");
    status.title = state.summary;
  }

  // Replace the page's content in place (the scroll position stays, unchanged figures do not
  // flicker); a figure whose bytes changed has a new ?v= URL, so the browser fetches it anew.
  async function refresh() {
    if (fetching) return; // the loop below catches up with anything that arrives meanwhile
    fetching = true;
    try {
      for (let tries = 0; root.dataset.version !== latest && tries < 3; tries += 1) {
        const response = await fetch(location.href, { cache: "no-store" });
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        const main = fresh.querySelector("main");
        if (!main) throw new Error("the server sent a page without content");
        document.querySelector("main").replaceWith(document.adoptNode(main));
        document.title = fresh.title;
        const crumb = fresh.getElementById("preview-crumb");
        const current = document.getElementById("preview-crumb");
        if (crumb && current) current.textContent = crumb.textContent;
        root.dataset.version = fresh.documentElement.dataset.version;
      }
    } catch (error) {
      location.reload();
    } finally {
      fetching = false;
    }
  }

  const events = new EventSource("/_preview/events");
  events.addEventListener("build", (event) => {
    const state = JSON.parse(event.data);
    showFindings(state);
    latest = state.version;
    if (root.dataset.version !== latest) refresh();
  });
  events.addEventListener("error", () => {
    status.dataset.state = "offline";
    status.textContent = "preview server not reachable, retrying...";
  });
})();
