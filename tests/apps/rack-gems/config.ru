# The rack-gems web app: a plain Rack app served by puma, on Debian's gems.
app = lambda do |env|
  case env["PATH_INFO"]
  when "/_health" then [200, { "content-type" => "text/plain" }, ["ok"]]
  when "/" then [200, { "content-type" => "text/plain" }, ["rack-gems on Rack #{Rack.release} and Ruby #{RUBY_VERSION}\n"]]
  else [404, { "content-type" => "text/plain" }, ["not found\n"]]
  end
end

run app
