// smm-proxy admin: progressive enhancement only (every page works without it).
// Shows each <time datetime> in the browser's time zone; the UTC value stays in its title.
(() => {
  const format = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  });
  const localize = () => {
    for (const el of document.querySelectorAll("time[datetime]")) {
      const at = new Date(el.getAttribute("datetime"));
      if (!Number.isNaN(at.getTime())) el.textContent = format.format(at);
    }
  };
  // Select the whole one-time secret on focus, so it can be copied at once.
  const secrets = () => {
    for (const el of document.querySelectorAll("input.secret")) el.addEventListener("focus", () => el.select());
  };
  // Forms with data-confirm (Refund, Rotate key) ask once before they are sent.
  const confirms = () => {
    for (const form of document.querySelectorAll("form[data-confirm]")) {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    }
  };
  document.addEventListener("DOMContentLoaded", () => {
    localize();
    secrets();
    confirms();
  });
})();
