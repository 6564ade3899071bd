// vite-node20: serves the page Vite built into dist/ (npm run build).
import path from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";

const here = path.dirname(fileURLToPath(import.meta.url));
const app = express();
const port = Number(process.env.PORT || 8000);

app.get("/_health", (req, res) => {
  res.type("text/plain").send("ok");
});

app.use(express.static(path.join(here, "dist")));

app.listen(port, "0.0.0.0", () => {
  console.log(`vite-node20 listening on 0.0.0.0:${port}`);
});
