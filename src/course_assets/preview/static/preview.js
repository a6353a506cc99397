// Keep an open preview page current: listen for builds, show their errors, swap in new content.
"use strict";

(() => {
  const root = document.documentElement;
  const overlay = document.getElementById("preview-overlay");
  const status = document.getElementById("preview-status");
  let latest = root.dataset.version;
  let fetching = false;

  function showErrors(state) {
    const errors = state.problems.filter((p) => p.severity === "error");
    // Figure lint warnings show in the panel too: a figure readers cannot read is a defect.
    const shown = state.problems.filter((p) => p.severity === "error" || p.lint);
    const list = overlay.querySelector("ul");
    overlay.querySelector("h2").textContent = errors.length || !shown.length
      ? "The build failed" : "The figure lint found problems";
    list.replaceChildren(...shown.map((problem) => {
      const item = document.createElement("li");
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
    overlay.hidden = shown.length === 0;
    const warnings = state.problems.length - errors.length;
    status.dataset.state = errors.length ? "failed" : "ok";
    status.textContent = errors.length
      ? `build ${state.generation} failed`
      : `build ${state.generation}` + (warnings ? `, ${warnings} warning${warnings > 1 ? "s" : ""}` : "");
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
    showErrors(state);
    latest = state.version;
    if (root.dataset.version !== latest) refresh();
  });
  events.addEventListener("error", () => {
    status.dataset.state = "offline";
    status.textContent = "preview server not reachable, retrying...";
  });
})();
