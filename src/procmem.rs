//! The memory of a process group, for `!status <cliente>`.
//!
//! Memory is counted as PSS (proportional set size): each shared page is split among
//! the processes that map it, so the PSS of Chromium's many processes adds up to what
//! the browser really costs, where RSS would count shared pages again in every process.

use crate::bridge::group;

/// The units [`human`] writes, each 1024 times the one before.
const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];

/// The PSS of one process in bytes, from the `Pss:` line of `/proc/<pid>/smaps_rollup`;
/// `None` when the file cannot be read (the process is gone, is a zombie, or belongs to
/// a user this process may not inspect).
pub fn pss_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    parse_pss_kib(&text)?.checked_mul(1024)
}

/// The value of the `Pss:` line of a `smaps_rollup` text, in KiB.
fn parse_pss_kib(text: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix("Pss:")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The summed PSS in bytes of the processes of group `pgid` whose PSS can be read;
/// `None` when the group has no member or none of them can be read.
pub fn group_pss_bytes(pgid: u32) -> Option<u64> {
    // Kernel threads share group 0, which is no browser.
    if pgid == 0 {
        return None;
    }
    group::members(pgid)
        .into_iter()
        .filter_map(pss_bytes)
        .reduce(u64::saturating_add)
}

/// A size for people, in pt-BR style with one decimal: `"183,6 MiB"`, `"2,0 GiB"`;
/// sizes under 1 KiB are whole bytes (`"512 B"`).
pub fn human(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 1;
    let mut tenths = tenths_of(bytes, unit);
    // Move up while the rounded value would read 1024,0 or more.
    while tenths >= 10_240 && unit + 1 < UNITS.len() {
        unit += 1;
        tenths = tenths_of(bytes, unit);
    }
    format!("{},{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// `bytes` in tenths of `1024^unit`, rounded half up.
fn tenths_of(bytes: u64, unit: usize) -> u128 {
    let size = 1u128 << (10 * unit);
    (u128::from(bytes) * 10 + size / 2) / size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_a_pss() {
        let pss = pss_bytes(std::process::id()).unwrap();
        assert!(pss > 0);
    }

    #[test]
    fn own_process_group_has_a_pss() {
        let pgid = nix::unistd::getpgrp().as_raw();
        let total = group_pss_bytes(u32::try_from(pgid).unwrap()).unwrap();
        assert!(total >= pss_bytes(std::process::id()).unwrap() / 2);
    }

    #[test]
    fn missing_process_and_group_have_none() {
        assert_eq!(pss_bytes(u32::MAX), None);
        assert_eq!(group_pss_bytes(u32::MAX), None);
        assert_eq!(group_pss_bytes(0), None);
    }

    #[test]
    fn parses_the_pss_line_only() {
        let text = "00400000-7ffd0000 ---p 00000000 00:00 0  [rollup]\n\
                    Rss:              204800 kB\n\
                    Pss:              188006 kB\n\
                    Pss_Anon:         150000 kB\n";
        assert_eq!(parse_pss_kib(text), Some(188_006));
        assert_eq!(parse_pss_kib("Pss_Anon: 5 kB\n"), None);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1024), "1,0 KiB");
        assert_eq!(human(1536), "1,5 KiB");
        assert_eq!(human(188_006 * 1024), "183,6 MiB");
        assert_eq!(human(1024 * 1024 - 1), "1,0 MiB");
        assert_eq!(human(2 * 1024 * 1024 * 1024), "2,0 GiB");
        assert_eq!(human(5 << 40), "5120,0 GiB");
    }
}
