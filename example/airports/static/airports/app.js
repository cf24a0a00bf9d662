// Shows how many airports the API serves (and so that the JSON list and its gzip work end to end).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const count = document.getElementById("count");
  fetch("/api/airports", { headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      return response.json();
    })
    .then((airports) => {
      count.textContent = `${airports.length} airports.`;
    })
    .catch((error) => {
      count.textContent = `Could not list the airports: ${error.message}`;
    });
});
