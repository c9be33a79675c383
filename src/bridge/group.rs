//! Process groups: a browser is chromedriver plus every Chromium process it started, all
//! in one group, so the group is what gets checked and killed.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// How long a killed group may take to disappear.
const KILL_WAIT: Duration = Duration::from_secs(10);

fn to_pid(id: u32) -> Option<Pid> {
    i32::try_from(id).ok().filter(|&p| p > 1).map(Pid::from_raw)
}

/// Whether any process of the group exists (zombies included).
pub fn alive(pgid: u32) -> bool {
    to_pid(pgid).is_some_and(|p| killpg(p, None).is_ok())
}

/// Whether a process runs (a zombie counts as gone).
pub fn process_alive(pid: u32) -> bool {
    let Some(p) = to_pid(pid) else { return false };
    if kill(p, None).is_err_and(|e| e == Errno::ESRCH) {
        return false;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    !matches!(state, Some('Z') | None)
}

/// The processes of a group, read from `/proc`.
pub fn members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Fields after the command name: state, ppid, pgrp, ...
            let rest = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
            rest.split_whitespace().nth(2).and_then(|g| g.parse().ok()) == Some(pgid)
        })
        .collect()
}

/// Sends SIGKILL to the whole group and waits (blocking) until it is gone: no member
/// runs and, unless the deadline passes first, every zombie has been reaped.
pub fn kill_and_wait(pgid: u32) {
    let Some(p) = to_pid(pgid) else { return };
    let _ = killpg(p, Signal::SIGKILL);
    let deadline = Instant::now() + KILL_WAIT;
    while alive(pgid) {
        if Instant::now() > deadline {
            if members(pgid).into_iter().any(process_alive) {
                tracing::warn!(pgid, "process group still running after SIGKILL");
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
