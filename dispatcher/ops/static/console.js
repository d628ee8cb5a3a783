// The console's only script (no framework, no build step): times in the reader's own zone.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const t of document.querySelectorAll("time[datetime]")) {
    const at = new Date(t.getAttribute("datetime"));
    if (!Number.isNaN(at.getTime())) {
      t.title = at.toLocaleString(undefined, { timeZoneName: "short" });
    }
  }
});
