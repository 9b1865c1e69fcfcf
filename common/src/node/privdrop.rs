//! Dropping privileges once the capture handles are open (`tapwatch run --user NAME`).
//!
//! Capture needs root or CAP_NET_RAW/CAP_NET_ADMIN only to open its sockets;
//! everything after (parsing bytes from the network) runs as an unprivileged
//! user with no capabilities and no way to gain any:
//!
//! 1. look the user up (getpwnam); root is refused;
//! 2. unless already running as exactly that user and group: setgroups([]),
//!    setresgid(gid, gid, gid), setresuid(uid, uid, uid) (glibc applies the
//!    ids to every thread of the process);
//! 3. check real, effective and saved ids, and that setresuid(0, 0, 0) fails;
//! 4. PR_SET_NO_NEW_PRIVS (no setuid binary or file capability can raise them
//!    again across exec);
//! 5. clear the ambient, inheritable, effective and permitted capability sets
//!    (a process started non-root with ambient capabilities, as systemd's
//!    `AmbientCapabilities=` does, keeps them across a same-user setuid);
//! 6. check every thread in /proc/self/task: no capability left, no root id.
//!    Capability sets and NO_NEW_PRIVS are per thread: call this before
//!    starting worker threads (threads started afterwards inherit the state).
//!
//! Any failing step is an error; the caller must not go on. No `unsafe` here:
//! nix and caps wrap the system calls.

use anyhow::{bail, Context};
use caps::CapSet;
use nix::unistd::{self, Gid, Uid, User};

/// Drops to `user` as described in the module documentation.
pub fn drop_to(user: &str) -> anyhow::Result<()> {
    let pw = User::from_name(user)
        .with_context(|| format!("--user {user}: looking up the user"))?
        .ok_or_else(|| anyhow::anyhow!("--user {user}: no such user"))?;
    let (uid, gid) = (pw.uid, pw.gid);
    if uid.is_root() {
        bail!("--user {user}: is root (uid 0); name an unprivileged user such as nobody");
    }
    let already = unistd::getuid() == uid
        && unistd::geteuid() == uid
        && unistd::getgid() == gid
        && unistd::getegid() == gid;
    if !already {
        unistd::setgroups(&[]).with_context(|| {
            format!("--user {user}: setgroups([]) (run as root, or as {user} itself)")
        })?;
        unistd::setresgid(gid, gid, gid)
            .with_context(|| format!("--user {user}: setresgid({gid})"))?;
        unistd::setresuid(uid, uid, uid)
            .with_context(|| format!("--user {user}: setresuid({uid})"))?;
    }
    let r = unistd::getresuid().context("getresuid")?;
    let g = unistd::getresgid().context("getresgid")?;
    if [r.real, r.effective, r.saved] != [uid; 3] || [g.real, g.effective, g.saved] != [gid; 3] {
        bail!(
            "--user {user}: ids after the switch are uid {}/{}/{} gid {}/{}/{}, not {uid}/{gid}",
            r.real,
            r.effective,
            r.saved,
            g.real,
            g.effective,
            g.saved
        );
    }
    if unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)).is_ok() {
        bail!("--user {user}: root could be regained after the switch");
    }
    nix::sys::prctl::set_no_new_privs().context("prctl(PR_SET_NO_NEW_PRIVS)")?;
    for set in [
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        caps::clear(None, set).with_context(|| format!("clearing the {set:?} capability set"))?;
    }
    verify_threads(uid, gid).with_context(|| format!("--user {user}"))
}

/// Every thread of the process: ids are the user's, no capability is left.
fn verify_threads(uid: Uid, gid: Gid) -> anyhow::Result<()> {
    let tasks = std::fs::read_dir("/proc/self/task").context("/proc/self/task")?;
    for task in tasks {
        let task = task.context("/proc/self/task")?;
        let path = task.path().join("status");
        let status = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            // A thread that ended meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| path.display().to_string()),
        };
        let state = ProcStatus::parse(&status);
        let tid = task.file_name().to_string_lossy().into_owned();
        if state.uids.iter().any(|&u| u != uid.as_raw())
            || state.gids.iter().any(|&g| g != gid.as_raw())
        {
            bail!(
                "thread {tid} has uid {:?} gid {:?} after the switch",
                state.uids,
                state.gids
            );
        }
        if state.cap_eff != 0 || state.cap_prm != 0 || state.cap_amb != 0 {
            bail!(
                "thread {tid} keeps capabilities (CapEff {:x} CapPrm {:x} CapAmb {:x}): drop privileges before starting threads",
                state.cap_eff,
                state.cap_prm,
                state.cap_amb
            );
        }
    }
    Ok(())
}

/// The lines of /proc/<pid>/status that say what a thread may do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProcStatus {
    /// Real, effective, saved and filesystem uid.
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
    pub groups: Vec<u32>,
    pub cap_eff: u64,
    pub cap_prm: u64,
    pub cap_inh: u64,
    pub cap_amb: u64,
    pub no_new_privs: bool,
}

impl ProcStatus {
    /// Parses the text of /proc/<pid>/status (missing lines stay at their default).
    pub fn parse(text: &str) -> ProcStatus {
        let mut s = ProcStatus::default();
        let ids = |v: &str| -> Vec<u32> {
            v.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        };
        let hex = |v: &str| u64::from_str_radix(v.trim(), 16).unwrap_or(u64::MAX);
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            match k {
                "Uid" => s.uids = ids(v),
                "Gid" => s.gids = ids(v),
                "Groups" => s.groups = ids(v),
                "CapEff" => s.cap_eff = hex(v),
                "CapPrm" => s.cap_prm = hex(v),
                "CapInh" => s.cap_inh = hex(v),
                "CapAmb" => s.cap_amb = hex(v),
                "NoNewPrivs" => s.no_new_privs = v.trim() == "1",
                _ => {}
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The environment variable that makes [`child`] drop privileges.
    const CHILD_ENV: &str = "TAPWATCH_PRIVDROP_CHILD";

    #[test]
    fn proc_status_parses() {
        let text = "Name:\tx\nUid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\n\
                    Groups:\t\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n\
                    CapEff:\t0000000000003000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n";
        let s = ProcStatus::parse(text);
        assert_eq!(s.uids, [65534; 4]);
        assert_eq!(s.gids, [65534; 4]);
        assert!(s.groups.is_empty());
        assert_eq!(s.cap_eff, 0x3000);
        assert!(s.no_new_privs);
        assert_eq!(ProcStatus::parse("CapEff:\tzz\n").cap_eff, u64::MAX);
    }

    #[test]
    fn refuses_unknown_users_and_root_without_changing_anything() {
        let before = unistd::getresuid().unwrap();
        let err = drop_to("no-such-user-tw").unwrap_err();
        assert_eq!(format!("{err:#}"), "--user no-such-user-tw: no such user");
        let err = drop_to("root").unwrap_err();
        assert!(format!("{err:#}").contains("is root (uid 0)"), "{err:#}");
        let after = unistd::getresuid().unwrap();
        assert_eq!(
            (before.real, before.effective, before.saved),
            (after.real, after.effective, after.saved)
        );
    }

    /// Not a test on its own: the mode the child process of
    /// [`drops_to_nobody_in_a_child_process`] runs (selected by CHILD_ENV).
    #[test]
    fn child() {
        let Some(user) = std::env::var_os(CHILD_ENV) else {
            return;
        };
        match drop_to(&user.to_string_lossy()) {
            Ok(()) => println!("DROP ok"),
            Err(e) => println!("DROP error: {e:#}"),
        }
        // This thread's view (libtest runs the test on a thread of its own;
        // NO_NEW_PRIVS is per thread).
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        for line in status.lines() {
            println!("STATUS {line}");
        }
        let shadow = std::fs::File::open("/etc/shadow")
            .map(|_| ())
            .map_err(|e| e.kind());
        println!("SHADOW {shadow:?}");
        let low_port = std::net::TcpListener::bind("127.0.0.1:1")
            .map(|_| ())
            .map_err(|e| e.kind());
        println!("BIND1 {low_port:?}");
    }

    #[test]
    fn drops_to_nobody_in_a_child_process() {
        if !unistd::geteuid().is_root() {
            eprintln!("SKIP privilege drop: needs root");
            return;
        }
        let Ok(Some(nobody)) = User::from_name("nobody") else {
            eprintln!("SKIP privilege drop: no user nobody");
            return;
        };
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "node::privdrop::tests::child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "nobody")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("DROP ok"), "{stdout}");
        let status: String = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("STATUS "))
            .map(|l| format!("{l}\n"))
            .collect();
        let s = ProcStatus::parse(&status);
        let (uid, gid) = (nobody.uid.as_raw(), nobody.gid.as_raw());
        assert_eq!(s.uids, [uid; 4], "{status}");
        assert_eq!(s.gids, [gid; 4], "{status}");
        assert!(s.groups.is_empty(), "{status}");
        assert_eq!(
            (s.cap_eff, s.cap_prm, s.cap_inh, s.cap_amb),
            (0, 0, 0, 0),
            "{status}"
        );
        assert!(s.no_new_privs, "{status}");
        // And what that means: root's files and privileged ports are out of reach.
        assert!(stdout.contains("SHADOW Err(PermissionDenied)"), "{stdout}");
        assert!(stdout.contains("BIND1 Err(PermissionDenied)"), "{stdout}");
    }
}
