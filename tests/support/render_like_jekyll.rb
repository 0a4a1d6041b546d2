# Render Markdown posts exactly as `jekyll build` does — Liquid with the site's payload, then
# Jekyll's own kramdown converter with its default options — for many documents in one process.
# Protocol: one JSON string (the post body) per line on stdin; one JSON object per line on stdout,
# {"html": ...} or {"error": ...}.
require "json"
require "tmpdir"

out = $stdout.dup
$stdout.reopen($stderr) # Jekyll's log lines must never mix with the answers
require "jekyll"

Dir.mktmpdir do |dir|
  config = Jekyll.configuration(
    "source" => dir, "destination" => File.join(dir, "_site"), "quiet" => true, "safe" => true,
    "baseurl" => "/blog", "title" => "LEAKED-SITE-TITLE", "plugins" => [], "disable_disk_cache" => true
  )
  site = Jekyll::Site.new(config)
  markdown = site.find_converter_instance(Jekyll::Converters::Markdown)
  payload = site.site_payload
  info = { registers: { site: site, page: {} }, strict_filters: true }
  $stdin.each_line do |line|
    answer =
      begin
        site.liquid_renderer.reset # its template cache is keyed by file name
        liquid = site.liquid_renderer.file("post.md").parse(JSON.parse(line)).render!(payload, info)
        { "html" => markdown.convert(liquid) }
      rescue StandardError => e
        { "error" => "#{e.class}: #{e.message}" }
      end
    out.puts(JSON.generate(answer))
    out.flush
  end
end
