import "./style.css";

document.querySelector("#app").textContent = `Built with Vite at ${__BUILD_TIME__}.`;
