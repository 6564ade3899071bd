# The bestsiteever web app: a plain Rack app served by puma.
app = lambda do |env|
  case env["PATH_INFO"]
  when "/_health" then [200, { "content-type" => "text/plain" }, ["ok\n"]]
  when "/" then [200, { "content-type" => "text/plain" }, ["Welcome to the best site ever!\n"]]
  else [404, { "content-type" => "text/plain" }, ["not found\n"]]
  end
end

run app
