// express-pnpm: a small Express 4 app whose dependencies come from pnpm-lock.yaml.
const express = require("express");

const app = express();
const port = Number(process.env.PORT || 8000);

app.get("/_health", (req, res) => {
  res.type("text/plain").send("ok");
});

app.get("/", (req, res) => {
  const version = require("express/package.json").version;
  res.type("text/plain").send(`express-pnpm express=${version}\n`);
});

app.listen(port, "0.0.0.0", () => {
  console.log(`express-pnpm listening on 0.0.0.0:${port}`);
});
