(function () {
  "use strict";
  var root = document.documentElement;
  var slides = Array.prototype.slice.call(document.querySelectorAll(".slide"));
  var current = 0;
  root.classList.add("js");
  try {
    var chosen = window.sessionStorage.getItem("course-assets-theme");
    if (chosen === "dark" || chosen === "light") {
      root.setAttribute("data-theme", chosen);
    }
  } catch (ignored) {
    // no storage: follow the system's theme
  }

  function scale() {
    var factor = Math.min(window.innerWidth / 1280, window.innerHeight / 720);
    root.style.setProperty("--scale", String(factor));
  }

  // Shrink a slide's text until it fits; the figures take whatever room is left.
  function fit(slide) {
    var body = slide.querySelector(".slide-body");
    var size = 100;
    body.style.fontSize = "";
    while (body.scrollHeight > body.clientHeight + 1 && size > 50) {
      size -= 5;
      body.style.fontSize = (26 * size / 100) + "px";
    }
  }

  // A small figure may grow, but to no more than twice its own size.
  function cap(image) {
    if (image.naturalWidth && image.naturalHeight) {
      image.style.maxWidth = Math.min(image.naturalWidth * 2, 1280) + "px";
      image.style.maxHeight = (image.naturalHeight * 2) + "px";
    }
  }

  function show(index) {
    current = Math.max(0, Math.min(slides.length - 1, index));
    slides.forEach(function (slide, i) {
      slide.classList.toggle("current", i === current);
      slide.setAttribute("aria-hidden", i === current ? "false" : "true");
    });
    var hash = "#" + (current + 1);
    if (window.location.hash !== hash) {
      history.replaceState(null, "", hash);
    }
  }

  // D switches between light and dark, whatever the system asks for; the choice lasts the tab.
  function toggleTheme() {
    var dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
    var current = root.getAttribute("data-theme") || (dark ? "dark" : "light");
    var next = current === "dark" ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try {
      window.sessionStorage.setItem("course-assets-theme", next);
    } catch (ignored) {
      // storage refused (private mode, file:// rules): the choice lasts this page only
    }
  }

  function fromHash() {
    var number = parseInt(window.location.hash.slice(1), 10);
    return isNaN(number) ? 0 : number - 1;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var key = event.key;
    if (key === "ArrowRight" || key === "ArrowDown" || key === "PageDown" || key === " " || key === "Spacebar") {
      show(current + 1);
    } else if (key === "ArrowLeft" || key === "ArrowUp" || key === "PageUp") {
      show(current - 1);
    } else if (key === "Home") {
      show(0);
    } else if (key === "End") {
      show(slides.length - 1);
    } else if (key === "d" || key === "D") {
      toggleTheme();
    } else {
      return;
    }
    event.preventDefault();
  });

  window.addEventListener("resize", scale);
  window.addEventListener("hashchange", function () { show(fromHash()); });
  Array.prototype.forEach.call(document.querySelectorAll(".deck-figure img"), function (image) {
    if (image.complete) {
      cap(image);
    } else {
      image.addEventListener("load", function () { cap(image); });
    }
  });
  scale();
  slides.forEach(fit);
  show(fromHash());
}());
