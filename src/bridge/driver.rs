//! The chromedriver process: started on a free loopback port in its own process
//! group, so that killing the group also ends every Chromium it started.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::BridgeError;

/// How long to wait for the process group to be empty after SIGKILL.
const GROUP_EXIT_WAIT: Duration = Duration::from_secs(5);

/// A running chromedriver; dropping it kills its whole process group and waits.
#[derive(Debug)]
pub struct Driver {
    child: Option<Child>,
    port: u16,
    pgid: i32,
}

impl Driver {
    /// Starts `chromedriver` on a free port of 127.0.0.1 in a new process group.
    pub fn spawn(path: &Path) -> Result<Self, BridgeError> {
        use std::os::unix::process::CommandExt;

        let port = free_port()?;
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|source| BridgeError::Spawn {
                path: path.to_owned(),
                source,
            })?;
        let pgid = i32::try_from(child.id()).unwrap_or(i32::MAX);
        tracing::debug!(port, pgid, "chromedriver started");
        Ok(Self {
            child: Some(child),
            port,
            pgid,
        })
    }

    /// The WebDriver URL of this chromedriver.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process group holding chromedriver and every browser it started.
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Whether chromedriver is still running (it has not exited or been killed).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills the whole process group with SIGKILL and waits until it is empty.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = Pid::from_raw(self.pgid);
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait();
        wait_group_gone(group);
        tracing::debug!(pgid = self.pgid, "chromedriver group killed");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reserves a free loopback port by binding port 0 and releasing it.
fn free_port() -> Result<u16, BridgeError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(BridgeError::Port)?;
    let port = listener.local_addr().map_err(BridgeError::Port)?.port();
    Ok(port)
}

/// Waits until no process is left in `group` (they are reaped by their new parent).
fn wait_group_gone(group: Pid) {
    let start = Instant::now();
    while start.elapsed() < GROUP_EXIT_WAIT {
        match killpg(group, None) {
            Err(Errno::ESRCH) => return,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    tracing::warn!(
        pgid = group.as_raw(),
        "process group still present after SIGKILL"
    );
}
