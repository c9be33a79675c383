use std::os::unix::process::CommandExt;
use std::process::Command;

use super::*;
use crate::bridge::group;

fn paths(dir: &Path, name: &str) -> (ProfilePaths, TenantId) {
    let tenant = TenantId::parse(name).unwrap();
    let paths = ProfilePaths::new(&dir.join("tokens"), &dir.join("data"), &tenant);
    (paths, tenant)
}

/// Reaps a test's child as soon as it dies, as init reaps an orphaned browser.
fn reap_in_background(mut child: std::process::Child) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let _ = child.wait();
    })
}

fn hostname() -> String {
    nix::unistd::gethostname().unwrap().into_string().unwrap()
}

#[test]
fn a_leftover_group_of_a_killed_run_is_ended_at_the_next_claim() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, tenant) = paths(dir.path(), "loja");
    let child = Command::new("sleep")
        .arg("60")
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = child.id();
    let reaper = reap_in_background(child);
    {
        let guard = claim_profile(paths.clone(), &tenant).unwrap();
        guard.record_group(pgid, None).unwrap();
        // The guard goes without end_group: as if orbitbot had been killed.
    }
    assert!(group::alive(pgid));
    let _guard = claim_profile(paths.clone(), &tenant).unwrap();
    reaper.join().unwrap();
    assert!(!group::alive(pgid), "the leftover group was ended");
    assert!(!paths.pgid_file.exists());
}

#[test]
fn end_group_kills_every_member_and_forgets_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, tenant) = paths(dir.path(), "loja");
    let child = Command::new("sh")
        .args(["-c", "sleep 60 & sleep 60 & wait"])
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = child.id();
    let reaper = reap_in_background(child);
    let guard = claim_profile(paths, &tenant).unwrap();
    guard.record_group(pgid, None).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        group::members(pgid).len() >= 3,
        "{:?}",
        group::members(pgid)
    );
    guard.end_group();
    reaper.join().unwrap();
    assert!(
        group::members(pgid)
            .iter()
            .all(|&p| !group::process_alive(p))
    );
    assert!(!guard.paths().pgid_file.exists());
}

#[test]
fn a_record_from_another_boot_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, tenant) = paths(dir.path(), "loja");
    std::fs::create_dir_all(paths.pgid_file.parent().unwrap()).unwrap();
    let own_group = nix::unistd::getpgrp().as_raw();
    std::fs::write(&paths.pgid_file, format!("{own_group} another-boot\n")).unwrap();
    // Were the record trusted, this would kill the test runner's own group.
    claim_profile(paths.clone(), &tenant).unwrap();
    assert!(!paths.pgid_file.exists());
}

#[test]
fn one_session_per_profile() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, tenant) = paths(dir.path(), "loja");
    let _first = claim_profile(paths.clone(), &tenant).unwrap();
    let second = claim_profile(paths, &tenant).unwrap_err();
    assert_eq!(
        second.to_string(),
        "o perfil de loja já está aberto por outra sessão"
    );
}

#[test]
fn stale_chromium_locks_are_cleared_and_live_foreign_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, tenant) = paths(dir.path(), "loja");
    std::fs::create_dir_all(&paths.profile).unwrap();
    let lock = paths.profile.join("SingletonLock");

    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    std::os::unix::fs::symlink(format!("{}-{dead_pid}", hostname()), &lock).unwrap();
    std::fs::write(paths.profile.join("SingletonCookie"), "x").unwrap();
    drop(claim_profile(paths.clone(), &tenant).unwrap());
    assert!(
        std::fs::symlink_metadata(&lock).is_err(),
        "stale lock removed"
    );
    assert!(!paths.profile.join("SingletonCookie").exists());

    let live = format!("{}-{}", hostname(), std::process::id());
    std::os::unix::fs::symlink(&live, &lock).unwrap();
    let err = claim_profile(paths.clone(), &tenant).unwrap_err();
    assert!(matches!(err, ProcessError::ForeignOwner { ref owner, .. } if *owner == live));
    assert!(
        std::fs::symlink_metadata(&lock).is_ok(),
        "a live owner's lock is kept"
    );
}

#[test]
fn a_logged_out_profile_moves_aside() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = paths(dir.path(), "loja");
    std::fs::create_dir_all(&paths.profile).unwrap();
    std::fs::write(paths.profile.join("Cookies"), "old login").unwrap();
    let aside = move_profile_aside(&paths, "20261204T150000Z").unwrap();
    assert_eq!(aside, paths.root.join("logged-out-20261204T150000Z"));
    assert_eq!(
        std::fs::read_to_string(aside.join("Cookies")).unwrap(),
        "old login"
    );
    assert!(paths.profile.is_dir());
    assert!(std::fs::read_dir(&paths.profile).unwrap().next().is_none());
}

#[test]
fn a_lock_from_another_host_is_reported_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, tenant) = paths(dir.path(), "loja");
    std::fs::create_dir_all(&paths.profile).unwrap();
    let lock = paths.profile.join("SingletonLock");
    std::os::unix::fs::symlink("otherhost-99999", &lock).unwrap();
    let err = claim_profile(paths, &tenant).unwrap_err();
    assert!(err.to_string().contains("otherhost-99999"), "{err}");
    assert!(std::fs::symlink_metadata(&lock).is_ok());
}
