#!/usr/bin/env python3
"""Builds requests.txt: a benign corpus of realistic HTTP requests for
scripts/detect-score's false-positive rate. Deterministic (fixed seed).
Each request is separated by a line "### <n> <what>"; line ends are LF in the
file and become CRLF in the head when scored. Run: python3 gen.py > requests.txt"""
import json, random, urllib.parse as up

random.seed(7)
UAS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "okhttp/4.12.0", "python-requests/2.31.0", "curl/8.5.0", "Go-http-client/1.1",
    "PostmanRuntime/7.37.3", "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP1A.240405.002)",
]
NAMES = ["O'Brien", "Seán O'Connor", "D'Angelo", "Mary-Jane Smith", "José Álvarez", "Zoë Krüger",
         "Nguyễn Văn A", "李雷", "Ольга", "Jean-Luc Picard", "Renée O'Neil-Hart", "Sam \"the Man\" Lee"]
SEARCH = [
    "select a plan", "how to drop a class", "union station chicago", "1 - 2", "rock 'n' roll",
    "don't stop me now", "C++ vs C#", "what is 2+2?", "50% off sale", "shoes & socks", "a/b testing",
    "where is my order #1234", "john's pizza", "order by price", "delete my account", "update email address",
    "script writing course", "alert system for servers", "cat food", "ls command linux tutorial",
    "\"exact phrase\" search", "(parenthesis) test", "email: bob@example.com", "price < 100", "size > 10",
    "tom & jerry; season 2", "javascript tutorial", "java.util list", "etc etc", "passwd reset help",
    "sleep apnea", "benchmark results 2024", "SELECT star wars", "1=1 math", "or else", "50/50",
    "the ../ notation", "what does ${} mean in bash", "{{mustache}} templates", "#hashtag", "@mention",
    "c:\\program files", "semi;colon", "pipe | char", "back`tick", "$100 gift card", "100% cotton",
]
MARKDOWN = [
    "I like **bold** and _italic_ text.\n\n- item one\n- item two",
    "Use `git status` then `git commit -m \"msg\"`.",
    "Here is <b>bold</b> and <i>italic</i> and a <a href=\"https://example.com\">link</a>.",
    "```python\nfor i in range(10):\n    print(i)\n```",
    "```js\nconst x = a < b ? a : b;\nif (x && y) { return x; }\n```",
    "See [the docs](https://docs.example.com/guide?section=2#install) for details.",
    "Steps: 1) open settings; 2) click 'Save'; 3) done!",
    "Quote: > It's not a bug, it's a feature.",
    "Table:\n| a | b |\n|---|---|\n| 1 | 2 |",
    "My SQL query `SELECT name FROM users WHERE id = 5` returns nothing, why?",
    "Price went from $10 to $12 (20% increase) - can't believe it.",
    "Email me at first.last+tag@example.co.uk or call +1 (555) 010-9999.",
    "Use <br/> for line breaks and <p>paragraphs</p>.",
    "Windows path: C:\\Users\\me\\Documents\\report.docx",
    "Relative link: [up](../README.md)",
    "The formula is a*b + c/d - (e % f).",
    "Don't forget: 'single' and \"double\" quotes, plus `backticks`.",
]
URLS = ["https://example.com/", "https://cdn.example.net/img/logo.png", "https://shop.example.com/hooks/order",
        "http://blog.example.org/2024/05/01/post-title", "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://maps.example.com/?q=48.8584,2.2945", "https://github.com/rust-lang/rust/issues/12345"]
out = []

def req(method, path, headers=None, body=None, what="", host=None):
    h = [("Host", host or random.choice(["app.example", "api.example.com", "shop.example.com"])),
         ("User-Agent", random.choice(UAS)), ("Accept", random.choice(["*/*", "application/json",
         "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"])),
         ("Accept-Language", random.choice(["en-US,en;q=0.9", "de-DE,de;q=0.8,en;q=0.5", "fr-FR"])),
         ("Accept-Encoding", "gzip, deflate, br")]
    h += headers or []
    if body is not None:
        h.append(("Content-Length", str(len(body.encode()))))
    text = f"{method} {path} HTTP/1.1\n" + "".join(f"{k}: {v}\n" for k, v in h) + "\n" + (body or "")
    out.append((what, text))

def q(d):
    return up.urlencode(d)

def auth():
    return [("Authorization", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")]

def cookie():
    return [("Cookie", f"session={random.getrandbits(128):032x}; theme=dark; lang=en-US; _ga=GA1.2.{random.randint(1,10**9)}.{random.randint(1,10**9)}")]

for s in SEARCH:
    req("GET", "/search?" + q({"q": s, "page": random.randint(1, 5)}), cookie(), what="search")
for n in NAMES:
    req("POST", "/api/v1/users", auth() + [("Content-Type", "application/json")],
        json.dumps({"name": n, "email": "x@example.com", "role": "member", "bio": random.choice(MARKDOWN)}, ensure_ascii=False), "json user")
    req("GET", "/api/v1/users?" + q({"name": n}), auth(), what="name query")
for m in MARKDOWN:
    req("POST", "/api/v1/posts/42/comments", auth() + [("Content-Type", "application/json")],
        json.dumps({"body": m, "format": "markdown", "reply_to": None}), "markdown comment")
    req("POST", "/forum/reply", cookie() + [("Content-Type", "application/x-www-form-urlencoded")],
        q({"thread": 991, "message": m, "csrf": "a8f7c6d5e4b3a291"}), "form comment")
for u in URLS:
    req("POST", "/api/v1/webhooks", auth() + [("Content-Type", "application/json")],
        json.dumps({"url": u, "events": ["order.created", "order.paid"], "secret": "whsec_abc123"}), "webhook url")
    req("GET", "/share?" + q({"link": u, "title": "Look at this!"}), what="url in query")
    req("GET", "/login?" + q({"next": "/account/settings"}), what="local redirect")
for i in range(160):
    uid = random.randint(1, 99999)
    kind = i % 12
    if kind == 0:
        req("GET", f"/api/v1/users/{uid}", auth(), what="rest get")
    elif kind == 1:
        req("PUT", f"/api/v1/users/{uid}", auth() + [("Content-Type", "application/json")],
            json.dumps({"name": f"user{uid}", "settings": {"notifications": {"email": True, "sms": False}, "tz": "Europe/Berlin"}}), "rest put")
    elif kind == 2:
        req("GET", f"/api/v1/orders?status=shipped&since=2024-05-01T00:00:00Z&limit=50&sort=-created_at", auth(), what="filters")
    elif kind == 3:
        req("POST", "/api/v1/orders", auth() + [("Content-Type", "application/json")],
            json.dumps({"items": [{"sku": f"SKU-{random.randint(100,999)}", "qty": random.randint(1, 5), "price": 10.99}],
                        "shipping": {"street": "12 O'Connell St.", "city": "Dublin", "zip": "D01 F5P2"}, "note": "Leave at door; ring twice & wait"}), "order")
    elif kind == 4:
        req("POST", "/graphql", auth() + [("Content-Type", "application/json")],
            json.dumps({"query": "query User($id: ID!) { user(id: $id) { id name orders(first: 10) { edges { node { id total } } } } }", "variables": {"id": str(uid)}}), "graphql")
    elif kind == 5:
        req("POST", "/login", [("Content-Type", "application/x-www-form-urlencoded")],
            q({"username": f"user{uid}@example.com", "password": "C0rrect-Horse!Battery$Staple#2024", "remember": "on"}), "login form")
    elif kind == 6:
        b = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
        body = (f"--{b}\nContent-Disposition: form-data; name=\"title\"\n\nHoliday photos (2024)\n"
                f"--{b}\nContent-Disposition: form-data; name=\"file\"; filename=\"IMG_{uid}.jpg\"\nContent-Type: image/jpeg\n\n\xff\xd8\xff\xe0JFIF\n--{b}--\n")
        req("POST", "/upload", cookie() + [("Content-Type", f"multipart/form-data; boundary={b}")], body.replace("\n", "\r\n"), "multipart upload")
    elif kind == 7:
        req("GET", f"/static/js/app.{random.getrandbits(32):08x}.js", what="static asset")
    elif kind == 8:
        req("GET", f"/api/v1/products?category=tools&price_min=5&price_max=100&tags=hand%20tools,garden", auth(), what="product filter")
    elif kind == 9:
        req("POST", "/api/v1/events", [("Content-Type", "application/json"), ("X-Request-Id", f"{random.getrandbits(128):032x}"),
            ("X-Forwarded-For", "203.0.113.7, 10.0.0.1")],
            json.dumps({"event": "page_view", "path": "/products/42?ref=home", "referrer": "https://www.google.com/",
                        "ua": random.choice(UAS), "ts": 1714560000 + uid}), "analytics")
    elif kind == 10:
        req("POST", "/soap", [("Content-Type", "text/xml; charset=utf-8"), ("SOAPAction", "\"urn:GetQuote\"")],
            f"<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><GetQuote><Symbol>ACME</Symbol><Note>Q&amp;A for O'Reilly &lt;2024&gt;</Note></GetQuote></soap:Body></soap:Envelope>", "soap xml")
    else:
        req("PATCH", f"/api/v1/documents/{uid}", auth() + [("Content-Type", "application/json"), ("If-Match", "\"33a64df551425fcc55e4d42a148795d9f25f89d4\"")],
            json.dumps({"content": random.choice(MARKDOWN), "path": "docs/guide/intro.md", "tags": ["how-to", "c#", "node.js"]}), "document patch")
for w in ["rock 'n' roll", "O'Reilly", "what's up?", "1 or 2", "A & B", "x=1;y=2", "name (nickname)", "50%"]:
    req("GET", "/api/v1/search?" + q({"q": w, "filter[brand]": "acme", "sort": "name:asc"}), auth(), what="bracketed filter")
req("GET", "/", [("Cookie", "consent={\"ads\":false,\"analytics\":true}; cart=%5B%7B%22sku%22%3A%22SKU-1%22%7D%5D")], what="json cookie")
req("OPTIONS", "/api/v1/users", [("Origin", "https://app.example"), ("Access-Control-Request-Method", "PUT")], what="cors preflight")
req("GET", "/api/v1/export?format=csv&fields=id,name,email&date_range=2024-01-01..2024-03-31", auth(), what="export range")
req("GET", "/docs/v2/../v3/index.html", what="single dot-dot in docs path")
req("GET", "/wiki/C%2B%2B_(programming_language)", what="wiki title")
req("GET", "/api/v1/geo?lat=48.8584&lng=2.2945&radius=1.5km", auth(), what="geo")
# Text that looks dangerous and is not: prose with SQL words and quotes,
# emoticons and comparisons, code in text fields, URLs. Posted as JSON
# comments, form messages and searches.
TRICKY = [
    "Select your size, then union jack or stars & stripes?",
    "I'd drop the price or offer free shipping from Monday.",
    "Where do I order by phone? The site says 'call us' but there's no number.",
    "Having trouble with the case when the lid won't close.",
    "From home, where I work, the app is slow; from the office it's fine.",
    "Can't log in -- it says 'invalid password' or 'account locked'.",
    "Rock 'n' roll and blues, or jazz if you prefer.",
    "My kids' and parents' tickets were both charged twice.",
    "Shaquille O'Neal & Conan O'Brien's show (1998)",
    "D'Artagnan, d'Alembert and l'Oréal walk into a bar...",
    "It’s the users’ fault, or so they say — we’ll see.",
    "I <3 this shop!! <3 <3",
    "Rated >9000 by me, <5 by my wife :-)",
    "If a<b and b<c then a<c, right?",
    "x > 0 && y < 10",
    "Temperature was -5 < t < 3 all week",
    "Prices: 10 < 20 < 30; 'cheap' vs \"premium\"",
    "Is 1 = 1.0 in JavaScript? And what about '1' == 1?",
    "2 + 2 = 4, 3 * 3 = 9",
    "score >= 90 means an A",
    "Please update my address; I moved to 12 Baker St.",
    "Delete my account and all data, per GDPR Art. 17.",
    "Insert coin, select game, press start",
    "Sleep(ing) well? Try our new mattress.",
    "What's the difference between UNION and UNION ALL in SQL?",
    "How do I write SELECT * FROM orders in Django ORM?",
    "Our DBA says: never run DROP TABLE on prod without a backup.",
    "In Postgres, `SELECT now()::date` gives today's date.",
    "In Python: `if x == 1 or y == 2: print('ok')`",
    "JS: `document.getElementById('app').innerHTML = html;`",
    "Use `onclick` handlers sparingly; prefer addEventListener.",
    "React: <Button onClick={handleClick}>Save</Button>",
    "Vue: <input v-model=\"name\"> and {{ name }}",
    "Bash: for f in *.txt; do wc -l \"$f\"; done",
    "grep -r 'TODO' src/ | wc -l",
    "SQL tip: WHERE name LIKE 'O''Brien' escapes the quote.",
    "Regex: ^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$",
    "C: if (a < b) { return a; } else { return b; }",
    "Rust: let v: Vec<i32> = vec![1, 2, 3];",
    "Go: if err != nil { return err }",
    "Java: List<String> names = new ArrayList<>();",
    "Math.max(a, b) returns the larger one",
    "alert: the server is down again",
    "Confirm (yes/no)?",
    "The evaluation (eval) period ends Friday.",
    "Set-Cookie headers look like a=b; Path=/; HttpOnly",
    "Call me at (555) 123-4567 or email a.b@c.de",
    "Order #12345 -- shipped 2024-05-01; ETA 3-5 days",
    "Dimensions: 10\" x 12\" x 3'",
    "He said \"don't\" and she said 'won't'.",
    "5' 11\" tall, 180 lbs",
    "Coupon code: SAVE-20%OFF (one use)",
    "Tickets for 'Hamilton' -- or 'Wicked' -- on 12/24?",
    "Is it true or false that cats sleep 16 hours?",
    "true or false",
    "Where's my refund?! It's been 30 days...",
    "Replace the filter, then select 'Reset' in the menu.",
    "Having 2 accounts; merge them please.",
    "by the way: from 9 to 5, order matters",
    "group by age, then sort",
    "case 1: user forgot password",
    "a-b-c -- d",
    "Use ->, => and >>= in Haskell",
    "Template: Hello {{name}}, your order {{id}} shipped.",
    "Email template uses ${firstName} placeholders",
    "Windows: C:\\Users\\O'Connor\\Desktop",
    "Check https://example.com/search?q=select+from&sort=asc#top",
    "Link: <https://example.com/path?a=1&b=2>",
    "<p>Thanks!</p><p>-- Anna</p>",
    "<ul><li>One</li><li>Two</li></ul>",
    "<img src=\"https://cdn.example.com/a.png\" alt=\"chart\">",
    "<a href=\"mailto:help@example.com\">Contact</a>",
    "<blockquote>Quote from O'Neil</blockquote>",
    "Markdown image: ![chart](https://cdn.example.com/chart.png)",
    "The word 'onload' is an event name",
    "Go on = go ahead",
    "document.pdf, window.xlsx and location.txt attached",
    "Top 10 reasons to choose us (updated)",
    "self-service portal",
    "The table has 3 columns: id, name, email",
    "Version 2.0 (beta) -- released; see CHANGELOG.md",
    "1' 2\" scale model",
    "Rock & Roll Hall of Fame; Cleveland, OH",
    "Quarterly report: revenue up 10% from Q1; costs down",
    "Join us from 6pm; dress code: casual",
    "It's 'Select' not 'select', case matters in the UI",
    "Exec summary: sales grew; execution was solid",
    "declare your interest by Friday",
    "waitfor it... the delay is intentional",
    "Benchmark results: 3.2 ms per op (x86_64)",
    "Sort: price asc, name desc",
    "Filters: color=red&size=M",
    "key=value; other=thing",
    "name='Bob' AND dept='Sales' is how the old report filtered",
    "union station to o'hare by train",
    "or 2 items, whichever is cheaper",
    "and then he left",
    "; that's all",
    "--",
    "''",
    "\"\"",
    ":)",
    "</3 broken heart",
    "<<< back",
    "next >>>",
    "<- left | right ->",
]
for t in TRICKY:
    req("POST", "/api/v1/comments", auth() + [("Content-Type", "application/json")],
        json.dumps({"post_id": 42, "body": t, "author": random.choice(NAMES)}, ensure_ascii=False), "tricky comment")
    req("POST", "/contact", cookie() + [("Content-Type", "application/x-www-form-urlencoded")],
        q({"name": random.choice(NAMES), "message": t}), "tricky form")
    req("GET", "/search?" + q({"q": t}), cookie(), what="tricky search")
# Look-alikes of shell, mail-protocol and PHP syntax (added with the detectors
# that read them: brace expansions, words split by quotes, leading separators,
# glob paths, SMTP/IMAP/POP3 lines, PHP variables and dynamic calls).
LOOKALIKE = [
    "Build both with make {debug,release} -- see the README",
    "Supported files: *.{jpg,png,gif}",
    "fields={id,name,email}&sort={created_at,-id}",
    "I'd say it's fine; O'Keefe's shop opens at 9",
    "rock'n'roll, 'n' stuff, ''quoted'' twice",
    "Use \\n for a new line and \\t for a tab",
    "| name | qty |\n|------|-----|\n| tea  | 2   |",
    "&nbsp; is a non-breaking space; &amp; is an ampersand",
    "~5 minutes away, ~+/- 2 degrees",
    "; see above",
    "cd into the folder; then run make",
    "grep -i 'error' app.log | sort | uniq -c | head -20",
    "The files live in /etc/ on Linux and in C:\\ProgramData on Windows",
    "Name the photos report?.jpg or scan*.pdf, then upload to /uploads/2024/",
    "/api/v1/items?id=3&fields=*",
    "Thanks!\nData attached, see the sheet.",
    "Hi team,\nQuit smoking tips are in the wiki.",
    "Ticket A12\nStatus: open, list of steps below",
    "Order 7\nhelp please, the box was empty",
    "Prices in $USD (approx.) and ${price} in the template",
    "That costs $5 (five dollars); $x (the unknown) is solved below",
    "JS: (function () { return 1; })() runs at once",
    "The operating system (OS) and the file system (FS) are separate",
    "array_map and str_replace are PHP functions we use",
    "while (true) is an infinite loop -- avoid it",
    "email me at ops@example.com\nMAIL is checked daily",
    "See git log; then git diff HEAD~1",
    "localhost",
    "docs/localhost.md",
    "metadata/schema.json",
    "Run it on localhost:3000 while you develop",
    "The web server is at intranet.example.com/wiki",
    "while (x < 10) { x++; }",
    "while you wait, for (a few minutes), read this",
    "console.log(x) prints x; process.env.NODE_ENV is 'production'",
    "{% if user %}Hi {{ user.name }}{% endif %}",
    "<% if @items.any? %>list<% end %>",
    "Use ssh://git@github.com/org/repo.git or https://github.com/org/repo",
    "sort by date;head to checkout",
    "more|less, either way",
    "R&D;sales;marketing",
    "Tom&Jerry;cat&mouse",
    "Wow!!! :!: great",
    "print(x)",
    "range(10)",
    "is_prime(7)",
    "get_user(id)",
    "fopen (the file) first, then read it",
    "Use substr() to cut the string, see the manual",
    "engine=v8",
    "memory = 512M",
    "session.timeout = 30 minutes per the policy",
    "Create it with python3.11 -m venv .venv, then pip install -r requirements.txt",
]
for t in LOOKALIKE:
    req("POST", "/api/v1/comments", auth() + [("Content-Type", "application/json")],
        json.dumps({"post_id": 43, "body": t, "author": random.choice(NAMES)}, ensure_ascii=False), "lookalike comment")
    req("POST", "/contact", cookie() + [("Content-Type", "application/x-www-form-urlencoded")],
        q({"name": random.choice(NAMES), "message": t}), "lookalike form")
    req("GET", "/search?" + q({"q": t}), cookie(), what="lookalike search")
# URL-carrying fields real applications send (profiles, OAuth, analytics,
# imports, image proxies, feeds), and an XML upload with a schema location.
URL_FIELDS = [
    ("POST", "/account/profile", {"display_name": "Jane Roe", "homepage": "https://jane.example.org/", "website": "http://www.roe-design.example/portfolio", "avatar_url": "https://cdn.example.net/avatars/jr.png"}),
    ("GET", "auth.example.com/oauth/authorize", {"client_id": "web-7f3a", "response_type": "code", "redirect_uri": "https://app.example/auth/callback", "state": "xyz123"}),
    ("GET", "api.example.com/logout", {"return_to": "https://shop.example.com/cart"}),
    ("POST", "/collect", {"page": "https://shop.example.com/products/42?ref=home", "ref": "https://www.google.com/", "title": "Garden hose 20 m"}),
    ("POST", "/api/v1/imports", {"file": "https://cdn.example.net/exports/report-2024-05.csv", "format": "csv"}),
    ("POST", "/api/v1/feeds", {"feed_url": "https://blog.example.org/feed.xml", "folder": "Tech"}),
    ("GET", "/img/proxy", {"src": "https://cdn.example.net/img/logo.png", "w": "320"}),
    ("GET", "/api/v1/articles", {"include": "author,comments", "page": "2", "path": "/docs/intro"}),
    ("POST", "/settings/integrations", {"template": "https://docs.example.com/templates/invoice-v2", "callback": "https://hooks.example.com/t/42"}),
    ("GET", "/redirect", {"url": "https://partner.example.net/landing?utm_source=newsletter&utm_medium=email"}),
]
for method, path, fields in URL_FIELDS:
    host, path = (path.split("/", 1)[0], "/" + path.split("/", 1)[1]) if not path.startswith("/") else (None, path)
    if method == "GET":
        req("GET", path + "?" + q(fields), cookie(), what="url field query", host=host)
    else:
        req("POST", path, cookie() + [("Content-Type", "application/x-www-form-urlencoded")], q(fields), "url field form")
        req("POST", path.replace("/", "/api/v2/", 1) if not path.startswith("/api") else path, auth() + [("Content-Type", "application/json")],
            json.dumps(fields), "url field json")
pom = ('<?xml version="1.0" encoding="UTF-8"?><project xmlns="http://maven.apache.org/POM/4.0.0" '
       'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 '
       'http://maven.apache.org/xsd/maven-4.0.0.xsd"><modelVersion>4.0.0</modelVersion><groupId>com.example</groupId>'
       '<artifactId>demo</artifactId><version>1.0.0</version></project>')
req("POST", "/api/v1/builds", auth() + [("Content-Type", "application/xml")], pom, "xml with schema location")
req("POST", "/tools/validate", cookie() + [("Content-Type", "application/x-www-form-urlencoded")], q({"document": pom}), "xml in form field")
# Round 3: prose that reads like a SQL alias, PHP tags and kernel paths, and
# links to pages on other sites in fields named for links (shares, profiles,
# feeds, hooks, image proxies), all of which real applications send.
PROSE3 = [
    "Known as `gold` from the mine to the market",
    "as `gold` from the mine",
    "I'd describe it as \"vintage\" from the photos",
    "Post your code between [php] and [/php] tags, not as a screenshot",
    "See the [php] tag for snippets",
    "Our forum supports [code] and [php] blocks",
    "cat /proc/cpuinfo shows 4 cores on my laptop",
    "Check /sys/class/net for the interface names",
    "The ..\\ notation means the parent folder on Windows",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?> is the first line",
    "engine=v8 and precision=high in the config",
    "System (new) replaces the old one",
    "file (1).txt was uploaded twice",
    "Rename it to backup.sql.zip before sending",
    "I keep shell history in ~/.history",
]
for t in PROSE3:
    req("POST", "/api/v1/comments", auth() + [("Content-Type", "application/json")],
        json.dumps({"post_id": 44, "body": t, "author": random.choice(NAMES)}, ensure_ascii=False), "prose3 comment")
    req("POST", "/contact", cookie() + [("Content-Type", "application/x-www-form-urlencoded")],
        q({"name": random.choice(NAMES), "message": t}), "prose3 form")
    req("GET", "/search?" + q({"q": t}), cookie(), what="prose3 search")
URL_FIELDS3 = [
    ("GET", "/share", {"u": "https://news.example.net/story.php?id=7", "title": "Local news"}),
    ("GET", "/sharer/sharer.php", {"u": "https://blog.example.org/2024/05/post.php"}),
    ("POST", "/account/profile", {"website": "http://www.old-site.example/index.php", "avatar_url": "https://img.example.net/show.php?id=5"}),
    ("POST", "/settings/integrations", {"callback_url": "https://partner.example/notify.php", "webhook": "https://hooks.partner.example/in.php"}),
    ("POST", "/api/v1/feeds", {"feed": "https://blog.example.org/rss.php", "folder": "News"}),
    ("GET", "/img/proxy", {"image": "https://img.example.net/thumb.php?w=200&h=100", "w": "200"}),
    ("GET", "/go", {"link": "https://wiki.example.org/index.php?title=Main_Page"}),
    ("GET", "/login", {"next": "https://app.example/account?tab=security", "continue": "https://app.example/home"}),
    ("POST", "/bookmarks", {"href": "https://docs.example.com/manual/install.txt", "tags": "docs"}),
    ("GET", "/oembed", {"url": "https://video.example.net/watch.php?v=abc123", "format": "json"}),
    ("POST", "/api/v1/imports", {"source_url": "https://data.example.org/export/list.txt", "format": "txt"}),
    ("GET", "/avatar", {"gravatar": "https://secure.gravatar.com/avatar/5f4dcc3b5aa765d61d8327deb882cf99?s=80&d=mm"}),
]
for method, path, fields in URL_FIELDS3:
    if method == "GET":
        req("GET", path + "?" + q(fields), cookie(), what="url field3 query")
    else:
        req("POST", path, cookie() + [("Content-Type", "application/x-www-form-urlencoded")], q(fields), "url field3 form")
        req("POST", "/api/v2" + path, auth() + [("Content-Type", "application/json")], json.dumps(fields), "url field3 json")
# Filter APIs (django-filter / DRF) take ORM lookups in their parameter names.
for fields in [
    {"author__name__icontains": "bob", "created_at__gte": "2024-01-01", "ordering": "-created_at"},
    {"id__in": "3,5,8", "status__iexact": "open"},
    {"price__lte": "100", "category__slug": "garden", "tags__name__in": "sale,new"},
]:
    req("GET", "/api/v1/articles?" + q(fields), auth(), what="orm filter query")
    req("POST", "/api/v1/articles/search", auth() + [("Content-Type", "application/json")], json.dumps(fields), "orm filter json")
# Round 4 look-alikes: catalog names in prose and as parameter values, comparisons
# and quotes in text, slash commands, and upload names that are one word.
PROSE4 = [
    "We use the Northwind sample database in the SQL course",
    "tempdb filled the disk again last night",
    "Rename the schema_name column to owner",
    "It's 'yes' or 'no', nothing else",
    "'a' < 'b' in alphabetical order",
    "/create table for six persons, by the window",
    "The 6 as\" from the brochure is a typo",
    "Score: (3) like (4) stars",
    "Tom's CREATE TABLE question",
    "Create table for two, please",
]
for t in PROSE4:
    req("POST", "/api/v1/comments", auth() + [("Content-Type", "application/json")],
        json.dumps({"post_id": 45, "body": t, "author": random.choice(NAMES)}, ensure_ascii=False), "prose4 comment")
    req("POST", "/contact", cookie() + [("Content-Type", "application/x-www-form-urlencoded")],
        q({"name": random.choice(NAMES), "message": t}), "prose4 form")
    req("GET", "/search?" + q({"q": t}), cookie(), what="prose4 search")
for fields in [{"database": "northwind", "schema": "public"}, {"db": "msdb", "table": "backupset"},
               {"catalog": "tempdb"}, {"schema_name": "sales"}]:
    req("GET", "/admin/db/browse?" + q(fields), cookie(), what="db admin query")
    req("POST", "/admin/db/browse", cookie() + [("Content-Type", "application/x-www-form-urlencoded")],
        q(fields), "db admin form")
for word in ["northwind_orders", "tempdata", "sessions"]:
    req("POST", "/api/v1/flags", auth() + [("Content-Type", "application/x-www-form-urlencoded")], word, "bare word form")
for name in ["sess_2024_summary_final", "session_notes", "sess_review", "crontab_howto.pdf", "ID_photo"]:
    req("PUT", "/api/v1/files", auth() + [("X-Filename", name), ("Content-Type", "application/octet-stream")],
        "binarydata", "x-filename upload")
# Parameter names that are ids or base64-like (Firebase push ids, cloud cookies) and
# base64 cookie sessions holding JSON with \u escapes: keys and cookies the
# serialization checks read.
import base64 as _b64
for keys in [["-NrT9xQ1aB2cD3eF4gH5", "-NrT9xQ1aB2cD3eF4gH6"], ["AbCdEf0123", "rO0sAB"], ["KztLane", "Cs7Qty"]]:
    req("PATCH", "/api/v1/lists/7", auth() + [("Content-Type", "application/json")],
        json.dumps({k: {"done": False, "title": "Buy milk"} for k in keys}), "id-keyed json")
    req("GET", "/api/v1/lists?" + q({k: "1" for k in keys}), auth(), what="id-keyed query")
for payload in [{"passport": {"user": "5f1d2c"}, "flash": {}}, {"msg": "caf\u00e9 ready", "cart": [1, 2]},
                {"fn": "function() { return 1 }", "_$$": "marker"}]:
    sess = _b64.b64encode(json.dumps(payload).encode()).decode()
    req("GET", "/account", [("Cookie", f"session={sess}; session.sig=Zm9vYmFy; AWSALB=Q1tzA0BmYXN0; AWSALBCORS=Q1tzA0BmYXN0")],
        what="base64 json cookie session")
for fields in [{"hook": "on_js_function_load", "lang": "js"}, {"symbol": "__init__", "module": "js_functions"}]:
    req("GET", "/api/v1/symbols?" + q(fields), auth(), what="code symbol query")
for snippet in ["while (queue.length) run(queue.shift());", "for (const k of keys) { seen[k] = true; }"]:
    sess = _b64.b64encode(json.dumps({"draft": snippet, "lang": "caf\u00e9"}).encode()).decode()
    req("GET", "/editor", [("Cookie", f"draft={sess}")], what="base64 code draft cookie")
# Look-alikes of what paranoia levels 2-4 add (scripts/detect-score scores every
# level on this corpus): operator text and code with `||`/`&&`/`>=`, words that
# are SQL keywords or tool names in prose and settings, share links with paths,
# hex colours and addresses, ellipses and emoticons, quoted words.
PARANOIA = [
    "a || b", "x && y", "if (a || b) return c;", "cache = cache || {};", "price >= 10 and <= 20",
    "2 >= 1 is true", "the in-stock items", "in stock", "like", "likes: 12", "order by price",
    "group by team", "execute the plan", "Execute order 66 was a plot twist",
    "the union all workers joined", "replace the filter", "left (3)", "count: 7", "version 2.1 (beta)",
    "pip install requests", "top", "at noon", "kill the lights", "shutdown at 6pm",
    "~5 minutes", "!important", "Wait... what?", "So.... anyway", "#ff00ff", "0xff", "0x1f2e3d4c",
    "0x52908400098527886E0F7030069857D2E4169EE7", "'quoted'", "the `config` file",
    "it's Bob's and Alice's", "rock 'n' roll", "10:30-11:00", "v1.2.3", "2024-05-01", "+1 (555) 010-0199",
    "varchar(255) is too short", "Hello world!!", ":) see you", "Q&A: 3 < 4, 5 > 2",
]
for t in PARANOIA:
    req("POST", "/api/v1/comments", auth() + [("Content-Type", "application/json")],
        json.dumps({"post_id": 44, "body": t, "author": random.choice(NAMES)}, ensure_ascii=False), "paranoia comment")
    req("POST", "/contact", cookie() + [("Content-Type", "application/x-www-form-urlencoded")],
        q({"name": random.choice(NAMES), "message": t}), "paranoia form")
    req("GET", "/search?" + q({"q": t}), cookie(), what="paranoia search")
for fields in [{"share": "https://news.example.org/2024/05/garden-tips"}, {"u": "https://youtu.be/dQw4w9WgXcQ"},
               {"link": "https://docs.example.com/guide/install?lang=en"}, {"next": "https://shop.example.com/cart"},
               {"sort": "created_at", "order": "desc"}, {"status__in": "open,closed"}]:
    req("GET", "/api/v1/share?" + q(fields), auth(), what="paranoia share link")
# Look-alikes of protocol attacks (HTTP splitting, header lines after a line
# break, LDAP filters, mod_proxy sockets): multi-line textarea notes with
# `Note:`-like lines sent in queries and forms, prose naming a verb and an
# HTTP version, parentheses in prose, math and emoticons, search filters,
# unix words beside URLs, and paths with odd bytes (never a line break).
PROTOCOL = [
    "Thanks!\r\nNote: see above",
    "Hi team,\r\nNote: the build is green\r\nTopic: release",
    "Agenda\r\n\r\nTopic: budget\r\nRoom: 4\r\nFollow-up: Bob",
    "Groceries\r\nTo-do: milk\r\nDate: Friday",
    "Re: your order\r\nStatus: shipped",
    "First line\r\n\r\nSecond paragraph with <b>bold</b>",
    "I ran curl -i and got\r\nHTTP/1.1 500 Internal Server Error",
    "GET the file over HTTP/1.1",
    "Please GET the report over HTTP/1.1 or HTTP/2",
    "We POST /upload with HTTP/2 framing now",
    "My request was:\r\nGET /api/v1/items HTTP/1.1\r\nAccept: */*",
    "(see above)(and below)",
    "a)(b",
    "(a+b)(a-b) = a^2 - b^2",
    "Nice :)(really)",
    ":)(",
    "(a|b)",
    "(red|blue)&(small|large)",
    "option a) or b) (pick one)",
    "Step 1) open the lid (carefully)",
    "unix: the OS | http://example.com/os",
    "unix|linux|bsd",
    "Unix tools | https://en.wikipedia.org/wiki/Unix",
    "unix:///var/run/docker.sock",
]
for t in PROTOCOL:
    req("POST", "/api/v1/comments", auth() + [("Content-Type", "application/json")],
        json.dumps({"post_id": 45, "body": t, "author": random.choice(NAMES)}, ensure_ascii=False), "protocol comment")
    req("POST", "/contact", cookie() + [("Content-Type", "application/x-www-form-urlencoded")],
        q({"name": random.choice(NAMES), "message": t}), "protocol form")
    req("GET", "/search?" + q({"q": t}), cookie(), what="protocol search")
for path in ["/files/r%C3%A9sum%C3%A9.pdf", "/wiki/C%2B%2B", "/docs/a%20b%28c%29.html", "/tags/%23rust",
             "/p/100%25-cotton", "/users/%40bob/posts", "/media/%E2%9C%93-done.png", "/search/a%09b"]:
    req("GET", path, cookie(), what="protocol odd path")
for fields in [{"docker_host": "unix:///var/run/docker.sock"}, {"socket": "unix:/run/php/php8.2-fpm.sock"},
               {"filter": "(objectClass=person)"}, {"q": "(a|b) and (c|d)"}]:
    req("GET", "/api/v1/settings?" + q(fields), auth(), what="protocol setting")
# Round 7 look-alikes: textarea lines after a line break that name a header
# (`Location: Room 4`, `Host: Anna`, `Subject: lunch`), function notation in
# math (`f(x)(y=2)`), prose naming deploy tools and Windows commands, `!` and
# `~` in chat text, big ids, SQL-ish calls in code snippets, BBCode forum
# posts, and data: image avatars in JSON.
COVER7 = [
    "Meeting\r\nLocation: Room 4", "Dinner booked\r\nHost: Anna\r\nGuests: 6",
    "Attached\r\nContent-Type: notes", "Hi all,\r\nSubject: lunch\r\nWhere shall we go?",
    "Plan\r\nSubject: lunch", "Fwd\r\nCookie: chocolate chip", "Recipe\r\nSet-Cookie: no, bake it",
    "f(x)(y=2)", "g(a)(b=3) is curried", "(f)(x=1)", "h(t)(n>=0)",
    "We deploy with bin/ansible and bin/chef", "run bin/ansible-playbook site.yml", "the chef cookbook",
    "Use bcdboot /r to repair? no, bcdboot C:\\Windows", "ansible", "chef",
    "Wow!!", "Really?!", "!-1", "cool!-1 vote", "~5 min", "~+5 degrees", "about ~-1 C tonight",
    "Hello!!! :) ~Anna", "items 1-5!",
    "db.insert(doc)", "list.insert(0, x)", "encode=(utf-8)", "md5(file) matches", "div(23, 7)",
    "sum(1,2)", "[b]bold[/b] and [php]see below[/php]", "[code]x = 1[/code]", "[quote]hi[/quote] [/php]",
    "order 4294967296", "4294967296", "18446744073709551616", "id 2147483648",
    "Shell_exec is a PHP function", "zlib_decode docs", "unionselect", "the xunion select team",
    "a REGEXP b", "col ` REGEXP", "onclick handlers are fun",
]
for t in COVER7:
    req("POST", "/api/v1/comments", auth() + [("Content-Type", "application/json")],
        json.dumps({"post_id": 46, "body": t, "author": random.choice(NAMES)}, ensure_ascii=False), "cover7 comment")
    req("POST", "/contact", cookie() + [("Content-Type", "application/x-www-form-urlencoded")],
        q({"name": random.choice(NAMES), "message": t}), "cover7 form")
    req("GET", "/search?" + q({"q": t}), cookie(), what="cover7 search")
for fields in [{"note": "Meeting\r\nLocation: Room 4"}, {"notes": "Dinner\r\nHost: Anna"},
               {"q": "f(x)(y=2)"}, {"order_id": "4294967296"}, {"id": "9007199254740993"},
               {"tool": "bin/ansible"}, {"cmd": "ansible"}, {"mood": "!!"}, {"offset": "~5"}]:
    req("GET", "/api/v1/notes?" + q(fields), auth(), what="cover7 field")
AVATAR = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
for body in [{"name": "Anna", "avatar": AVATAR}, {"image": AVATAR, "url": AVATAR},
             {"id": 4294967296, "parent_id": 18446744073709551615, "snowflake": "1234567890123456789"},
             {"code": "cur.execute(\"insert into t values (?)\", (x,))", "lang": "python"},
             {"post": "[quote]Use [php] tags[/quote] [b]thanks[/b]", "forum": "php-help"}]:
    req("POST", "/api/v1/profile", auth() + [("Content-Type", "application/json")],
        json.dumps(body, ensure_ascii=False), "cover7 json")
# Look-alikes of session fixation: a site's own links that carry its session
# id (URL rewriting, with a same-site Referer), analytics beacons and chat
# APIs with generic session names from other sites, and cookie talk in text.
for host, path in [("shop.example.com", "/cart;jsessionid=74B0CB414BD77D17?item=3"),
                   ("shop.example.com", "/cart?jsessionid=74B0CB414BD77D17&item=3"),
                   ("app.example", "/forum/view.php?PHPSESSID=9d1c8e2f&topic=12"),
                   ("api.example.com", "/login.cfm?CFID=12345&CFTOKEN=67890")]:
    req("GET", path, [("Referer", f"https://{host}/list?page=2")], what="session own link", host=host)
for fields in [{"session_id": "8f14e45f", "event": "click"}, {"sid": "a1b2c3", "v": "2"},
               {"sessionid": "s-1715", "t": "pageview"}, {"session": "42", "ts": "1715000000"}]:
    req("GET", "/collect?" + q(fields), [("Referer", "https://blog.example.org/post/7")], what="session beacon",
        host="t.example.net")
for t in ["how do I read document.cookie in React?", "document.cookie expires after a week",
          "cookie; expires soon, buy now",
          "fortune.cookie; domain knowledge", "phpsessid vs session_id in PHP 8"]:
    req("GET", "/search?" + q({"q": t}), cookie(), what="session search")
    req("POST", "/api/v1/comments", auth() + [("Content-Type", "application/json")],
        json.dumps({"post_id": 46, "body": t, "author": random.choice(NAMES)}), "session comment")
# An intranet's own traffic: internal addresses in the Referer and Origin
# a browser sends, links back to the host the request went to, and
# User-Agents whose comments name a product after a `;`.
for host, referer, origin in [("172.16.9.189", "http://172.16.9.189/", None),
                              ("10.20.0.8:8080", "http://10.20.0.7:3000/dashboard", "http://10.20.0.7:3000"),
                              ("192.168.13.31:8080", "http://192.168.13.31:8080/app/", "http://192.168.13.31:8080"),
                              ("api.dev.example", "http://localhost:3000/", "http://localhost:3000")]:
    h = [("Referer", referer)] + ([("Origin", origin)] if origin else [])
    req("GET", "/api/v1/orders?page=2", h + auth(), what="intranet referer", host=host)
    req("POST", "/login", h + [("Content-Type", "application/x-www-form-urlencoded")],
        q({"username": "anna", "password": "correct horse", "returnUrl": f"http://{host}/home"}),
        "intranet return url", host=host)
# Hybrid mobile and desktop apps send their own scheme as the Origin.
for origin in ["capacitor://localhost", "ionic://localhost", "tauri://localhost", "file://"]:
    req("GET", "/api/v1/profile", [("Origin", origin)] + auth(), what="app origin", host="api.example.com")
# OAuth for native apps and local development: loopback redirect URIs (RFC 8252).
for redirect in ["http://127.0.0.1:53682/", "http://localhost:8080/callback", "http://[::1]:41017/oauth2redirect"]:
    req("GET", "/oauth/authorize?" + q({"response_type": "code", "client_id": "cli-app", "redirect_uri": redirect,
        "state": "af0ifjsldkj", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"}), what="oauth loopback redirect", host="accounts.example.com")
req("POST", "/oauth/token", [("Content-Type", "application/x-www-form-urlencoded")],
    q({"grant_type": "authorization_code", "code": "SplxlOBeZQQYbYS6WxSbIA", "redirect_uri": "http://127.0.0.1:53682/",
       "client_id": "cli-app", "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}),
    "oauth token exchange", host="accounts.example.com")
# Developers chatting about their own machines: internal URLs inside prose.
for t in ["deploy with `kubectl apply -f k8s/` then curl http://localhost:8080/health",
          "the staging wiki moved to http://10.1.2.3/wiki, update your bookmarks",
          "works on my machine at http://127.0.0.1:5173 but not on prod"]:
    req("POST", "/api/chat/postMessage", auth() + [("Content-Type", "application/json")],
        json.dumps({"channel": "C024BE91L", "text": t}), "dev chat internal url", host="chat.example.com")
for ua in ["Mozilla/5.0 (compatible; Uptime Checker; Python 3.11; +https://status.example.com/bot)",
           "Mozilla/5.0 (compatible; Wget)", "Mozilla/5.0 (compatible; Python requests)",
           "Mozilla/5.0 (compatible; Curl 7.1; Linux)", "Mozilla/5.0 (compatible; Perl LWP)",
           "Mozilla/5.0 (compatible; Telnet Checker/1.2)", "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)"]:
    req("GET", "/status", what="user agent product token")
    what, text = out[-1]
    head, _, rest = text.partition("User-Agent: ")
    out[-1] = (what, head + "User-Agent: " + ua + rest[rest.index("\n"):])
# Observability, developer tools and content systems: a trace span named
# after its query, Markdown with shell in fenced code blocks, an HTML
# e-mail with its own stylesheet, a page with its title, a Handlebars
# template, relative paths two levels up in a build config or a stack frame.
req("POST", "/v1/traces", [("Content-Type", "application/json")], json.dumps({"resourceSpans": [{"scopeSpans": [
    {"spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "SELECT orders",
                "kind": 3}, {"name": "SELECT shop.customers", "kind": 3}]}]}]}), "otlp span names", host="otel.example.com")
for body in ["## What\nRetries the `db` fixture.\n\n```bash\nrm -rf node_modules && npm ci\nnpm test -- --runInBand\n```\n\nCloses #12",
             "Install:\n\n```sh\ncurl -fsSL https://get.example.com/install.sh | sh\nsudo systemctl enable --now agent\n```",
             "Repro steps:\n~~~\ncd api && make build\n./bin/api --port 8080 && sleep 1\n~~~\nthen open the page"]:
    req("POST", "/api/v4/projects/7/issues/5/notes", auth() + [("Content-Type", "application/json")],
        json.dumps({"body": body}), "markdown fenced shell", host="git.example.com")
req("POST", "/v3/mail/send", auth() + [("Content-Type", "application/json")], json.dumps({
    "personalizations": [{"to": [{"email": "anna@example.com"}]}], "subject": "Your invoice",
    "content": [{"type": "text/html", "value": "<html><head><title>Invoice</title><style>body{font-family:Arial} "
                 ".btn{color:#fff;background:url(https://example.com/btn.png)} @media (max-width:600px){.col{width:100%}}"
                 "</style></head><body><p>Hello Anna,</p><a class=\"btn\" href=\"https://example.com/i/5\">View</a></body></html>"}]}),
    "html email with stylesheet", host="mail.example.com")
req("POST", "/api/templates", auth() + [("Content-Type", "application/json")], json.dumps({
    "name": "order", "body": "{{#each items}}<li>{{this.name}} x {{this.qty}}</li>{{/each}}"}), "handlebars template")
req("POST", "/api/build", auth() + [("Content-Type", "application/json")], json.dumps({
    "entry": "./src/index.ts", "assets": ["../shared/logo.svg", "../../design/tokens.json"]}), "build config relative paths")
req("POST", "/api/42/store/", [("Content-Type", "application/json")], json.dumps({"platform": "python", "exception": {"values": [
    {"type": "KeyError", "stacktrace": {"frames": [{"filename": "../../lib/python3.11/site-packages/flask/app.py",
                                                      "function": "wsgi_app", "lineno": 1498}]}}]}}),
    "error report relative frame", host="sentry.example.com")
# Address books and calendars (line records, not forms), HTML documents
# with their head, JSONPath filters, wiki and HTML code blocks.
req("PUT", "/carddav/anna/contacts/c1.vcf", [("Content-Type", "text/vcard")],
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Sean O'Brien\r\nN:O'Brien;Sean;;;\r\nTEL;TYPE=cell:+1 555 010 9999\r\n"
    "ADR;TYPE=work:;;1 Main St;Springfield;IL;62701;USA\r\nEND:VCARD\r\n", "vcard", host="dav.example.com")
req("POST", "/api/campaigns", auth() + [("Content-Type", "application/json")], json.dumps({
    "html": "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Type\" "
            "content=\"text/html; charset=UTF-8\"><title>Sale</title></head><body><center>"
            "<a href=\"https://example.com/?utm_source=mail\"><img src=\"https://example.com/h.png\" alt=\"Sale\"></a>"
            "</center></body></html>"}), "html email head", host="mail.example.com")
req("POST", "/api/transform", auth() + [("Content-Type", "application/json")], json.dumps({
    "path": "$.store.book[?(@.price < 10)].title", "jq": ".items[] | select(.qty > 0) | .name"}), "jsonpath filter")
req("POST", "/wiki/index.php?title=Setup&action=submit", [("Content-Type", "application/x-www-form-urlencoded")],
    q({"wpTextbox1": "== Setup ==\n<syntaxhighlight lang=\"bash\">\n./configure && make && sudo make install\n"
                     "</syntaxhighlight>\n[[Category:Howto]]", "wpSummary": "build steps"}), "wiki code block", host="wiki.example.com")
req("POST", "/forum/post", [("Content-Type", "application/x-www-form-urlencoded")],
    q({"message": "Fixed it with\n<pre><code>rm -rf ~/.cache/pip && pip install -r requirements.txt\n</code></pre>thanks!"}),
    "html code block", host="forum.example.com")
# Query languages and data formats in parameters: OData and Graph filters,
# Lucene/Solr, Jira and GitHub search syntax, geometries in well-known
# text (GIS APIs, spatial filters), spreadsheet formulas, LaTeX, a product
# option label that starts with `Select`, an uploaded HTML page with its
# stylesheet and icon links, a product description embedding a video
# player, a Jira issue with {code} and {noformat} blocks, a source-code
# host's views of a repository's dotfiles and dumps.
for path, params in [
        ("/odata/Products", {"$filter": "Price gt 20 and Category/Name eq 'Beverages'", "$orderby": "Name desc", "$top": "10"}),
        ("/v1.0/users", {"$filter": "startswith(displayName,'J') or endswith(mail,'@contoso.com')", "$count": "true"}),
        ("/solr/products/select", {"q": "title:(ipod OR iphone) AND inStock:true", "fq": 'category:"electronics"', "sort": "price asc"}),
        ("/rest/api/2/search", {"jql": 'project = OPS AND status in ("In Progress", "To Do") ORDER BY created DESC'}),
        ("/search/issues", {"q": 'repo:acme/web is:issue is:open label:"bug" -label:wontfix'}),
        ("/geoserver/wfs", {"service": "WFS", "typeName": "roads", "cql_filter": "INTERSECTS(the_geom, POLYGON((30 10, 40 40, 20 40, 10 20, 30 10)))"}),
        ("/api/v1/parcels", {"within": "MULTIPOLYGON (((30 20, 45 40, 10 40, 30 20)), ((15 5, 40 10, 10 20, 5 10, 15 5)))"})]:
    req("GET", path + "?" + q(params), what="query language in parameter")
req("POST", "/api/v1/routes", auth() + [("Content-Type", "application/json")], json.dumps({
    "name": "Morning run", "path": "LINESTRING (-71.06 42.28, -71.07 42.29, -71.05 42.3)",
    "stops": "GEOMETRYCOLLECTION (POINT (40 10), LINESTRING (10 10, 20 20, 10 40))"}), "wkt geometry json")
req("POST", "/api/sheets/values", auth() + [("Content-Type", "application/json")], json.dumps({
    "range": "Sheet1!A1:C2", "values": [["=SUM(A1:A10)", "=IF(B2>100,\"high\",\"low\")", "=VLOOKUP(A2,Sheet2!A:B,2,FALSE)"]]}),
    "spreadsheet formulas")
req("POST", "/api/products/88/options", auth() + [("Content-Type", "application/json")], json.dumps({
    "label": "Select size: S | M | L | XL", "hint": "Select colour: red | blue"}), "product option labels")
b = "----WebKitFormBoundaryQ3report"
req("POST", "/api/files", auth() + [("Content-Type", f"multipart/form-data; boundary={b}")],
    (f"--{b}\nContent-Disposition: form-data; name=\"file\"; filename=\"q3-report.html\"\nContent-Type: text/html\n\n"
     "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Q3 report</title>"
     "<link rel=\"stylesheet\" href=\"report.css\"><link rel=\"icon\" href=\"/favicon.ico\"></head>"
     f"<body><h1>Q3</h1><table><tr><td>Revenue</td><td>$1.2M</td></tr></table></body></html>\n--{b}--\n").replace("\n", "\r\n"),
    "html report upload", host="files.example.com")
req("POST", "/webhooks/products/update", [("Content-Type", "application/json"), ("X-Shopify-Topic", "products/update")],
    json.dumps({"id": 632910392, "title": "Trail Runner 2", "body_html": "<p>Light and grippy.</p>"
                "<iframe width=\"560\" height=\"315\" src=\"https://www.youtube.com/embed/dQw4w9WgXcQ?rel=0\" "
                "frameborder=\"0\" allow=\"autoplay; encrypted-media\" allowfullscreen></iframe>"}),
    "product description video embed", host="shop.example.com")
req("POST", "/rest/webhooks/issue", [("Content-Type", "application/json")], json.dumps({
    "webhookEvent": "jira:issue_created", "issue": {"key": "OPS-12", "fields": {
        "summary": "Build cache fills the disk",
        "description": "Clean it by hand until the fix lands:\n{code:bash}\nrm -rf /tmp/build && make all\n{code}\n"
                       "Log:\n{noformat}\ncd api && make test\n{noformat}"}}}), "jira code block", host="hooks.example.com")
for path in ["/acme/web/blob/main/.github/workflows/ci.yml", "/acme/web/-/raw/main/db/schema.sql",
             "/api/v3/repos/acme/web/contents/.env.example"]:
    req("GET", path, what="repository file view", host="git.example.com")
req("GET", "/search?" + q({"q": "geometry", "bbox": "POLYGON((-10 35, 30 35, 30 60, -10 60, -10 35))"}), what="wkt in search")
req("GET", "/render?" + q({"tex": "\\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}"}), what="latex in query")
# Credentials and batches: Digest, AWS SigV4 and OAuth 1.0 Authorization
# headers (auth-param lists), a MessagePack body (binary, not text), and
# an OData and a Google API batch (`multipart/mixed` parts of whole
# requests, with an OData changeset nested in the batch).
for authz in [
        'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
        'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", '
        'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        'OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", oauth_nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", '
        'oauth_signature="tnnArxj06cWHq44gCs1OSKk%2FjY%3D", oauth_signature_method="HMAC-SHA1", '
        'oauth_timestamp="1318622958", oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", oauth_version="1.0"']:
    req("GET", "/dir/index.html?" + q({"page": 2}), [("Authorization", authz)], what="auth-param credential")
# {"id": 0, "name": "Ann O'Neil", "tags": ["a", "b"], "ok": true} in MessagePack,
# each byte one character (the file is text).
MSGPACK = bytes([0x84, 0xa2]) + b"id" + bytes([0x00, 0xa4]) + b"name" + bytes([0xaa]) + b"Ann O'Neil" \
    + bytes([0xa4]) + b"tags" + bytes([0x92, 0xa1]) + b"a" + bytes([0xa1]) + b"b" + bytes([0xa2]) + b"ok" + bytes([0xc3])
req("POST", "/api/v2/sync", [("Content-Type", "application/x-msgpack")], MSGPACK.decode("latin-1"), "msgpack body")
HTTP_PART = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
odata = ("--batch_36522ad7\r\n" + HTTP_PART +
         "GET /service/Customers('ALFKI')?$select=CompanyName,Country HTTP/1.1\r\nHost: host\r\nAccept: application/json\r\n\r\n\r\n"
         "--batch_36522ad7\r\nContent-Type: multipart/mixed; boundary=changeset_77162fcd\r\n\r\n"
         "--changeset_77162fcd\r\n" + HTTP_PART +
         "POST /service/Customers HTTP/1.1\r\nHost: host\r\nContent-Type: application/json\r\n\r\n"
         + json.dumps({"CustomerID": "OBRIE", "CompanyName": "O'Brien & Sons", "ContactName": "Seán O'Brien"}) + "\r\n"
         "--changeset_77162fcd\r\n" + HTTP_PART +
         "PATCH /service/Customers('ALFKI') HTTP/1.1\r\nHost: host\r\nContent-Type: application/json\r\nIf-Match: *\r\n\r\n"
         + json.dumps({"Country": "Germany"}) + "\r\n"
         "--changeset_77162fcd--\r\n"
         "--batch_36522ad7--\r\n")
req("POST", "/service/$batch", [("Content-Type", "multipart/mixed; boundary=batch_36522ad7"), ("OData-Version", "4.0")],
    odata, "odata batch")
google = ("--batch_foobarbaz\r\nContent-Type: application/http\r\nContent-ID: <item1:12930812@barnyard.example.com>\r\n\r\n"
          "GET /farm/v1/animals/pony\r\n\r\n"
          "--batch_foobarbaz\r\nContent-Type: application/http\r\nContent-ID: <item2:12930812@barnyard.example.com>\r\n\r\n"
          "PUT /farm/v1/animals/sheep\r\nContent-Type: application/json\r\nIf-Match: \"etag/sheep\"\r\n\r\n"
          + json.dumps({"animalName": "sheep", "animalAge": "5", "peltColor": "green"}) + "\r\n\r\n"
          "--batch_foobarbaz\r\nContent-Type: application/http\r\nContent-ID: <item3:12930812@barnyard.example.com>\r\n\r\n"
          "GET /farm/v1/animals?pageToken=xyz&fields=items(name,age)\r\n\r\n"
          "--batch_foobarbaz--\r\n")
req("POST", "/batch/farm/v1", auth() + [("Content-Type", "multipart/mixed; boundary=batch_foobarbaz")], google,
    "google api batch", host="www.googleapis.com")
for n, (what, text) in enumerate(out):
    print(f"### {n} {what}")
    print(text.rstrip("\n"))
