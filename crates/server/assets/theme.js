// Applies the theme chosen on this device before the page paints (no flash); without a choice,
// or without JavaScript, the stylesheet follows the system's light or dark setting.
(function () {
  try {
    var theme = localStorage.getItem("watchtower-theme");
    if (theme === "light" || theme === "dark") {
      document.documentElement.setAttribute("data-theme", theme);
    }
  } catch (e) { /* storage refused: follow the system */ }
})();
