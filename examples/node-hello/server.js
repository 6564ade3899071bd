// node-hello: a tiny web app on Node's built-in http module.
"use strict";

const http = require("http");

const pages = { "/": "Hello from node-hello!\n", "/_health": "ok\n" };
const port = Number(process.env.PORT || 8000);

const server = http.createServer((req, res) => {
  const body = req.method === "GET" ? pages[req.url.split("?")[0]] : undefined;
  res.writeHead(body ? 200 : 404, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(body || "not found\n");
});

server.listen(port, "0.0.0.0", () => console.log(`node-hello listening on 0.0.0.0:${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
